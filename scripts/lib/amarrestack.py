#!/usr/bin/env python3
"""The one stack launcher: amarre-host, amarre-api and nginx on one state directory.

scripts/run, the e2e suite (Tests/e2e/conftest.py) and the benchmarks (bench/bench.py) all start
amarre through this module (standard library only):

    stack = Launcher(state_dir, bin_dir=..., port=..., env=...)   # env: what the components get
    stack.render()            # scripts/render-nginx, the one renderer: DIR/nginx/nginx.conf
    stack.start()             # amarre-host, amarre-api, nginx; then waits until ready()
    stack.ready()             # control socket there and GET <base path>healthz == 200
    stack.kill("host", signal.SIGKILL); stack.restart("host")
    stack.stop()              # TERM host and api, QUIT nginx, KILL after the grace; all reaped

Each component runs in its own session (process group: the terminal's Ctrl-C reaches only its
parent, which stops things in order) and gets SIGTERM when the thread that started it dies
(setpriv --pdeathsig), so nothing outlives a launcher that is itself killed outright.

`amarrestack.py run ...` is scripts/run after its package check and build: it renders, starts,
waits for readiness, prints the URL and a pairing link, supervises (restart with backoff, 5 exits
of one component in 60 s stop everything, exit 1), rotates the logs and stops everything on
SIGINT/SIGTERM (exit 0). scripts/run --help documents it.
"""
from __future__ import annotations

import argparse
import ctypes
import fcntl
import http.client
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping

REPO = Path(__file__).resolve().parents[2]

# Components by key, in start order; the program each key runs and how it is asked to stop
# (nginx: SIGQUIT, a graceful stop bounded by the shipped worker_shutdown_timeout).
COMPONENTS = ("host", "api", "nginx")
PROGRAMS = {"host": "amarre-host", "api": "amarre-api", "nginx": "nginx"}
STOP_SIGNALS = {"host": signal.SIGTERM, "api": signal.SIGTERM, "nginx": signal.SIGQUIT}
# The output of each component goes to LOG_DIR/<name>; callers name them their own way.
LOG_NAMES = {"host": "amarre-host.log", "api": "amarre-api.log", "nginx": "nginx.log"}

SETPRIV = shutil.which("setpriv")
PR_SET_PDEATHSIG = 1


# --- configuration -------------------------------------------------------------------------


def normalise_base_path(path: str | None) -> str:
    """/, or /a/b/: one slash between segments and at both ends (as render-nginx writes it;
    render-nginx also checks the characters)."""
    return "/" + "".join(seg + "/" for seg in (path or "/").split("/") if seg)


def url_host(host: str) -> str:
    """The listen address as a URL's host: IPv6 bracketed, a wildcard as loopback."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return {"0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "[::]": "[::1]"}.get(host, host)


def component_env(base: Mapping[str, str] | None = None, *, state_dir: str | Path, port: int,
                  host: str = "127.0.0.1", base_path: str | None = None, bin_dir: str | Path | None = None,
                  inherit_amarre: bool = True) -> dict[str, str]:
    """The environment amarre-host, amarre-api, nginx and render-nginx get: `base` (default
    os.environ; without its AMARRE_* variables unless `inherit_amarre`), the state dir, port and
    listen address, the base path when given, and AMARRE_DEMO_AGENT_BIN (when unset) from
    `bin_dir`."""
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if inherit_amarre or not k.startswith("AMARRE_")}
    env.update({"AMARRE_STATE_DIR": str(state_dir), "AMARRE_PORT": str(port), "AMARRE_HOST": host})
    if base_path is not None:
        env["AMARRE_BASE_PATH"] = base_path
    if bin_dir is not None and not env.get("AMARRE_DEMO_AGENT_BIN"):
        env["AMARRE_DEMO_AGENT_BIN"] = str(Path(bin_dir) / "amarre-demo-agent")
    return env


# --- processes -----------------------------------------------------------------------------


def _die_with_parent() -> None:  # only where setpriv is missing
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(argv: list[str], *, env: Mapping[str, str] | None = None, output: int | str | Path | None = None,
          new_session: bool = True, die_with_parent: bool = True) -> subprocess.Popen:
    """Starts `argv` with stdin /dev/null and stdout + stderr to `output` (a log file, appended
    to, or an fd), in a session of its own; with `die_with_parent` it gets SIGTERM when the
    calling thread dies. The pid is the program's own (setpriv execs it)."""
    log = open(output, "ab") if isinstance(output, (str, Path)) else None
    try:
        cmd, preexec = list(argv), None
        if die_with_parent:
            if SETPRIV:
                cmd = [SETPRIV, "--pdeathsig", "TERM", "--", *cmd]
            else:
                preexec = _die_with_parent
        out = log if log is not None else (subprocess.DEVNULL if output is None else output)
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=None if env is None else dict(env), start_new_session=new_session,
                                preexec_fn=preexec, close_fds=True)
    finally:
        if log is not None:
            log.close()


