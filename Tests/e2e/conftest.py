"""End-to-end fixtures: real nginx + amarre-api + amarre-host, one stack per configuration.

`shared_stack` (one per run) serves every test that needs no special configuration;
`stack_factory(env=..., instances=...)` starts a private stack for the others. Nothing
here sleeps to wait for an event: readiness and process death are polled with a deadline.

Binaries come from $AMARRE_BIN_DIR (default .build/debug); nginx from PATH.
"""
from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from wsraw import RawWebSocket

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
sys.path.insert(0, str(REPO / "scripts" / "lib"))
import amarrestack  # noqa: E402  (the one stack launcher)

AGENTS = E2E_DIR / "agents"
PY = sys.executable
BIN_DIR = Path(os.environ.get("AMARRE_BIN_DIR") or REPO / ".build" / "debug")
OUTPUT_DIR = REPO / "test-output" / "e2e"
# Every process a stack starts inherits this variable (agents get the server environment),
# so whatever outlives the stack can be found in /proc, grandchildren included.
MARKER_VAR = "AMARRE_E2E_STACK"

DEFAULT_TIMEOUT = 10.0


def agent(script: str, *args: str) -> list[str]:
    return [PY, str(AGENTS / script), *args]


def command_instance(id: str, argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": id, "agent": "command", "command": argv, **extra}


# -- polling -------------------------------------------------------------------------------

def wait_for(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "condition",
             interval: float = 0.02) -> Any:
    """Polls `predicate` until it returns a truthy value; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {value!r})")
        time.sleep(interval)


# -- /proc ---------------------------------------------------------------------------------

def proc_state(pid: int) -> str | None:
    """'R', 'S', 'Z', ... or None when the pid no longer exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(b")") + 2:].split()[0].decode()


def proc_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(data[data.rindex(b")") + 2:].split()[1])


def is_alive(pid: int) -> bool:
    """Exists and is not a zombie (a zombie has run its course; reaping is its parent's job)."""
    state = proc_state(pid)
    return state is not None and state != "Z"


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(pid: int) -> list[int]:
    return [p for p in all_pids() if proc_ppid(p) == pid]


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def pids_with_env(name: str, value: str) -> list[int]:
    needle = f"{name}={value}".encode() + b"\0"
    found = []
    for pid in all_pids():
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- REST ----------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.text[:300]!r}>"


def http_request(port: int, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        hdrs = dict(headers or {})
        if data is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        if data is None and method in ("POST", "PUT"):
            hdrs.setdefault("Content-Length", "0")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", errors="replace")
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text)
    finally:
        conn.close()


# -- WebSocket (library client) ------------------------------------------------------------

def fields(rec: dict, *keys: str) -> dict:
    """The named fields of a record that has them: server records may carry more (`detail`, `_seq`)."""
    return {k: rec[k] for k in keys if k in rec}


def strip_reserved(rec: Any) -> Any:
    """Drops the top-level `_` fields the server may add to agent records (e.g. `_seq`)."""
    if isinstance(rec, dict) and not str(rec.get("type", "")).startswith("amarre."):
        return {k: v for k, v in rec.items() if not k.startswith("_")}
    return rec


