"""Terminal sessions (issue 16): a program under a pseudo-terminal, shared by several viewers."""
import base64
import json
import re
import time

import pytest

from conftest import DEFAULT_TIMEOUT, WSClient, is_alive, session_maker, stack_fixture, wait_for

SHELL = ["bash", "--norc", "--noprofile", "-i"]
SCROLLBACK = 65536

term_stack = stack_fixture(
    env={"AMARRE_TERMINAL_SCROLLBACK_BYTES": str(SCROLLBACK), "PS1": "$ "},
    instances=[{"id": "sh", "agent": "terminal", "command": SHELL, "env": {"PS1": "$ "}}])


@pytest.fixture
def shells(term_stack):
    yield from session_maker(term_stack, "sh")


class Term:
    """A viewer of a terminal session: what it typed goes in as terminal.input; what the
    program wrote is collected from terminal.output."""

    def __init__(self, stack, sid: str, query: str = ""):
        self.client = WSClient(stack.ws_url(sid) + query)
        self.screen = b""
        self.hello = self.client.recv_record("amarre.hello")
        self.errors: list[dict] = []
        self.gaps: list[dict] = []
        self.sizes: list[dict] = []
        self.last_seq = 0

    def type(self, text: str) -> None:
        self.client.send({"type": "terminal.input", "data": base64.b64encode(text.encode()).decode()})

    def resize(self, cols: int, rows: int) -> None:
        self.client.send({"type": "terminal.resize", "cols": cols, "rows": rows})

    def _pump(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"terminal output so far: {self.screen[-400:]!r}")
        raw = json.loads(self.client.ws.recv(timeout=remaining))
        self.last_seq = max(self.last_seq, raw.get("_seq", 0))
        if raw.get("type") == "terminal.output":
            self.screen += base64.b64decode(raw["data"])
        elif raw.get("type") == "terminal.size":
            self.sizes.append(raw)
        elif raw.get("type") == "amarre.error":
            self.errors.append(raw)
        elif raw.get("type") == "amarre.replay_gap":
            self.gaps.append(raw)

    def wait_for(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.screen:
            self._pump(deadline)

    def wait_error(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while not any(e.get("error") == code for e in self.errors):
            self._pump(deadline)
        return next(e for e in self.errors if e.get("error") == code)

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def viewers():
    opened: list[Term] = []

    def open_(stack, sid, query=""):
        t = Term(stack, sid, query)
        opened.append(t)
        return t

    yield open_
    for t in opened:
        t.close()


def test_a_terminal_session_answers_typed_input(term_stack, shells, viewers):
    s = shells()
    assert s["agent"] == "terminal"
    t = viewers(term_stack, s["id"])
    assert t.hello["agent"] == "terminal"
    assert "terminal" in t.hello["capabilities"]
    assert t.hello["terminal"] == {"cols": 80, "rows": 24, "readonly": False}
    t.type("echo hello-$((6*7))\r")
    t.wait_for("hello-42")
    assert term_stack.summary(s["id"])["status"] == "running"


def test_the_program_sees_the_size_of_the_client_that_typed_last(term_stack, shells, viewers):
    s = shells()
    a = viewers(term_stack, s["id"])
    b = viewers(term_stack, s["id"])
    a.resize(100, 30)
    a.type("echo sz=$(stty size)=1\r")
    a.wait_for("sz=30 100=1")
    # b asks for its size: a typed last, so nothing changes until b types.
    b.resize(132, 43)
    a.type("echo sz=$(stty size)=2\r")
    a.wait_for("sz=30 100=2")
    b.type("echo sz=$(stty size)=3\r")
    b.wait_for("sz=43 132=3")
    # Every viewer is told the program's size.
    a.wait_for("sz=43 132=3")
    assert [{"cols": r["cols"], "rows": r["rows"]} for r in a.sizes][-1] == {"cols": 132, "rows": 43}


def test_every_viewer_sees_the_same_output(term_stack, shells, viewers):
    s = shells()
    a = viewers(term_stack, s["id"])
    b = viewers(term_stack, s["id"])
    a.type("echo shared-$((3*3))\r")
    a.wait_for("shared-9")
    b.wait_for("shared-9")


def test_a_read_only_viewer_cannot_type(term_stack, shells, viewers):
    s = shells()
    rw = viewers(term_stack, s["id"])
    ro = viewers(term_stack, s["id"], "?readonly=1")
    assert ro.hello["terminal"]["readonly"] is True
    ro.type("echo sneaky-$((5+5))\r")
    assert ro.wait_error("read_only")
    ro.resize(40, 10)
    rw.type("echo fine-$((4+4)) sz=$(stty size)=\r")
    rw.wait_for("fine-8 sz=24 80=")
    ro.wait_for("fine-8")
    assert b"sneaky-10" not in rw.screen and b"sneaky-10" not in ro.screen


def test_a_new_viewer_gets_the_scrollback_and_a_reconnect_with_since_continues(term_stack, shells, viewers):
    s = shells()
    a = viewers(term_stack, s["id"])
    a.type("echo before-$((7*7))\r")
    a.wait_for("before-49")
    seen = a.last_seq
    a.close()
    fresh = viewers(term_stack, s["id"])
    fresh.wait_for("before-49")  # redrawn from the kept scrollback
    fresh.type("echo after-$((8*8))\r")
    fresh.wait_for("after-64")
    back = viewers(term_stack, s["id"], f"?since={seen}")
    back.wait_for("after-64")
    assert b"before-49" not in back.screen


def test_the_scrollback_is_bounded(term_stack, shells, viewers):
    s = shells()
    a = viewers(term_stack, s["id"])
    a.type("echo first-$((9*9)); head -c 300000 /dev/zero | tr '\\0' x; echo; echo last-$((9+9))\r")
    a.wait_for("last-18", timeout=30)
    fresh = viewers(term_stack, s["id"])
    fresh.wait_for("last-18")
    # Only about the last AMARRE_TERMINAL_SCROLLBACK_BYTES came back, not the first line.
    assert b"first-81" not in fresh.screen
    assert len(fresh.screen) <= SCROLLBACK + 70000


def test_bad_frames_get_clear_errors(term_stack, shells, viewers):
    s = shells()
    t = viewers(term_stack, s["id"])
    t.client.send({"type": "terminal.input", "data": "not base64!"})
    t.wait_error("invalid_input")
    t.client.send({"type": "terminal.resize", "cols": 0, "rows": 5})
    t.wait_error("invalid_size")
    t.client.send({"type": "terminal.input", "data": base64.b64encode(b"x" * (64 * 1024 + 1)).decode()})
    assert t.wait_error("input_too_large")["limit"] == 65536
    t.client.send({"type": "prompt", "message": "hi"})
    t.wait_error("unsupported")
    r = term_stack.post(f"/sessions/{s['id']}/prompt", {"message": "hi"})
    assert r.status == 400, r


def test_deleting_a_terminal_session_leaves_no_process(term_stack, shells, viewers):
    s = shells()
    t = viewers(term_stack, s["id"])
    # A background job (its own process group under job control) and one that ignores SIGTERM.
    t.type("sleep 1000 & echo bg=$!; (trap '' TERM HUP; exec sleep 999) & echo stubborn=$! ready-$((2+3))\r")
    t.wait_for("ready-5")
    text = t.screen.decode(errors="replace")
    pids = [int(re.search(rf"{k}=(\d+)", text).group(1)) for k in ("bg", "stubborn")]
    assert all(is_alive(p) for p in pids)
    assert term_stack.delete(f"/sessions/{s['id']}").status == 204
    wait_for(lambda: not any(is_alive(p) for p in pids), timeout=15, what="the terminal's processes gone")


def test_exiting_the_program_reports_the_end_to_viewers(term_stack, shells, viewers):
    s = shells()
    t = viewers(term_stack, s["id"])
    t.type("exit 3\r")
    code, seen = t.client.expect_close()
    assert code == 1011
    assert any(r.get("type") == "amarre.session_event" and r.get("event") == "crashed" for r in seen)
    assert term_stack.wait_status(s["id"], "crashed")["exitCode"] == 3


def test_a_program_started_again_gets_the_size_its_viewers_set(term_stack, shells, viewers):
    s = shells()
    t = viewers(term_stack, s["id"])
    t.resize(101, 31)
    t.type("exit 4\r")
    t.client.expect_close()
    term_stack.wait_status(s["id"], "crashed")
    assert term_stack.post(f"/sessions/{s['id']}/restart").status == 200
    again = viewers(term_stack, s["id"])
    assert again.hello["terminal"]["cols"] == 101 and again.hello["terminal"]["rows"] == 31
    again.type("echo sz=$(stty size)=\r")
    again.wait_for("sz=31 101=")


volatile_stack = stack_fixture(
    env={"AMARRE_DURABLE": "0", "PS1": "$ "},
    instances=[{"id": "sh", "agent": "terminal", "command": SHELL, "env": {"PS1": "$ "}}])


def test_without_the_store_a_new_viewer_starts_live_with_no_gap(volatile_stack, viewers):
    sid = volatile_stack.create("sh")["id"]
    try:
        a = viewers(volatile_stack, sid)
        a.type("echo one-$((1+1))\r")
        a.wait_for("one-2")
        b = viewers(volatile_stack, sid)
        b.type("echo two-$((2+2))\r")
        b.wait_for("two-4")
        assert b"one-2" not in b.screen
        assert b.gaps == []
    finally:
        volatile_stack.delete(f"/sessions/{sid}")