Entry = tuple[str, subprocess.Popen, int]  # (name, process, the signal that asks it to stop)


# What is left in a stopped component's process group gets SIGTERM, then SIGKILL once this has
# passed (seconds), checked every GROUP_POLL_INTERVAL.
GROUP_TERM_GRACE = 0.2
GROUP_POLL_INTERVAL = 0.01


def stop_processes(entries: Iterable[Entry], grace: float, *,
                   on_overdue: Callable[[str, int, int], None] | None = None,
                   kill_groups: bool = False) -> list[tuple[str, int, int]]:
    """Sends each running process its stop signal, all at once; waits up to `grace` seconds in
    all; SIGKILLs the ones still running (after `on_overdue(name, pid, signal)`), and reaps every
    one. With `kill_groups`, whatever is left in each one's process group (it leads its own
    session) then gets SIGTERM and SIGKILL. Returns the overdue ones as (name, pid, signal)."""
    entries = list(entries)
    running = []
    for name, p, sig in entries:
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
            running.append((name, p, sig))
    deadline = time.monotonic() + grace
    overdue = []
    for name, p, sig in running:
        try:
            p.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            overdue.append((name, p.pid, int(sig)))
            if on_overdue is not None:
                on_overdue(name, p.pid, int(sig))
            p.kill()
            p.wait()
    if kill_groups:
        for _, p, _ in entries:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                # What is left of the group has GROUP_TERM_GRACE to go; it is polled, not slept on.
                deadline = time.monotonic() + GROUP_TERM_GRACE
                while time.monotonic() < deadline:
                    os.killpg(p.pid, 0)
                    time.sleep(GROUP_POLL_INTERVAL)
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # the group is gone (or was never ours)
    return overdue


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


# --- logs ----------------------------------------------------------------------------------


def log_tail(log_dir: Path, n: int = 40) -> str:
    """The last `n` lines of every *.log in `log_dir`, each under a `--- name ---` line."""
    out = []
    for f in sorted(Path(log_dir).glob("*.log")):
        lines = f.read_text(errors="replace").splitlines()[-n:]
        out.append(f"--- {f.name} ---\n" + "\n".join(lines))
    return "\n".join(out)


def collect_logs(log_dir: Path, dest: Path, extra: Iterable[Path] = ()) -> None:
    """Copies every file of `log_dir` (and the `extra` files that exist) to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in Path(log_dir).glob("*"):
        if f.is_file():
            shutil.copy2(f, dest / f.name)
    for f in extra:
        if f.exists():
            shutil.copy2(f, dest / f.name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LogPump:
    """Copies what a component writes (a pipe; `write_fd` is its end) to the log file `path`,
    moving it to `path`.1 before it would pass `limit` bytes (at a line end, unless one line is
    longer than that), and to `out` with `prefix` on every line. Whatever arrives is written at
    once (a partial line too). The write end stays open across restarts of the component;
    `close()` lets the pump drain and end."""

    READ_BYTES = 65536

    def __init__(self, path: Path, prefix: str, limit: int, out: int | None = 1):
        self.path, self.prefix, self.limit, self.out = str(path), prefix.encode(), limit, out
        self.read_fd, self.write_fd = os.pipe()
        self.thread = threading.Thread(target=self._run, name=f"pump {prefix}", daemon=True)
        self.thread.start()

    def _open_log(self) -> tuple[int, int]:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return fd, os.fstat(fd).st_size

    def _run(self) -> None:
        log, size, log_error, line_start = None, 0, None, True
        while True:
            chunk = os.read(self.read_fd, self.READ_BYTES)
            if not chunk:
                break
            lines = chunk.split(b"\n")
            pieces = [line + b"\n" for line in lines[:-1]]
            if lines[-1]:
                pieces.append(lines[-1])
            try:
                if log is None:
                    log, size = self._open_log()
                batch = bytearray()
                for piece in pieces:
                    if size > 0 and size + len(piece) > self.limit:
                        _write_all(log, batch)
                        batch.clear()
                        os.close(log)
                        log = None
                        os.replace(self.path, self.path + ".1")
                        log, size = self._open_log()
                    batch += piece
                    size += len(piece)
                _write_all(log, batch)
                log_error = None
            except OSError as e:
                if log is not None:
                    os.close(log)
                    log = None
                if log_error != e.errno:  # once per kind of failure, not once per line
                    log_error = e.errno
                    sys.stderr.write(f"run: cannot write {self.path}: {e.strerror}\n")
                    sys.stderr.flush()
            if self.out is not None:
                text = bytearray()
                for piece in pieces:
                    if line_start:
                        text += self.prefix
                    text += piece
                    line_start = piece.endswith(b"\n")
                try:
                    _write_all(self.out, text)
                except OSError:
                    self.out = None  # no terminal any more: keep the log going
        if log is not None:
            os.close(log)
        if self.out is not None and not line_start:
            try:
                _write_all(self.out, b"\n")
            except OSError:
                pass
        os.close(self.read_fd)

    def close(self) -> None:
        """Closes the launcher's write end: the pump ends once every component's copy is closed."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