class WSClient:
    """A well-behaved client (the `websockets` library) with record-level helpers.

    `recv_record()` returns the next agent record, skipping server `amarre.*` records
    (kept in `.amarre`) unless one of that type is asked for. Records come without the
    top-level `_` fields the server reserves for itself; `.last_text` is the frame as sent.
    """

    def __init__(self, url: str, origin: str | None = None, **kw: Any):
        kw.setdefault("compression", None)
        self.ws = ws_connect(url, origin=origin, max_size=None, open_timeout=DEFAULT_TIMEOUT,
                             close_timeout=2, legacy=True, **kw)
        self.amarre: list[dict] = []
        self.last_text: str | None = None

    def send(self, record: Any) -> None:
        self.ws.send(record if isinstance(record, (str, bytes)) else json.dumps(record))

    def _next(self, deadline: float) -> tuple[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no record before the deadline")
        msg = self.ws.recv(timeout=remaining)
        assert isinstance(msg, str), f"server sent a binary frame: {msg[:100]!r}"
        return msg, strip_reserved(json.loads(msg))

    def recv_record(self, type: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        if type is not None and type.startswith("amarre."):
            # One that arrived while we were reading agent records counts.
            for i, rec in enumerate(self.amarre):
                if rec.get("type") == type:
                    return self.amarre.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            text, rec = self._next(deadline)
            t = rec.get("type") if isinstance(rec, dict) else None
            if type is not None and t == type:
                self.last_text = text
                return rec
            if isinstance(t, str) and t.startswith("amarre."):
                self.amarre.append(rec)
                continue
            if type is None:
                self.last_text = text
                return rec
            raise AssertionError(f"expected a {type!r} record, got {text[:300]}")

    def recv_until(self, type: str, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Every non-amarre record up to and including the first of `type`."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            _, rec = self._next(deadline)
            t = rec.get("type") if isinstance(rec, dict) else None
            if t == type:
                out.append(rec)
                return out
            if isinstance(t, str) and t.startswith("amarre."):
                self.amarre.append(rec)
                continue
            out.append(rec)

    def expect_close(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int | None, list[Any]]:
        """Reads until the server closes; returns (close code or None, records seen, amarre.* included)."""
        deadline = time.monotonic() + timeout
        seen = []
        try:
            while True:
                _, rec = self._next(deadline)
                seen.append(rec)
        except ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd else None), seen

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def agent_pid(client) -> dict:
    """Asks an agent built on agentlib for its pid (the nonce skips anything a reconnect replays)."""
    nonce = uuid.uuid4().hex
    client.send({"type": "e2e.pid", "nonce": nonce})
    while True:
        rec = client.recv_until("e2e.pid")[-1]
        if rec.get("nonce") == nonce:
            return rec


# -- the stack -----------------------------------------------------------------------------

_ALL_STACKS: list["Stack"] = []
# Component output files, by launcher key (tests read host.log, api.log and nginx.log).
LOG_NAMES = {"host": "host.log", "api": "api.log", "nginx": "nginx.log"}


class Stack:
    """nginx + amarre-api + amarre-host in a private state dir, on a free loopback port.

    Started, restarted and stopped by the one stack launcher (scripts/lib/amarrestack.py, which
    scripts/run and the benchmarks use too); this class adds what the tests need around it: the
    open configuration, the marker of every process a stack starts, leftovers and clients."""

    def __init__(self, env: dict[str, str] | None = None, instances: list[dict] | None = None,
                 label: str = "stack"):
        self.label = label
        self.env_overrides = dict(env or {})
        self.instances = instances
        self.dir: Path | None = None
        self.port = 0
        self.stopped = False
        self.watched: set[int] = set()
        self.launcher: amarrestack.Launcher | None = None
        _ALL_STACKS.append(self)

    # lifecycle

    @property
    def env(self) -> dict[str, str]:
        env = amarrestack.component_env(os.environ, inherit_amarre=False, state_dir=self.dir, port=self.port,
                                        host="127.0.0.1", bin_dir=BIN_DIR)
        env.update({
            "AMARRE_KILL_GRACE_MS": str(SHARED_GRACE_MS),
            "PYTHONDONTWRITEBYTECODE": "1",
            # The suite predating access control runs open (AMARRE_AUTH=none must keep it
            # passing unchanged); test_auth.py and the pairing browser test run with tokens.
            "AMARRE_AUTH": "none",
            MARKER_VAR: str(self.dir),
        })
        if self.instances is not None:
            env["AMARRE_INSTANCES_JSON"] = json.dumps(self.instances)
        for k, v in self.env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    @property
    def log_dir(self) -> Path:
        assert self.dir is not None
        return self.dir / "log"

    @property
    def procs(self) -> dict[str, subprocess.Popen]:
        """The latest process of each component ("host", "api", "nginx")."""
        return self.launcher.procs if self.launcher is not None else {}

    def _launcher(self, env: dict[str, str] | None = None) -> amarrestack.Launcher:
        """The launcher of this state dir and port, made at the first use (subclasses that lay
        out the directory themselves get it here too); `env` replaces what the components get."""
        assert self.dir is not None
        if self.launcher is None or self.launcher.state_dir != self.dir or self.launcher.port != self.port:
            self.launcher = amarrestack.Launcher(self.dir, bin_dir=BIN_DIR, port=self.port, host="127.0.0.1",
                                                 www=REPO / "www", env=self.env if env is None else env,
                                                 log_names=LOG_NAMES)
        elif env is not None:
            self.launcher.env = env
        return self.launcher

    def start(self) -> "Stack":
        for name in ("amarre-host", "amarre-api"):
            if not (BIN_DIR / name).exists():
                pytest.fail(f"{BIN_DIR / name} does not exist: build first or set AMARRE_BIN_DIR")
        self.dir = Path(tempfile.mkdtemp(prefix="amarre-", dir="/tmp"))
        os.chmod(self.dir, 0o755)  # nginx workers may run as another user
        self.log_dir.mkdir()
        self.port = free_port()
        env = self.env
        try:
            self._launcher(env).render(transcript=self.log_dir / "render-nginx.log", timeout=30)
        except amarrestack.RenderError as e:
            raise RuntimeError(str(e)) from None
        self._start_processes(env)
        return self

    def _start_processes(self, env: dict[str, str]) -> None:
        launcher = self._launcher(env)
        for key in amarrestack.COMPONENTS:
            self._spawn(key, launcher.argv(key), env)
        self._wait_ready(f"{self.label}: GET /healthz == 200")

    def _wait_ready(self, what: str) -> None:
        try:
            wait_for(self._ready, timeout=30, what=what)
        except AssertionError as e:
            raise RuntimeError(f"{e}\n{self.log_tail()}") from None

    def restart(self) -> None:
        """Stops every process and starts them again on the same state directory and port."""
        problems = self.stop()
        assert not problems, problems
        self.stopped = False
        self._start_processes(self.env)

    def restart_host(self) -> None:
        """Starts amarre-host again (after `kill_host`) on the same state directory."""
        self._spawn("host", None, self.env)
        wait_for(self._ready, timeout=30, what=f"{self.label}: host back, GET /healthz == 200")

    def _spawn(self, name: str, argv: list[str] | None, env: dict[str, str]) -> None:
        self._launcher(env).spawn(name, argv, env)

    def _ready(self) -> bool:
        try:
            return self._launcher().ready()
        except amarrestack.ComponentExited as e:
            raise RuntimeError(f"{self.label}: {e}\n{self.log_tail()}") from None

    def stop(self) -> list[str]:
        """Stops everything; returns a description of processes that outlived it (killed now)."""
        if self.stopped or self.dir is None:
            return []
        self.stopped = True
        if self.launcher is None:
            return []
        if self.launcher.alive("host"):
            self.watched.update(descendants(self.host_pid))
        problems = [f"{name} (pid {pid}) ignored {amarrestack.signal_name(sig)} for 15 s: killed"
                    for name, pid, sig in self.launcher.stop(grace=15)]
        try:
            wait_for(lambda: not self.leftovers(), timeout=5, what="agents to exit")
        except AssertionError:
            for pid in self.leftovers():
                problems.append(f"pid {pid} ({cmdline(pid)}) outlived the stack: killed")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return problems

    def leftovers(self) -> list[int]:
        found = set(pids_with_env(MARKER_VAR, str(self.dir)))
        found.update(p for p in self.watched if is_alive(p))
        return sorted(p for p in found if is_alive(p))

    def remove(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _ALL_STACKS:
            _ALL_STACKS.remove(self)

    def save_logs(self, dest: Path) -> None:
        if self.dir is None or not self.dir.exists():
            return
        amarrestack.collect_logs(self.log_dir, dest, [self.dir / "nginx" / "nginx.conf"])

    def log_tail(self, n: int = 40) -> str:
        return amarrestack.log_tail(self.log_dir, n)

    def host_log(self) -> str:
        return (self.log_dir / LOG_NAMES["host"]).read_text(errors="replace")

    # processes

    @property
    def host_pid(self) -> int:
        return self.procs["host"].pid

    def agent_pids(self) -> list[int]:
        """Every live process under the host (agents and their children)."""
        pids = descendants(self.host_pid)
        self.watched.update(pids)
        return pids

    def kill_host(self, sig: int = signal.SIGKILL) -> None:
        self.watched.update(descendants(self.host_pid))
        self._launcher().kill("host", sig, timeout=DEFAULT_TIMEOUT)

    # the owner's control socket and CLI

    @property
    def control_socket(self) -> Path:
        assert self.dir is not None
        return self.dir / "run" / "control.sock"

    def control(self, request: dict) -> dict:
        """One exchange on the host's control socket (what `scripts/amarre pair` and friends do)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(DEFAULT_TIMEOUT)
            s.connect(str(self.control_socket))
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                assert chunk, "control socket closed before the answer"
                data += chunk
        return json.loads(data)

    def cli(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Runs scripts/amarre against this stack."""
        full_env = {**self.env, **(env or {})}
        r = subprocess.run([str(REPO / "scripts" / "amarre"), "--state-dir", str(self.dir), "--url", self.origin, *args],
                           env=full_env, capture_output=True, text=True, timeout=30, input=input)
        if check:
            assert r.returncode == 0, f"amarre {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def make_token(self, name: str = "e2e") -> str:
        return self.cli("token", "create", "--name", name).stdout.strip()

    # REST

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        return http_request(self.port, method, path, body, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def create(self, instance: str | None = None, **fields: Any) -> dict:
        body = dict(fields)
        if instance is not None:
            body["instanceId"] = instance
        r = self.post("/sessions", body)
        assert r.status == 201, f"POST /sessions {body} -> {r}"
        return r.json

    def summary(self, sid: str) -> dict:
        r = self.get(f"/sessions/{sid}")
        assert r.status == 200, f"GET /sessions/{sid} -> {r}"
        return r.json

    def wait_status(self, sid: str, status: str, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return wait_for(lambda: (s := self.summary(sid))["status"] == status and s,
                        timeout, f"session {sid} to be {status}")

    def wait_clients(self, sid: str, n: int, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return wait_for(lambda: (s := self.summary(sid))["clients"] == n and s,
                        timeout, f"session {sid} to have {n} clients")

    # WebSocket

    def ws_url(self, sid: str) -> str:
        return f"ws://127.0.0.1:{self.port}/sessions/{sid}"

    def ws(self, sid: str, origin: str | None = None, **kw: Any) -> WSClient:
        return WSClient(self.ws_url(sid), origin=origin, **kw)

    def raw_ws(self, path: str, **kw: Any) -> RawWebSocket:
        return RawWebSocket.open("127.0.0.1", self.port, path, **kw)

    def raw_ws_status(self, path: str, headers: dict[str, str] | None = None) -> int:
        """The status of an upgrade of `path`; the connection is closed at once."""
        ws = self.raw_ws(path, headers=headers)
        ws.sock.close()
        return ws.handshake.status


@atexit.register
def _kill_everything() -> None:
    for stack in list(_ALL_STACKS):
        stack.stop()
        stack.remove()


# -- standard configuration ----------------------------------------------------------------

SHARED_INSTANCES = [
    command_instance("echo", agent("echo.py")),
    command_instance("cat", ["cat"]),
    command_instance("default", ["cat"]),
    command_instance("pieces", agent("pieces.py")),
    command_instance("utf8", agent("utf8split.py")),
    command_instance("exiter", agent("exiter.py")),
    command_instance("flooder", agent("flooder.py")),
    command_instance("term_ignorer", agent("term_ignorer.py")),
    command_instance("stderr", agent("stderr_writer.py")),
    command_instance("envcwd", agent("envcwd.py"),
                     env={"E2E_B": "instance", "E2E_C": "instance", "E2E_INSTANCE_ONLY": "instance"}),
    command_instance("missing_binary", ["/nonexistent/amarre-e2e-agent"]),
    {"id": "demo", "agent": "demo"},
]
ALLOWED_ORIGINS = ["https://phone.example", "http://tablet.example:8080"]
SHARED_GRACE_MS = 500
SHARED_ENV = {
    "AMARRE_MAX_SESSIONS": "1000",
    "AMARRE_KILL_GRACE_MS": str(SHARED_GRACE_MS),
    "AMARRE_ALLOWED_ORIGINS": ",".join(ALLOWED_ORIGINS),
    # Server layer of the environment-precedence test.
    "E2E_A": "server", "E2E_B": "server", "E2E_C": "server", "E2E_D": "server",
}


# -- fixtures ------------------------------------------------------------------------------

def pytest_sessionstart(session):
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _failed(node) -> bool:
    return any(getattr(node, f"rep_{w}", None) is not None and getattr(node, f"rep_{w}").failed
               for w in ("setup", "call"))


def _output_dir(node) -> Path:
    return OUTPUT_DIR / re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", node.name)[:150]


def _start_and_yield(stack: Stack):
    stack.start()
    yield stack
    problems = stack.stop()
    if problems:
        stack.save_logs(OUTPUT_DIR / f"_{stack.label}_teardown")
    stack.remove()
    assert not problems, f"{stack.label} teardown: " + "; ".join(problems)


def stack_fixture(env: dict[str, str] | None = None, instances: list[dict] | None = None,
                  scope: str = "module"):
    """A fixture that starts one private stack per module (or per `scope`)."""
    @pytest.fixture(scope=scope)
    def _stack(request):
        yield from _start_and_yield(Stack(env=env, instances=instances, label=request.node.name))
    return _stack


@pytest.fixture(scope="session")
def shared_stack():
    yield from _start_and_yield(Stack(env=SHARED_ENV, instances=SHARED_INSTANCES, label="shared"))


@pytest.fixture
def stack(shared_stack):
    return shared_stack


@pytest.fixture(autouse=True)
def _save_logs_on_failure(request):
    """Copies the logs of every stack a failed test used to test-output/e2e/<test>/."""
    yield
    if _failed(request.node):
        saved: set[int] = set()
        for name, value in request.node.funcargs.items():
            if isinstance(value, Stack) and not value.stopped and id(value) not in saved:
                saved.add(id(value))
                value.save_logs(_output_dir(request.node) / name)


@pytest.fixture
def stack_factory(request):
    """Starts private stacks: `stack_factory(env={...}, instances=[...])`."""
    made: list[Stack] = []

    def make(env: dict[str, str] | None = None, instances: list[dict] | None = None) -> Stack:
        s = Stack(env=env, instances=instances, label=f"{request.node.name}#{len(made)}")
        made.append(s)
        return s.start()

    yield make
    problems = []
    for i, s in enumerate(made):
        p = s.stop()
        problems += p
        if p or _failed(request.node):
            s.save_logs(_output_dir(request.node) / f"stack{i}")
        s.remove()
    assert not problems, "stack teardown: " + "; ".join(problems)


def session_maker(stack: Stack, default_instance: str | None):
    """Yields `create(instance, **fields)`, which creates sessions on `stack`; deletes them
    afterwards. For fixtures: `yield from session_maker(stack, "echo")`."""
    created: list[str] = []

    def create(instance: str | None = default_instance, **fields: Any) -> dict:
        summary = stack.create(instance, **fields)
        created.append(summary["id"])
        return summary

    yield create
    for sid in created:
        stack.delete(f"/sessions/{sid}")


@pytest.fixture
def sessions(stack):
    """Creates sessions on the shared stack and deletes them after the test."""
    yield from session_maker(stack, "echo")


@pytest.fixture
def clients():
    """Opens library WebSocket clients and closes them after the test."""
    opened: list[Any] = []

    def track(client):
        opened.append(client)
        return client

    yield track
    for c in opened:
        c.close() if hasattr(c, "ws") else c.close_socket()
