"""Fixtures and helpers for running Anthropic's real `claude` CLI behind amarre.

The CLI is the one PyPI's claude-agent-sdk bundles (`claude_agent_sdk/_bundled/claude`); it
talks to `fakeanthropic.FakeAnthropic` (one per test, loopback) instead of Anthropic's API.
Without claude-agent-sdk the importing module fails to import: a failure, never a skip.

- `claude_stack` (module): a stack whose instances run the bundled CLI as `claude-code`:
  `claude` (the default: no bypass) and `claude-bypass` (`"allowBypass": true`). The instance
  env makes the CLI non-interactive and quiet (API key, no autoupdater, no telemetry, no
  nonessential traffic, its own HOME and TMPDIR) and points it at a closed port, so a
  session that forgot its fake can never reach the internet.
- `fake` (function): a started FakeAnthropic, stopped after the test.
- `claude` (function): `ClaudeSessions`: creates sessions whose env points at this test's
  fake (`ANTHROPIC_BASE_URL`) with a fresh HOME and cwd under the test's tmp dir, connects
  `RecordClient`s, and after the test deletes them and waits for their processes to exit.
"""
from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import DEFAULT_TIMEOUT, Stack, _start_and_yield, cmdline, is_alive, pids_with_env, wait_for
from fakeanthropic import FakeAnthropic

try:
    import claude_agent_sdk
except ImportError as missing:  # a failure, not a skip: PyPI is reachable here and scripts/test installs it
    raise ImportError(
        "claude-agent-sdk (PyPI) is not installed: it bundles the real claude CLI; "
        "scripts/test installs it (python3 -m pip install claude-agent-sdk)") from missing

CLAUDE_BIN = Path(claude_agent_sdk.__file__).resolve().parent / "_bundled" / "claude"

# Waits on the real CLI: it starts in well under a second, but two cores are shared with
# nginx, the host and the test; generous deadlines cost nothing when things work.
TIMEOUT = 20.0

# Where a session that was not given a fake would send its API calls: nothing listens there.
NOWHERE = "http://127.0.0.1:9"

QUIET_ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-fake-key-for-tests",
    "ANTHROPIC_BASE_URL": NOWHERE,
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_ENABLE_TELEMETRY": "0",
    "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
    "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL": "1",
}
# Variables of the test's own environment that must not reach the CLI (e.g. when the suite
# itself runs inside Claude Code, or with a real key around): removed from the server env.
SCRUBBED = ["ANTHROPIC_AUTH_TOKEN", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT",
            "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR", "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL",
            "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "OTEL_EXPORTER_OTLP_ENDPOINT"]


def claude_instances(base: Path) -> list[dict]:
    home = base / "home"
    tmp = base / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**QUIET_ENV, "HOME": str(home), "TMPDIR": str(tmp)}
    return [
        {"id": "claude", "agent": "claude-code", "command": [str(CLAUDE_BIN)], "env": env},
        # claude refuses to start with its bypass flags as root ("--dangerously-skip-permissions
        # cannot be used with root/sudo privileges") unless IS_SANDBOX=1: test machines run as root.
        {"id": "claude-bypass", "agent": "claude-code", "command": [str(CLAUDE_BIN)],
         "env": {**env, "IS_SANDBOX": "1"}, "allowBypass": True},
    ]


def stack_env() -> dict[str, Any]:
    return {"AMARRE_MAX_SESSIONS": "50", **{k: None for k in SCRUBBED}}


def make_stack(base: Path, label: str) -> Stack:
    """An unstarted stack with the claude instances (`Stack.start()` it)."""
    if not os.access(CLAUDE_BIN, os.X_OK):
        pytest.fail(f"claude-agent-sdk is installed but {CLAUDE_BIN} is not an executable")
    return Stack(env=stack_env(), instances=claude_instances(base), label=label)