# --- the launcher --------------------------------------------------------------------------


class RenderError(RuntimeError):
    def __init__(self, returncode: int, stdout: str, stderr: str):
        super().__init__(f"render-nginx failed ({returncode}): {stderr}")
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class ComponentExited(RuntimeError):
    def __init__(self, key: str, returncode: int):
        super().__init__(f"{key} exited with {returncode} during start-up")
        self.key, self.returncode = key, returncode


class Launcher:
    """nginx + amarre-api + amarre-host on one state directory and port.

    `env` is the caller's base environment (default os.environ; see `component_env`); `self.env`
    is what the components get, and a caller may replace it between starts. `log_dir` (default
    STATE/log) receives each component's output as `log_names[key]`; nginx's own logs stay in
    STATE/log. `on_spawn(launcher, key, process)` hears of every process started. `procs` maps
    each key to its latest process (exited ones stay until replaced)."""

    def __init__(self, state_dir: str | Path, *, bin_dir: str | Path, port: int = 8341, host: str = "127.0.0.1",
                 www: str | Path | None = None, base_path: str | None = None, env: Mapping[str, str] | None = None,
                 inherit_amarre: bool = True, log_dir: str | Path | None = None,
                 log_names: Mapping[str, str] | None = None, die_with_parent: bool = True,
                 on_spawn: Callable[["Launcher", str, subprocess.Popen], None] | None = None,
                 repo: Path = REPO):
        self.repo = Path(repo)
        self.state_dir = Path(state_dir)
        self.bin_dir = Path(bin_dir)
        self.port = int(port)
        self.host = host
        self.www = Path(www) if www is not None else self.repo / "www"
        self.env = component_env(env, state_dir=self.state_dir, port=self.port, host=host,
                                 base_path=None if base_path is None else normalise_base_path(base_path),
                                 bin_dir=self.bin_dir, inherit_amarre=inherit_amarre)
        # Given: passed to render-nginx; otherwise render-nginx reads AMARRE_BASE_PATH as we do.
        self.base_path_arg = base_path
        self.log_dir = Path(log_dir) if log_dir is not None else self.state_dir / "log"
        self.log_names = {**LOG_NAMES, **(log_names or {})}
        self.die_with_parent = die_with_parent
        self.on_spawn = on_spawn
        self.stop_signals = dict(STOP_SIGNALS)
        self.nginx_conf = self.state_dir / "nginx" / "nginx.conf"
        self.outputs: dict[str, int] = {}  # key -> fd, instead of the log file (scripts/run's pumps)
        self.procs: dict[str, subprocess.Popen] = {}

    # layout

    @property
    def base_path(self) -> str:
        return normalise_base_path(self.env.get("AMARRE_BASE_PATH") or "/")

    @property
    def url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}{self.base_path}"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def control_socket(self) -> Path:
        return self.run_dir / "control.sock"

    @property
    def nginx_error_log(self) -> Path:
        return self.state_dir / "log" / "nginx-error.log"

    def log_path(self, key: str) -> Path:
        return self.log_dir / self.log_names[key]

    def render(self, *extra_args: str, transcript: Path | None = None, timeout: float = 60) -> Path:
        """Runs scripts/render-nginx for this stack (it lays out STATE: nginx/, log/, run/ and the
        socket directory, and checks the result with nginx -t). Its output goes to `transcript`
        when given, else its stderr to ours. Returns nginx.conf; raises RenderError."""
        argv = [str(self.repo / "scripts" / "render-nginx"), "--state-dir", str(self.state_dir),
                "--port", str(self.port), "--host", self.host, "--www", str(self.www)]
        if self.base_path_arg is not None:
            argv += ["--base-path", self.base_path_arg]
        argv += list(extra_args)
        r = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE if transcript is not None else None, text=True, timeout=timeout)
        if transcript is not None:
            transcript.write_text(r.stdout + r.stderr)
        if r.returncode != 0:
            raise RenderError(r.returncode, r.stdout, r.stderr or "")
        self.nginx_conf = Path(r.stdout.strip().splitlines()[-1])
        return self.nginx_conf

    def check_nginx(self) -> None:
        """nginx -t -q of the configuration as it is now (after additions to conf.d/)."""
        subprocess.run(["nginx", "-t", "-q", *self.argv("nginx")[1:]], check=True)

    # processes

    def argv(self, key: str) -> list[str]:
        if key == "nginx":
            return ["nginx", "-p", f"{self.state_dir}/nginx/", "-c", str(self.nginx_conf),
                    "-e", str(self.nginx_error_log)]
        return [str(self.bin_dir / PROGRAMS[key])]

    def spawn(self, key: str, argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """Starts one component (its own argv or `argv`); does not wait for anything."""
        output = self.outputs.get(key, self.log_path(key))
        p = spawn(argv or self.argv(key), env=self.env if env is None else env, output=output,
                  die_with_parent=self.die_with_parent)
        self.procs[key] = p
        if self.on_spawn is not None:
            self.on_spawn(self, key, p)
        return p

    def start(self, keys: Iterable[str] = COMPONENTS, timeout: float = 30) -> "Launcher":
        for key in keys:
            self.spawn(key)
        self.wait_ready(timeout)
        return self

    def alive(self, key: str) -> bool:
        p = self.procs.get(key)
        return p is not None and p.poll() is None

    def healthz(self, timeout: float = 2) -> int:
        """The status of GET <base path>healthz through nginx."""
        conn = http.client.HTTPConnection(url_host(self.host).strip("[]"), self.port, timeout=timeout)
        try:
            conn.request("GET", self.base_path + "healthz")
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def ready(self) -> bool:
        """True once the control socket is there and GET /healthz answers 200; raises
        ComponentExited when a started component is gone."""
        for key, p in self.procs.items():
            if p.poll() is not None:
                raise ComponentExited(key, p.returncode)
        try:
            if not stat.S_ISSOCK(os.stat(self.control_socket).st_mode):
                return False
            return self.healthz() == 200
        except (OSError, http.client.HTTPException):
            return False

    def wait_ready(self, timeout: float = 30, interval: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"GET {self.url}healthz did not answer 200 within {timeout:g}s")
            time.sleep(interval)

    def kill(self, key: str, sig: int = signal.SIGKILL, timeout: float = 10) -> int:
        """Sends one component `sig` and reaps it; returns its exit status."""
        p = self.procs[key]
        p.send_signal(sig)
        return p.wait(timeout=timeout)

    def restart(self, key: str, grace: float = 15, timeout: float = 30) -> subprocess.Popen:
        """Stops one component (as `stop` does), starts it again and waits until ready."""
        if key in self.procs:
            stop_processes([(key, self.procs[key], self.stop_signals[key])], grace)
        p = self.spawn(key)
        self.wait_ready(timeout)
        return p

    def stop(self, grace: float = 15, *, on_overdue: Callable[[str, int, int], None] | None = None,
             kill_groups: bool = False) -> list[tuple[str, int, int]]:
        """TERM to amarre-host (it stops its agents) and amarre-api, QUIT to nginx, all at once;
        KILL whatever still runs after `grace` s; reaps them all. Returns the overdue ones."""
        return stop_processes([(key, p, self.stop_signals[key]) for key, p in self.procs.items()], grace,
                              on_overdue=on_overdue, kill_groups=kill_groups)

    # logs

    def log_tail(self, n: int = 40) -> str:
        return log_tail(self.log_dir, n)

    def collect_logs(self, dest: Path) -> None:
        collect_logs(self.log_dir, dest, [self.state_dir / "log" / "nginx-error.log",
                                          self.state_dir / "log" / "nginx-access.log", self.nginx_conf])


# --- scripts/run ---------------------------------------------------------------------------


class Supervisor:
    """scripts/run in the foreground: one Launcher whose components write through LogPumps,
    restarted after a backoff when they die; 5 exits of one component within 60 s stop everything."""

    BURST = 5          # unexpected exits of one component ...
    WINDOW = 60        # ... within this many seconds make the supervisor give up
    NGINX_LOG_CHECK = 10

    def __init__(self, launcher: Launcher, *, ready_timeout: int, log_max: int, auth: str):
        self.stack = launcher
        self.ready_timeout = ready_timeout
        self.log_max = log_max
        self.auth = auth
        try:
            grace_ms = int(launcher.env.get("AMARRE_KILL_GRACE_MS") or 5000)
        except ValueError:
            grace_ms = 5000
        self.stop_deadline = (grace_ms + 999) // 1000 + 10
        self.run_log = launcher.log_dir / "run.log"
        self.pumps: dict[str, LogPump] = {}
        self.stopping = 0  # the signal that asked us to stop
        self.stopped = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def log(self, message: str) -> None:
        line = (f"{time.strftime('%Y-%m-%d %H:%M:%S')} run: {message}\n").encode()
        try:
            _write_all(1, line)
        except OSError:
            pass
        with open(self.run_log, "ab") as f:
            f.write(line)

    def name(self, key: str) -> str:
        return PROGRAMS[key]

    # signals: a handler notes the stop; SIGCHLD and the others wake `pause`

    def _on_stop(self, signum, frame) -> None:
        self.stopping = self.stopping or signum

    def install_signals(self) -> None:
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def pause(self, seconds: float) -> None:
        """Sleeps up to `seconds`, less if a signal (a child's exit included) arrives."""
        if self.stopping:
            return
        if seconds > 0:
            select.select([self.wake_r], [], [], seconds)
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def start_component(self, key: str) -> None:
        p = self.stack.spawn(key)
        self.log(f"started {self.name(key)} (pid {p.pid})")

    def run(self) -> int:
        stack = self.stack
        self.install_signals()
        with open(self.run_log, "ab"):
            pass
        self.log(f"state dir {stack.state_dir}, binaries {stack.bin_dir}")
        try:
            for key in COMPONENTS:
                self.pumps[key] = LogPump(stack.log_path(key), f"{self.name(key)} | ", self.log_max)
                stack.outputs[key] = self.pumps[key].write_fd
                self.start_component(key)
            status = self.wait_ready()
            if status is not None:
                return status
            self.log(f"ready: {stack.url}")
            _write_all(1, f"{stack.url}\n".encode())
            if self.auth == "token":
                self.offer_pairing()
            status = self.supervise()
            if status is not None:
                return status
            self.log("stopping")
            self.stop_all()
            self.log("stopped")
            return 0 if self.stopping in (signal.SIGINT, signal.SIGTERM) else 128 + self.stopping
        finally:
            self.stop_all()

    def wait_ready(self) -> int | None:
        stack = self.stack
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                if stack.healthz() == 200:
                    return None
            except (OSError, http.client.HTTPException):
                pass
            if self.stopping:
                self.log("interrupted before ready")
                return 0
            for key in COMPONENTS:
                p = stack.procs[key]
                if p.poll() is not None:
                    self.log(f"{self.name(key)} {describe_exit(p.returncode)} during start-up; "
                             f"see {stack.log_path(key)}")
                    return 1
            if time.monotonic() >= deadline:
                self.log(f"GET {stack.url}healthz did not answer 200 within {self.ready_timeout}s")
                return 1
            self.pause(0.2)

    def offer_pairing(self) -> None:
        """The page is of no use until a browser is paired: offers the first one a link. The code
        goes to stdout only, never to run.log."""
        stack = self.stack
        amarre = [str(stack.repo / "scripts" / "amarre"), "--state-dir", str(stack.state_dir)]
        # The control socket comes with amarre-host; /healthz may answer a moment before.
        for _ in range(50):
            if stack.control_socket.is_socket():
                break
            time.sleep(0.1)
        devices = subprocess.run([*amarre, "devices"], env=stack.env, stdout=subprocess.PIPE, text=True)
        if devices.returncode != 0:
            self.log("could not list the paired devices; pair a browser with: scripts/amarre pair")
            return
        if devices.stdout.rstrip("\n") != "[]":
            return
        self.log("no browser is paired yet")
        if subprocess.run([*amarre, "--url", stack.url, "pair", "--name", "first browser"], env=stack.env).returncode:
            self.log("could not make a pairing code; try: scripts/amarre pair")

    def keep_nginx_logs(self) -> None:
        """nginx writes its access and error logs itself: one past the limit is moved to .1 and
        nginx told to reopen its files (SIGUSR1), as logrotate would."""
        for name in ("nginx-access.log", "nginx-error.log"):
            f = self.stack.state_dir / "log" / name
            try:
                if f.stat().st_size <= self.log_max:
                    continue
                os.replace(f, f.with_name(name + ".1"))
                pid = int((self.stack.state_dir / "nginx" / "nginx.pid").read_text().strip())
                os.kill(pid, signal.SIGUSR1)
            except (OSError, ValueError):
                continue

    def supervise(self) -> int | None:
        deaths: dict[str, list[float]] = {key: [] for key in COMPONENTS}
        restart_at: dict[str, float] = {}
        next_check = time.monotonic() + self.NGINX_LOG_CHECK
        while not self.stopping:
            for key in COMPONENTS:
                p = self.stack.procs[key]
                if key in restart_at or p.poll() is None:
                    continue
                now = time.monotonic()
                recent = [t for t in deaths[key] if now - t < self.WINDOW] + [now]
                deaths[key] = recent
                self.log(f"{self.name(key)} (pid {p.pid}) {describe_exit(p.returncode)} unexpectedly "
                         f"({len(recent)}/{self.BURST} in {self.WINDOW}s)")
                if len(recent) >= self.BURST:
                    self.log(f"{self.name(key)} keeps dying; giving up. See {self.stack.log_path(key)}")
                    return 1
                delay = 1 << (len(recent) - 1)
                self.log(f"restarting {self.name(key)} in {delay}s")
                restart_at[key] = now + delay
            now = time.monotonic()
            for key, at in list(restart_at.items()):
                if at <= now and not self.stopping:
                    del restart_at[key]
                    self.start_component(key)
            if now >= next_check:
                self.keep_nginx_logs()
                next_check = now + self.NGINX_LOG_CHECK
            self.pause(min([next_check, *restart_at.values()]) - time.monotonic())
        return None

    def stop_all(self) -> None:
        """Stops whatever still runs (see Launcher.stop), then lets the pumps drain: a leftover
        child of a component that still holds a pipe is given up on after 2 s."""
        if self.stopped:
            return
        self.stopped = True
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        self.stack.stop(self.stop_deadline, on_overdue=lambda key, pid, sig: self.log(
            f"{self.name(key)} (pid {pid}) still running after {self.stop_deadline}s; killing it"))
        self.stack.outputs.clear()
        deadline = time.monotonic() + 2
        for pump in self.pumps.values():
            pump.close()
        for pump in self.pumps.values():
            pump.thread.join(max(0.0, deadline - time.monotonic()))
        self.pumps.clear()


def main_run(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="amarrestack.py run", description="scripts/run after its package check and build")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--www", required=True)
    ap.add_argument("--base-path", required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--ready-timeout", type=int, default=60)
    ap.add_argument("--log-max", type=int, default=10485760)
    ap.add_argument("--auth", choices=("token", "none"), default="token")
    args = ap.parse_args(argv)

    state_dir = os.path.realpath(args.state_dir)
    stack = Launcher(state_dir, bin_dir=args.bin_dir, port=args.port, host=args.host, www=args.www,
                     base_path=normalise_base_path(args.base_path))
    try:
        stack.render()
    except RenderError as e:
        return e.returncode
    # One supervisor per state dir: the backends would unlink each other's sockets.
    lock = os.open(stack.run_dir / "run.lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write(f"run: another scripts/run is using {state_dir}\n")
        return 1
    return Supervisor(stack, ready_timeout=args.ready_timeout, log_max=args.log_max, auth=args.auth).run()


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        return main_run(argv[1:])
    sys.stderr.write("usage: amarrestack.py run --state-dir DIR --port P --host H --www DIR --base-path PATH "
                     "--bin-dir DIR [--ready-timeout S] [--log-max BYTES] [--auth token|none]\n"
                     "(a library: scripts/run, Tests/e2e/conftest.py and bench/bench.py import it)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
