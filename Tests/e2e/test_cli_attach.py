"""`scripts/amarre attach` (issue 16): a terminal session used from a local terminal.

The CLI runs on a real pseudo-terminal (os.openpty: the slave is its stdin, stdout and stderr;
the test types on the master and reads what the CLI shows there), against stacks whose instance
`sh` runs an interactive bash under the host's pseudo-terminal. The slave's termios tells whether
the CLI put the terminal in raw mode and restored it. Waits are on output, exit statuses and
REST state, with deadlines; nothing sleeps to wait for an event.

The `~.` escape is also tested as the pure state machine it is (DetachEscape, taken from the
script's embedded Python), without a stack."""
from __future__ import annotations

import ast
import base64
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import (DEFAULT_TIMEOUT, REPO, WSClient, command_instance, session_maker, stack_fixture,
                      wait_for)

AMARRE = REPO / "scripts" / "amarre"
SHELL = ["bash", "--norc", "--noprofile", "-i"]
INSTANCES = [
    {"id": "sh", "agent": "terminal", "command": SHELL, "env": {"PS1": "$ "}},
    command_instance("cat", ["cat"]),
]

attach_stack = stack_fixture(instances=INSTANCES)
token_stack = stack_fixture(env={"AMARRE_AUTH": "token"}, instances=INSTANCES)


# -- the escape, without a stack -------------------------------------------------------------

def _detach_escape_class():
    """DetachEscape from scripts/amarre's embedded client (compiled alone: the rest of that
    program runs at import)."""
    text = AMARRE.read_text()
    start = text.index("IFS= read -r -d '' follow_py <<'PY'")
    body = text[text.index("\n", start) + 1:text.index("\nPY\n", start)]
    node = next(n for n in ast.parse(body).body if isinstance(n, ast.ClassDef) and n.name == "DetachEscape")
    namespace: dict = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(AMARRE), "exec"), namespace)
    return namespace["DetachEscape"]


DetachEscape = _detach_escape_class()


def feed_all(*chunks: bytes) -> tuple[bytes, bool]:
    e = DetachEscape()
    sent = b""
    for chunk in chunks:
        out, detach = e.feed(chunk)
        sent += out
        if detach:
            return sent, True
    return sent + e.flush(), False


@pytest.mark.parametrize("typed, sent, detached", [
    ([b"~."], b"", True),                                # at the start of the input
    ([b"ls\r~."], b"ls\r", True),                        # after Enter (CR in raw mode)
    ([b"ls\n~."], b"ls\n", True),                        # after LF
    ([b"ls\r", b"~", b"."], b"ls\r", True),              # across reads
    ([b"ls\r~.rm -rf /\r"], b"ls\r", True),              # what follows the escape is dropped
    ([b"a~."], b"a~.", False),                           # not at the start of a line
    ([b"~~"], b"~", False),                              # ~~: one ~
    ([b"~~."], b"~.", False),                            # ... and the line has begun
    ([b"~", b"~x~y\r"], b"~x~y\r", False),
    ([b"~q"], b"~q", False),                             # ~ then anything else: both
    ([b"~\r~."], b"~\r", True),                          # ~ then Enter: both, and a new line
    ([b"~"], b"~", False),                               # held back, sent at the end of input
    ([b"x" * 70000 + b"\r~."], b"x" * 70000 + b"\r", True),
    (["é~\r~~ü".encode()], "é~\r~ü".encode(), False),    # bytes, UTF-8 untouched
])
def test_the_detach_escape(typed, sent, detached):
    assert feed_all(*typed) == (sent, detached)


def test_attach_answers_help_and_is_in_the_usage():
    r = subprocess.run([str(AMARRE), "attach", "--help"], capture_output=True, text=True, timeout=10)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("Usage: amarre attach [--readonly] [--no-tty] ID")
    assert "~." in r.stdout and "Exit status" in r.stdout
    r = subprocess.run([str(AMARRE), "--help"], capture_output=True, text=True, timeout=10)
    assert "\n  attach [--readonly] [--no-tty] ID\n" in r.stdout