@pytest.fixture(scope="module")
def claude_stack(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("realclaude")
    yield from _start_and_yield(make_stack(base, request.node.name))


@pytest.fixture
def fake():
    f = FakeAnthropic().start()
    yield f
    f.stop()


# -- a WebSocket client that keeps every frame -----------------------------------------------

class RecordClient:
    """Reads every record (amarre.* included, `_seq` kept) of one session."""

    def __init__(self, stack: Stack, sid: str, since: int | None = None):
        self.sid = sid
        self.inner = stack.ws(sid if since is None else f"{sid}?since={since}")
        self.records: list[dict] = []
        self.hello = self._recv(time.monotonic() + DEFAULT_TIMEOUT)
        assert self.hello["type"] == "amarre.hello", self.hello

    def _recv(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            text = self.inner.ws.recv(timeout=remaining)
        except TimeoutError:
            seen = [describe(r) for r in self.records[-20:]]
            raise AssertionError(f"no matching record before the deadline; last seen: {seen}") from None
        assert isinstance(text, str)
        record = json.loads(text)
        self.records.append(record)
        return record

    def until(self, match: str | Callable[[dict], Any], timeout: float = TIMEOUT) -> list[dict]:
        """Every record up to and including the first that matches (a type or a predicate)."""
        test = (lambda r: r.get("type") == match) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        out = []
        while True:
            record = self._recv(deadline)
            out.append(record)
            if test(record):
                return out

    def send(self, record: Any) -> None:
        self.inner.send(record)

    def prompt(self, text: str, *, id: str | None = None, type: str = "prompt", images: list | None = None) -> None:
        record: dict[str, Any] = {"type": type, "message": text}
        if id:
            record["id"] = id
        if images is not None:
            record["images"] = images
        self.send(record)

    def command(self, type: str, timeout: float = TIMEOUT, **fields: Any) -> tuple[list[dict], dict]:
        """Sends a command with a fresh id; returns the records up to its response, and the response."""
        rid = "t-" + uuid.uuid4().hex[:8]
        self.send({"type": type, "id": rid, **fields})
        seen = self.until(lambda r: r.get("type") == "response" and r.get("id") == rid, timeout)
        return seen, seen[-1]

    def state(self) -> dict:
        _, response = self.command("get_state")
        assert response["success"] is True, response
        return response["data"]

    def answer(self, request: dict, **answer: Any) -> None:
        self.send({"type": "extension_ui_response", "id": request["id"], **answer})

    def expect_close(self, timeout: float = TIMEOUT) -> int | None:
        from websockets.exceptions import ConnectionClosed
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._recv(deadline)
        except ConnectionClosed as e:
            return e.rcvd.code if e.rcvd else None

    def close(self) -> None:
        self.inner.close()


def describe(r: dict) -> str:
    t = r.get("type", "?")
    if t == "message_update":
        return "update:" + r.get("assistantMessageEvent", {}).get("type", "?")
    if t in ("message_start", "message_end"):
        return f"{t}:{r.get('message', {}).get('role')}"
    if t == "response":
        return f"response:{r.get('command')}:{r.get('success')}"
    if t == "extension_ui_request":
        return f"ui:{r.get('method')}"
    if t == "system":
        return f"system:{r.get('subtype')}"
    if t.startswith("amarre."):
        return f"{t}:{r.get('event') or r.get('error') or r.get('id') or ''}"
    return t


# -- record helpers --------------------------------------------------------------------------

def of(records: list[dict], type: str, **fields: Any) -> list[dict]:
    return [r for r in records if r.get("type") == type and all(r.get(k) == v for k, v in fields.items())]


def one(records: list[dict], type: str, **fields: Any) -> dict:
    found = of(records, type, **fields)
    assert len(found) == 1, f"expected one {type} {fields}, got {[describe(r) for r in found]}"
    return found[0]


def deltas(records: list[dict], kind: str) -> list[str]:
    return [r["assistantMessageEvent"]["delta"] for r in of(records, "message_update")
            if r["assistantMessageEvent"]["type"] == kind]


def assistant_messages(records: list[dict]) -> list[dict]:
    return [r["message"] for r in of(records, "message_end") if r["message"]["role"] == "assistant"]


def assistant_texts(records: list[dict]) -> list[str]:
    return ["".join(b.get("text", "") for b in m["content"] if b.get("type") == "text")
            for m in assistant_messages(records)]


def user_texts(records: list[dict]) -> list[str]:
    return ["".join(b.get("text", "") for b in r["message"]["content"] if b.get("type") == "text")
            for r in of(records, "message_end") if r["message"]["role"] == "user"]


def is_approval(r: dict) -> bool:
    return r.get("type") == "extension_ui_request" and r.get("method") == "confirm"


# -- sessions --------------------------------------------------------------------------------

class ClaudeSessions:
    """Sessions of the claude instances that talk to one FakeAnthropic."""

    def __init__(self, stack: Stack, fake: FakeAnthropic, tmp: Path):
        self.stack = stack
        self.fake = fake
        self.tmp = tmp
        self.created: list[str] = []
        self.clients: list[RecordClient] = []
        self.home = tmp / "home"
        self.home.mkdir(exist_ok=True)

    def create(self, instance: str = "claude", **fields: Any) -> str:
        cwd = self.tmp / f"work{len(self.created)}"
        cwd.mkdir()
        env = {"ANTHROPIC_BASE_URL": self.fake.url, "HOME": str(self.home)}
        sid = self.stack.create(instance, cwd=str(cwd), env=env, **fields)["id"]
        self.created.append(sid)
        return sid

    def connect(self, sid: str, since: int | None = None) -> RecordClient:
        client = RecordClient(self.stack, sid, since)
        self.clients.append(client)
        return client

    def cwd(self, index: int = 0) -> Path:
        return self.tmp / f"work{index}"

    def processes(self) -> list[int]:
        """Live processes started for this test's sessions (claude and what it runs)."""
        return [p for p in pids_with_env("ANTHROPIC_BASE_URL", self.fake.url) if is_alive(p)]

    def claude_pid(self, sid: str | None = None) -> int:
        """The pid of the claude process of a session (the one whose parent is the host)."""
        host = self.stack.host_pid

        def find() -> int | None:
            for pid in self.processes():
                try:
                    with open(f"/proc/{pid}/stat", "rb") as f:
                        data = f.read()
                    ppid = int(data[data.rindex(b")") + 2:].split()[1])
                except (OSError, ValueError):
                    continue
                if ppid != host:
                    continue
                if sid is None or os.readlink(f"/proc/{pid}/cwd") == str(self.cwd(self.created.index(sid))):
                    return pid
            return None
        return wait_for(find, what=f"the claude process of {sid}")

    def cleanup(self) -> None:
        for c in self.clients:
            c.close()
        for sid in self.created:
            self.stack.delete(f"/sessions/{sid}")
        try:
            wait_for(lambda: not self.processes(), timeout=15, what="the test's claude processes to exit")
        except AssertionError:
            left = [(p, cmdline(p)) for p in self.processes()]
            for pid, _ in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise AssertionError(f"processes outlived their sessions (killed): {left}")


@pytest.fixture
def claude(claude_stack, fake, tmp_path):
    s = ClaudeSessions(claude_stack, fake, tmp_path)
    yield s
    s.cleanup()