@pytest.mark.parametrize("args, message", [
    ([], "missing session id"),
    (["--bogus", "x"], "unknown option: --bogus"),
    (["a", "b"], "too many arguments"),
    (["not/an/id"], "not a session id"),
    (["abc"], "attach needs a terminal"),              # stdin is not a terminal
])
def test_attach_usage_errors_exit_2(args, message):
    r = subprocess.run([str(AMARRE), "--url", "http://127.0.0.1:9", "attach", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, r
    assert message in r.stderr, r.stderr


# -- the CLI on a pseudo-terminal --------------------------------------------------------------

def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Attach:
    """`amarre attach ARGS` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, stack, *args: str, rows: int = 30, cols: int = 100, env: dict | None = None):
        self.master, self.slave = os.openpty()
        set_size(self.master, rows, cols)
        self.cooked = termios.tcgetattr(self.slave)
        self.p = subprocess.Popen([str(AMARRE), "--url", stack.origin, "attach", *args],
                                  stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                  env={**stack.env, **(env or {})}, start_new_session=True)
        self.screen = b""
        self.closed = False

    # what the CLI showed

    def _read(self, timeout: float) -> bool:
        if self.closed or not select.select([self.master], [], [], max(timeout, 0))[0]:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        self.screen += data
        return bool(data)

    def until(self, needle: bytes | str, timeout: float = DEFAULT_TIMEOUT, after: int = 0) -> int:
        """Reads until `needle` (or the regex bytes pattern) shows up after offset `after`;
        returns the offset just past it."""
        pattern = re.compile(re.escape(needle.encode() if isinstance(needle, str) else needle))
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.screen, after)
            if m:
                return m.end()
            left = deadline - time.monotonic()
            if left <= 0 or (self.p.poll() is not None and not self._read(0.2)):
                raise AssertionError(f"no {needle!r} on the terminal within {timeout}s (amarre: {self.p.poll()}); "
                                     f"it shows: {self.screen[-600:]!r}")
            self._read(min(left, 0.5))

    # the local terminal

    @property
    def raw(self) -> bool:
        lflag = termios.tcgetattr(self.slave)[3]
        return not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)

    @property
    def restored(self) -> bool:
        return termios.tcgetattr(self.slave) == self.cooked

    def attached(self) -> "Attach":
        """Waits for the banner (printed once the terminal is raw)."""
        self.until("at the start of a line detaches")
        assert self.raw
        return self

    def type(self, data: bytes | str) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def resize(self, rows: int, cols: int) -> None:
        """As a terminal emulator does: the new size on the master, SIGWINCH to the program."""
        set_size(self.master, rows, cols)
        self.p.send_signal(signal.SIGWINCH)

    def finish(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        code = self.p.wait(timeout=timeout)
        while self._read(0.05):
            pass
        return code

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=DEFAULT_TIMEOUT)
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self.slave)


@pytest.fixture
def attach():
    opened: list[Attach] = []

    def open_(stack, *args: str, **kw) -> Attach:
        a = Attach(stack, *args, **kw)
        opened.append(a)
        return a

    yield open_
    for a in opened:
        a.close()


@pytest.fixture
def shells(attach_stack):
    yield from session_maker(attach_stack, "sh")


def shell_command(a: Attach, command: str, result: str) -> int:
    """Types `command` and Enter; waits for `result` in the output (an arithmetic expansion in
    the command makes sure it is the program's output, not the echo of the typed line)."""
    at = len(a.screen)
    a.type(command + "\r")
    return a.until(result, after=at)


def stty_size(a: Attach) -> tuple[int, int]:
    at = len(a.screen)
    a.type("stty size; echo size-$((1+1))\r")
    end = a.until("size-2\r\n", after=at)
    rows, cols = re.findall(rb"(?:^|[\r\n])(\d+) (\d+)\r\n", a.screen[at:end])[-1]
    return int(rows), int(cols)


class Viewer:
    """A second client of the session on its own WebSocket."""

    def __init__(self, stack, sid: str):
        self.client = WSClient(stack.ws_url(sid))
        self.client.recv_record("amarre.hello")

    def type(self, text: str) -> None:
        self.client.send({"type": "terminal.input", "data": base64.b64encode(text.encode()).decode()})


def test_attach_types_shows_follows_the_size_detaches_and_the_session_stays(attach_stack, shells, attach):
    sid = shells()["id"]
    a = attach(attach_stack, sid[:8], rows=30, cols=100).attached()   # a prefix of the id
    shell_command(a, "echo attached-$((6*7))", "attached-42")
    # The local size at the start, then on SIGWINCH.
    assert stty_size(a) == (30, 100)
    a.resize(33, 111)
    assert wait_for(lambda: stty_size(a) == (33, 111), what="the program to see 33x111")

    # ~~ at the start of a line sends one ~, ~ and another key send both, ~ inside a line is a ~.
    shell_command(a, 'echo ready-$((1+1)); read -r v; echo "got[$v]"', "ready-2")
    shell_command(a, "~~x~y", "got[~x~y]")
    shell_command(a, 'echo ready-$((2+2)); read -r v; echo "got[$v]"', "ready-4")
    shell_command(a, "~q", "got[~q]")

    a.type("\r~.")
    assert a.finish() == 0, a.screen[-400:]
    assert b"[detached]" in a.screen[-200:]
    assert a.restored
    assert attach_stack.summary(sid)["status"] == "running"

    # Attaching again shows the scrollback, and the same shell goes on.
    b = attach(attach_stack, sid).attached()
    b.until("attached-42")
    shell_command(b, "echo again-$((6*7+1))", "again-43")
    b.type("~.")    # the first key is the start of a line too
    assert b.finish() == 0
    assert b.restored
    attach_stack.wait_clients(sid, 0)
    assert attach_stack.summary(sid)["status"] == "running"


def test_a_paste_larger_than_a_frame_arrives_whole(attach_stack, shells, attach):
    """What is typed goes in frames of at most 64 KiB (the host refuses more): 150 000 bytes
    pasted at once reach the program, all of them and nothing else."""
    sid = shells()["id"]
    a = attach(attach_stack, sid).attached()
    shell_command(a, "stty -icanon -echo; echo go-$((1+1)); head -c 150000 | wc -c; stty icanon echo", "go-2")
    paste = b"0123456789abcdef~." * (150000 // 18) + b"x" * (150000 % 18)
    view = memoryview(paste)
    while view:
        view = view[os.write(a.master, view):]
    a.until("150000\r\n")
    assert b"the server refused" not in a.screen
    a.type("\r~.")
    assert a.finish() == 0


def test_a_read_only_attach_sees_everything_and_types_nothing(attach_stack, shells, attach):
    sid = shells()["id"]
    viewer = Viewer(attach_stack, sid)
    try:
        ro = attach(attach_stack, "--readonly", sid).attached()
        assert b"read-only" in ro.screen
        viewer.type("echo live-$((7*7))\r")
        seen = ro.until("live-49")
        ro.type("echo ro-$((3*3))\r")
        ro.type("\r~.")   # after everything typed before it
        assert ro.finish() == 0
        assert ro.restored
        # Had the input been sent, its output would come before the sync line's.
        check = attach(attach_stack, sid).attached()
        shell_command(check, "echo sync-$((5*5))", "sync-25")
        assert b"ro-" not in check.screen
        assert b"ro-" not in ro.screen[seen:]   # not even the program's echo of it
        check.type("~.")
        assert check.finish() == 0
    finally:
        viewer.client.close()


def test_attach_refuses_what_is_not_a_terminal_session(attach_stack, attach):
    sid = attach_stack.create("cat")["id"]
    try:
        a = attach(attach_stack, sid)
        assert a.finish() == 2
        assert f"session {sid} is not a terminal session (agent: command)".encode() in a.screen
        assert a.restored
        a = attach(attach_stack, "nosuchsession")
        assert a.finish() == 1
        assert b"no session nosuchsession" in a.screen
    finally:
        attach_stack.delete(f"/sessions/{sid}")


def test_the_end_of_the_program_ends_attach_with_1_and_a_message(attach_stack, shells, attach):
    sid = shells()["id"]
    a = attach(attach_stack, sid).attached()
    shell_command(a, "echo bye-$((1+1))", "bye-2")
    a.type("exit 3\r")
    assert a.finish() == 1
    assert re.search(rb"amarre: session \S+ ended: \w+", a.screen), a.screen[-300:]
    assert a.restored
    # A session that is not running: exit 1 at once.
    a = attach(attach_stack, sid)
    assert a.finish() == 1
    assert a.restored


def test_stop_and_continue_and_sigterm_leave_the_terminal_right(attach_stack, shells, attach):
    sid = shells()["id"]
    a = attach(attach_stack, sid).attached()
    # Stopped, the terminal reset (as a shell does on a job's stop), continued: raw again.
    a.p.send_signal(signal.SIGSTOP)
    termios.tcsetattr(a.slave, termios.TCSANOW, a.cooked)
    a.p.send_signal(signal.SIGCONT)
    wait_for(lambda: a.raw, what="raw mode again after SIGCONT")
    shell_command(a, "echo cont-$((3+4))", "cont-7")
    a.p.send_signal(signal.SIGTERM)
    assert a.finish() == 0
    assert b"[detached: SIGTERM]" in a.screen
    assert a.restored
    assert attach_stack.summary(sid)["status"] == "running"


def test_no_tty_passes_bytes_through_for_scripts(attach_stack, shells):
    sid = shells()["id"]
    p = subprocess.Popen([str(AMARRE), "--url", attach_stack.origin, "attach", "--no-tty", sid],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=attach_stack.env)
    try:
        assert p.stdin and p.stdout and p.stderr
        p.stdin.write(b"echo piped-$((4*4))\r")
        p.stdin.flush()
        out = b""
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while b"piped-16\r\n" not in out:
            assert time.monotonic() < deadline, out
            if select.select([p.stdout], [], [], 0.5)[0]:
                out += os.read(p.stdout.fileno(), 65536)
        p.stdin.write(b"\r~.")
        p.stdin.flush()
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0
        assert p.stderr.read() == b"[detached]\n"
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=DEFAULT_TIMEOUT)
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                f.close()
    assert attach_stack.summary(sid)["status"] == "running"


def test_attach_carries_the_token(token_stack, attach):
    token = token_stack.make_token("attach")
    headers = {"Authorization": f"Bearer {token}"}
    r = token_stack.post("/sessions", {"instanceId": "sh"}, headers=headers)
    assert r.status == 201, r
    sid = r.json["id"]
    try:
        a = attach(token_stack, sid)
        assert a.finish() == 1
        assert b"the server wants credentials" in a.screen
        a = attach(token_stack, sid[:6], env={"AMARRE_TOKEN": token}).attached()
        shell_command(a, "echo token-$((2*3))", "token-6")
        a.type("\r~.")
        assert a.finish() == 0
    finally:
        token_stack.delete(f"/sessions/{sid}", headers=headers)


def test_attach_reconnects_across_a_host_restart(stack_factory, attach):
    stack = stack_factory(instances=INSTANCES)
    sid = stack.create("sh")["id"]
    a = attach(stack, sid).attached()
    shell_command(a, "echo before-$((1+1))", "before-2")
    stack.kill_host(signal.SIGTERM)
    at = a.until("resuming")
    stack.restart_host()
    wait_for(lambda: stack.summary(sid)["clients"] == 1, timeout=30, what="attach to reconnect")
    assert a.p.poll() is None and a.raw
    shell_command(a, "echo after-$((2+2))", "after-4")
    assert a.screen.count(b"before-2") == a.screen[:at].count(b"before-2")   # nothing shown twice
    a.type("\r~.")
    assert a.finish() == 0
    assert a.restored
