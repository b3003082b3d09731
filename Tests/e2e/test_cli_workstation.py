"""scripts/amarre from a workstation (issue 13): `send [--wait]`, `tail`, `approve`/`deny`,
`abort`, `--help` and `--version`, against real stacks through nginx.

Agents: Tests/fakes/fake-pi as pi (its permission gate asks with a select), fake-claude as
claude-code, the demo agent (`/crash`), an inline pi-shaped agent (`MINI`) for runs that fail or
ask several questions at once, and agents/flooder.py for a client too slow for the host.
`tail` runs as a subprocess whose lines are read with deadlines; waits are on records, on the
fakes' logs or on REST state, never on sleeps."""
from __future__ import annotations

import base64
import json
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import (DEFAULT_TIMEOUT, PY, REPO, Stack, WSClient, agent, command_instance,
                      stack_fixture, wait_for)

FAKES = REPO / "Tests" / "fakes"
AMARRE = REPO / "scripts" / "amarre"

MINI = r'''
import json, os, sys

def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()

EVIL = "\x1b[2J\x07\x1b]0;pwned\x07\r\n\t\x00\x9b"
pending = []
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    kind = cmd.get("type") if isinstance(cmd, dict) else None
    if kind == "prompt":
        message = cmd.get("message", "")
        ok = {"type": "response", "command": "prompt", "success": True}
        if "id" in cmd:
            ok["id"] = cmd["id"]
        if message == "crosstalk":
            # The refusal of another client's prompt, just before ours is taken.
            out({"type": "response", "id": "someone-else", "command": "prompt", "success": False,
                 "error": "not yours"})
        out(ok)
        out({"type": "agent_start"})
        u = {"role": "user", "content": [{"type": "text", "text": message}]}
        out({"type": "message_end", "message": u})
        if message == "evil":
            # Every string an agent chooses, with escape sequences in it.
            out({"type": "tool_execution_start", "toolName": "ba" + EVIL + "sh", "args": {"command": "ls" + EVIL}})
            out({"type": "tool_execution_end", "toolName": "ba" + EVIL + "sh", "result": "out" + EVIL})
            out({"type": "extension_ui_request", "id": "evil" + EVIL + "id", "method": "select",
                 "title": "Run" + EVIL + "?", "message": "m" + EVIL, "options": ["Allow" + EVIL, "Deny"]})
            out({"type": "extension_ui_request", "id": "note" + EVIL, "method": "notify", "message": "n" + EVIL})
            out({"type": "response", "command": "co" + EVIL, "success": False, "error": "e" + EVIL})
            sys.stdout.write("raw \x1b[2J\x07\x9b line\n"); sys.stdout.flush()
            a = {"role": "assistant", "content": [{"type": "text", "text": "said" + EVIL}]}
            out({"type": "message_end", "message": a})
            out({"type": "agent_end", "messages": [u, a]})
        elif message == "fail":
            a = {"role": "assistant", "content": [{"type": "text", "text": "half an answer"}],
                 "stopReason": "error", "errorMessage": "the model is overloaded"}
            out({"type": "message_end", "message": a})
            out({"type": "agent_end", "messages": [u, a]})
        elif message.startswith("ask"):
            if "input" in message:
                # A question that wants a text answer, not an approval.
                rid = "mini-%d-input" % os.getpid()
                pending.append(rid)
                out({"type": "extension_ui_request", "id": rid, "method": "input", "title": "Your name?"})
            for n in range(max(1, message.count("?"))):
                rid = "mini-%d-%d" % (os.getpid(), len(pending) + n)
                pending.append(rid)
                out({"type": "extension_ui_request", "id": rid, "method": "confirm",
                     "title": "Run bash?", "message": "question %d" % n, "toolName": "bash"})
        else:
            a = {"role": "assistant", "content": [{"type": "text", "text": "first part"},
                                                  {"type": "thinking", "thinking": "hidden"},
                                                  {"type": "text", "text": "second part"}]}
            out({"type": "message_end", "message": a})
            out({"type": "agent_end", "messages": [u, a]})
    elif kind == "extension_ui_response" and cmd.get("id") in pending:
        pending.remove(cmd["id"])
        if not pending:
            a = {"role": "assistant", "content": [{"type": "text", "text": "answered"}]}
            out({"type": "message_end", "message": a})
            out({"type": "agent_end", "messages": [a]})
'''

ENV = {
    "PI_BIN": str(FAKES / "fake-pi"),
    "CLAUDE_BIN": str(FAKES / "fake-claude"),
    "AMARRE_MAX_SESSIONS": "100",
    "FAKE_PI_MAX_SECONDS": "120",
    "FAKE_CLAUDE_MAX_SECONDS": "120",
}
INSTANCES = [
    {"id": "pi", "agent": "pi", "allowTools": ["read"]},
    {"id": "claude", "agent": "claude-code"},
    {"id": "demo", "agent": "demo"},
    command_instance("mini", [PY, "-c", MINI]),
]

workstation = stack_fixture(env=ENV, instances=INSTANCES)
token_stack = stack_fixture(env={**ENV, "AMARRE_AUTH": "token"}, instances=INSTANCES)
# A host that drops a client once 256 KiB are queued for it (the socket buffers hold more).
slow_stack = stack_fixture(env={"AMARRE_CLIENT_BUFFER_BYTES": str(256 << 10), "AMARRE_CLIENT_STALL_MS": "1500"},
                           instances=[command_instance("flooder", agent("flooder.py"))])

PI_SCENARIO = {
    "replies": [
        {"match": "answer", "steps": [{"thinking": "Let me think.", "text": "The answer is 42."}]},
        {"match": "readme", "steps": [
            {"text": "Reading.", "tool": {"name": "read", "input": {"path": "README.md"}, "output": "# hi"}},
            {"text": "It says hi."}]},
        {"match": "files", "steps": [
            {"text": "Listing.", "tool": {"name": "bash", "input": {"command": "ls"}, "output": "a.txt"}},
            {"text": "Done listing."}]},
        {"match": "slowly", "steps": [{"text": "word " * 30, "chunks": 30}]},
    ],
}
# fake-pi pauses delayMs before every chunk: "slowly" streams for 30 × 100 ms.
SLOW_PI_SCENARIO = {**PI_SCENARIO, "delayMs": 100}
CLAUDE_SCENARIO = {"replies": [{"match": "wait", "steps": [{"text": "Working on it.", "hold": True}]},
                               {"steps": [{"text": "Claude says hi."}]}]}
# The smallest valid files of each kind are not needed: amarre tells them by their first bytes.
IMAGES = {
    "png": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\1" * 20, "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\0\x10JFIF" + b"\2" * 20, "image/jpeg"),
    "gif": (b"GIF89a" + b"\3" * 20, "image/gif"),
    "webp": (b"RIFF\x24\0\0\0WEBPVP8 " + b"\4" * 20, "image/webp"),
}


# -- helpers -------------------------------------------------------------------------------

class FakeLog:
    """The JSON lines fake-pi / fake-claude wrote to their log."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

    def stdin(self) -> list[dict]:
        return [json.loads(e["stdin"]) for e in self.lines() if "stdin" in e]

    def decisions(self) -> list[dict]:
        return [e for e in self.lines() if "permission" in e]


class Workstation:
    """Sessions with their own scenario and log; the CLI run against the stack."""

    def __init__(self, stack: Stack, tmp: Path, token: str | None = None):
        self.stack = stack
        self.tmp = tmp
        self.token = token
        self.created: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.watchers: list[WSClient] = []

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def create(self, instance: str, scenario: dict | None = None) -> tuple[str, FakeLog]:
        n = len(self.created)
        log = self.tmp / f"{instance}-{n}.log"
        env: dict[str, str] = {}
        if instance in ("pi", "claude"):
            prefix = "FAKE_PI" if instance == "pi" else "FAKE_CLAUDE"
            env[f"{prefix}_LOG"] = str(log)
            if scenario is not None:
                path = self.tmp / f"{instance}-{n}-scenario.json"
                path.write_text(json.dumps(scenario))
                env[f"{prefix}_SCENARIO"] = str(path)
            if instance == "pi":
                env["FAKE_PI_SESSION_DIR"] = str(self.tmp / "pi-sessions")
        r = self.stack.post("/sessions", {"instanceId": instance, "env": env}, headers=self.headers)
        assert r.status == 201, r
        self.created.append(r.json["id"])
        return r.json["id"], FakeLog(log)

    def env(self, token: str | None) -> dict[str, str]:
        return {"AMARRE_TOKEN": token} if token else {}

    def cli(self, *args: str, token: str | None = "default", check: bool = True, timeout: float = 30,
            input: str | None = None) -> subprocess.CompletedProcess:
        token = self.token if token == "default" else token
        r = subprocess.run([str(AMARRE), "--url", self.stack.origin, *args], env={**self.stack.env, **self.env(token)},
                           capture_output=True, text=True, timeout=timeout, input=input)
        if check:
            assert r.returncode == 0, f"amarre {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def spawn(self, *args: str, token: str | None = "default", stdout: Any = subprocess.PIPE) -> "Running":
        token = self.token if token == "default" else token
        p = subprocess.Popen([str(AMARRE), "--url", self.stack.origin, *args],
                             env={**self.stack.env, **self.env(token)}, stdout=stdout,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return Running(p)

    def watch(self, sid: str) -> "Watch":
        w = Watch(WSClient(self.stack.ws_url(sid), additional_headers=self.headers))
        self.watchers.append(w.client)
        return w

    def summary(self, sid: str) -> dict:
        r = self.stack.get(f"/sessions/{sid}", headers=self.headers)
        assert r.status == 200, r
        return r.json

    def open_requests(self, sid: str) -> list[dict]:
        r = self.stack.get(f"/sessions/{sid}/requests", headers=self.headers)
        assert r.status == 200, r
        return r.json["requests"]

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=DEFAULT_TIMEOUT)
            for stream in (p.stdout, p.stderr):
                if stream:
                    stream.close()
        for c in self.watchers:
            c.close()
        for sid in self.created:
            self.stack.delete(f"/sessions/{sid}", headers=self.headers)


class Running:
    """A CLI process whose stdout lines are read with deadlines (a thread feeds a queue)."""

    def __init__(self, p: subprocess.Popen):
        self.p = p
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reading = threading.Event()
        self.reading.set()
        if p.stdout is not None:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
            self.reading.wait()
        self.lines.put(None)

    def pause(self) -> None:
        """Stops reading amarre's stdout (after at most one more line): its pipe fills up."""
        self.reading.clear()

    def resume(self) -> None:
        self.reading.set()

    def line(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from amarre within {timeout}s; seen: {self.seen[-10:]}") from None
        if line is None:
            raise AssertionError(f"amarre ended ({self.p.wait()}): {self.p.stderr.read() if self.p.stderr else ''}"
                                 f"; seen: {self.seen[-10:]}")
        self.seen.append(line)
        return line

    def until(self, match: Callable[[str], bool], timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        deadline = time.monotonic() + timeout
        out = []
        while True:
            out.append(self.line(max(0.01, deadline - time.monotonic())))
            if match(out[-1]):
                return out

    def json_until(self, type: str, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        records = [json.loads(line) for line in self.until(lambda l: json.loads(l).get("type") == type, timeout)]
        return records

    def finish(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, str]:
        """Waits for the exit; (status, stderr). Lines not read yet stay in `lines`."""
        code = self.p.wait(timeout=timeout)
        return code, self.p.stderr.read() if self.p.stderr else ""

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.p.send_signal(sig)
        return self.finish()


class Watch:
    """A WebSocket observer: every record, `_seq` included."""

    def __init__(self, client: WSClient):
        self.client = client
        self.hello = json.loads(client.ws.recv(timeout=DEFAULT_TIMEOUT))
        assert self.hello["type"] == "amarre.hello"

    def until(self, match: Callable[[dict], bool] | str, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        test = (lambda r: r.get("type") == match) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        out = []
        while True:
            out.append(json.loads(self.client.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
            if test(out[-1]):
                return out


@pytest.fixture
def ws_(workstation, tmp_path):
    w = Workstation(workstation, tmp_path)
    yield w
    w.cleanup()


@pytest.fixture
def tws(token_stack, tmp_path):
    w = Workstation(token_stack, tmp_path, token=token_stack.make_token("workstation"))
    yield w
    w.cleanup()


def assistant_started(r: dict) -> bool:
    return r.get("type") == "message_update"


# -- --help and --version ------------------------------------------------------------------

COMMANDS = ["health", "instances", "ls", "new", "get", "rm", "stop", "restart", "rename", "search", "changes",
            "send", "tail", "approve", "deny", "abort", "pair", "token", "devices", "revoke"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command):
    r = subprocess.run([str(AMARRE), command, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r
    assert r.stdout.startswith("Usage: amarre " + command), r.stdout
    assert r.stderr == ""


def test_help_lists_every_command_and_version_reads_the_version_file(tmp_path):
    r = subprocess.run([str(AMARRE), "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    for command in COMMANDS:
        assert f"\n  {command} " in r.stdout, command
    version = (REPO / "VERSION").read_text().strip()
    r = subprocess.run([str(AMARRE), "--version"], capture_output=True, text=True, timeout=10)
    assert (r.returncode, r.stdout) == (0, f"amarre {version}\n")
    # Through a symlink (installed into ~/bin), and without a VERSION file.
    link = tmp_path / "amarre"
    link.symlink_to(AMARRE)
    assert subprocess.run([str(link), "--version"], capture_output=True, text=True).stdout == f"amarre {version}\n"
    copy = tmp_path / "scripts" / "amarre"
    copy.parent.mkdir()
    copy.write_bytes(AMARRE.read_bytes())
    copy.chmod(0o755)
    assert subprocess.run([str(copy), "--version"], capture_output=True, text=True).stdout == "amarre unknown\n"


# -- send ------------------------------------------------------------------------------------

def test_send_prints_the_accepted_prompt_and_send_wait_the_final_answer(ws_):
    sid, log = ws_.create("pi", PI_SCENARIO)
    w = ws_.watch(sid)
    sent = ws_.cli("send", sid, "what is the answer?")
    answer = json.loads(sent.stdout)
    assert answer["sessionId"] == sid and answer["afterSeq"] >= w.hello["seq"], answer
    run = [r for r in w.until("agent_end") if r.get("type") in ("response", "agent_start", "message_end", "agent_end")]
    assert all(r["_seq"] > answer["afterSeq"] for r in run), run
    # The id the host put on the command: the agent's response carries it (send --wait goes by it).
    assert answer["id"].startswith("amarre-rest-"), answer
    assert log.stdin()[-1] == {"type": "prompt", "message": "what is the answer?", "id": answer["id"]}
    assert [r.get("id") for r in run if r["type"] == "response"] == [answer["id"]], run

    r = ws_.cli("send", "--wait", sid, "the answer again")
    assert (r.stdout, r.stderr) == ("The answer is 42.\n", "")
    # Only the last assistant message counts (the tool call's "Reading." is not the answer).
    r = ws_.cli("send", sid, "read the readme", "--wait")
    assert r.stdout == "It says hi.\n"


def test_send_wait_prints_every_text_part_of_the_last_message_and_reads_stdin(ws_):
    sid, _ = ws_.create("mini")
    r = ws_.cli("send", sid, "-", "--wait", input="from stdin\n\n")
    assert r.stdout == "first part\nsecond part\n"
    w = ws_.watch(sid)
    assert ws_.cli("send", sid, "--", "-starts with a dash").returncode == 0
    user = w.until(lambda x: x.get("type") == "message_end")[-1]
    assert user["message"]["content"][0]["text"] == "-starts with a dash"


def test_send_attaches_images_told_by_their_first_bytes(ws_, tmp_path):
    sid, log = ws_.create("pi", PI_SCENARIO)
    files = []
    for name, (data, _) in IMAGES.items():
        path = tmp_path / f"picture-{name}.bin"  # the name says nothing
        path.write_bytes(data)
        files.append(path)
    args = [a for f in files for a in ("--image", str(f))]
    r = ws_.cli("send", sid, "the answer for these", *args, "--wait")
    assert r.stdout == "The answer is 42.\n"
    prompt = log.stdin()[-1]
    assert prompt["type"] == "prompt" and prompt["message"] == "the answer for these"
    assert prompt["images"] == [{"type": "image", "mimeType": mime, "data": base64.b64encode(data).decode()}
                                for data, mime in IMAGES.values()]

    # A big one (over the 1 MiB of other routes) goes too.
    big = tmp_path / "big.png"
    big.write_bytes(IMAGES["png"][0] + bytes(range(256)) * 8192)  # 2 MiB
    assert ws_.cli("send", sid, "the answer, big", "--image", str(big), "--wait").stdout == "The answer is 42.\n"
    assert base64.b64decode(log.stdin()[-1]["images"][0]["data"]) == big.read_bytes()

    before = len(log.stdin())
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    for bad in (["--image", str(text)], ["--image", str(tmp_path / "missing.png")], ["--image"]):
        r = ws_.cli("send", sid, "nope", *bad, check=False)
        assert r.returncode == 2, (bad, r)
        assert r.stdout == ""
    assert len(log.stdin()) == before


def test_steer_and_follow_up_join_the_run_going_on(ws_):
    sid, log = ws_.create("pi", SLOW_PI_SCENARIO)
    w = ws_.watch(sid)
    ws_.cli("send", sid, "talk slowly")
    w.until(assistant_started)
    steer = ws_.spawn("send", sid, "look here", "--steer", "--wait")
    wait_for(lambda: any(c.get("type") == "steer" for c in log.stdin()), what="the steer to reach pi")
    follow = ws_.spawn("send", sid, "and then this", "--follow-up", "--wait")
    # Both end with the run: the steer is taken at the next turn, the follow-up after it.
    for running in (steer, follow):
        code, err = running.finish(timeout=30)
        assert (code, err) == (0, ""), (code, err)
    assert [(c["type"], c["message"]) for c in log.stdin() if c.get("type") in ("prompt", "steer", "follow_up")] == [
        ("prompt", "talk slowly"), ("steer", "look here"), ("follow_up", "and then this")]
    assert steer.line() == follow.line() == "You said: and then this"


def test_a_prompt_the_busy_agent_refuses_exits_1(ws_):
    """pi refuses a plain prompt while it works (without streamingBehavior)."""
    sid, _ = ws_.create("pi", SLOW_PI_SCENARIO)
    w = ws_.watch(sid)
    ws_.cli("send", sid, "talk slowly")
    w.until(assistant_started)
    r = ws_.cli("send", sid, "interrupting", "--wait", check=False)
    assert r.returncode == 1, r
    assert "refused" in r.stderr and "already processing" in r.stderr, r.stderr
    ws_.cli("abort", sid)


@pytest.mark.parametrize("instance,scenario,prompt", [("pi", SLOW_PI_SCENARIO, "talk slowly"),
                                                      ("claude", CLAUDE_SCENARIO, "wait for me")])
def test_send_wait_exits_1_when_the_run_is_aborted(ws_, instance, scenario, prompt):
    sid, _ = ws_.create(instance, scenario)
    w = ws_.watch(sid)
    waiting = ws_.spawn("send", sid, prompt, "--wait")
    w.until(assistant_started)
    aborted = json.loads(ws_.cli("abort", sid).stdout)
    assert aborted["sessionId"] == sid and isinstance(aborted["afterSeq"], int)
    code, err = waiting.finish()
    assert code == 1, err
    assert "aborted" in err


def test_send_wait_tells_its_own_refusal_by_the_command_id(ws_):
    """Another client's prompt refused just before ours is taken is not ours (same command
    name, another id); ours refused is (pi, above)."""
    sid, log = ws_.create("mini")
    r = ws_.cli("send", sid, "crosstalk", "--wait", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "first part\nsecond part\n", ""), r


def test_send_wait_exits_1_when_the_run_fails(ws_):
    sid, _ = ws_.create("mini")
    r = ws_.cli("send", sid, "fail", "--wait", check=False)
    assert r.returncode == 1
    assert r.stdout == "half an answer\n"
    assert "the run failed: the model is overloaded" in r.stderr


def test_send_wait_exits_1_when_the_agent_crashes(ws_):
    sid, _ = ws_.create("demo")
    r = ws_.cli("send", sid, "/crash", "--wait", check=False)
    assert r.returncode == 1, r
    assert "crashed" in r.stderr and "exit code 3" in r.stderr, r.stderr
    # And for a session that is not running any more: the POST is refused (409).
    again = ws_.cli("send", sid, "hello", "--wait", check=False)
    assert again.returncode == 1 and "409" in again.stderr, again


def test_send_wait_exits_1_when_the_session_is_stopped(ws_):
    sid, _ = ws_.create("claude", CLAUDE_SCENARIO)
    w = ws_.watch(sid)
    waiting = ws_.spawn("send", sid, "wait for me", "--wait")
    w.until(assistant_started)
    ws_.cli("stop", sid)
    code, err = waiting.finish()
    assert code == 1 and "stopped" in err, (code, err)


def test_send_to_unknown_sessions_and_bad_arguments(ws_):
    r = ws_.cli("send", "0123456789ab", "hello", check=False)
    assert r.returncode == 1 and "404" in r.stderr
    for args in (["send"], ["send", "0123456789ab"], ["send", "0123456789ab", "a", "b"],
                 ["send", "../x", "hi"], ["send", "0123456789ab", "hi", "--bogus"]):
        r = ws_.cli(*args, check=False)
        assert r.returncode == 2, (args, r)


# -- tail ------------------------------------------------------------------------------------

def test_tail_json_follows_a_run_record_by_record(ws_):
    sid, _ = ws_.create("pi", PI_SCENARIO)
    ws_.cli("send", sid, "the answer first", "--wait")  # history that tail must not show
    tail = ws_.spawn("tail", sid, "--json")
    hello = json.loads(tail.line())
    assert hello["type"] == "amarre.hello" and hello["sessionId"] == sid
    sent = json.loads(ws_.cli("send", sid, "what is the answer?").stdout)
    seen = tail.json_until("agent_end")
    seqs = [r["_seq"] for r in seen]
    assert seqs == list(range(hello["seq"] + 1, hello["seq"] + 1 + len(seen)))
    records = [r for r in seen if r["_seq"] > sent["afterSeq"]]
    assert [r["type"] for r in records][:2] == ["response", "agent_start"], records
    assert records[-1]["messages"][-1]["content"][-1]["text"] == "The answer is 42."
    # The same records as the store has, byte for byte (as parsed).
    stored = wait_for(lambda: (e := ws_.stack.get(f"/sessions/{sid}/events?after={sent['afterSeq']}").json)
                      and e[-1]["type"] == "agent_end" and e, what="the run in the store")
    assert stored == records
    code, err = tail.stop(signal.SIGTERM)
    assert (code, err) == (0, "")


def test_tail_since_replays_the_history_first(ws_):
    sid, _ = ws_.create("pi", PI_SCENARIO)
    ws_.cli("send", sid, "the answer", "--wait")
    tail = ws_.spawn("tail", sid, "--json", "--since", "0")
    assert json.loads(tail.line())["type"] == "amarre.hello"
    replayed = tail.json_until("agent_end")
    assert replayed[0]["_seq"] == 1
    code, err = tail.stop(signal.SIGINT)
    assert (code, err) == (0, "")


def test_tail_shows_a_run_with_an_approval_line_by_line(ws_):
    sid, _ = ws_.create("pi", PI_SCENARIO)
    tail = ws_.spawn("tail", sid)
    wait_for(lambda: ws_.summary(sid)["clients"] == 1, what="tail to connect")
    ws_.cli("send", sid, "list the files")
    lines = tail.until(lambda l: l.startswith("approval "))
    assert lines[:3] == ["run: started", "you: list the files", "assistant: Listing."], lines
    assert lines[3] == "tool: bash ls"
    rid = lines[-1].split(":")[0].split(" ", 1)[1]
    assert [r["id"] for r in ws_.open_requests(sid)] == [rid]
    assert "Run bash?" in lines[-1] and f"amarre approve|deny {sid} {rid}" in lines[-1]
    ws_.cli("approve", sid, rid)
    rest = tail.until(lambda l: l.startswith("run:"))
    assert rest == [f"approval {rid}: allowed", "result: bash ok: a.txt", "assistant: Done listing.", "run: ended"]
    code, err = tail.stop(signal.SIGINT)
    assert (code, err) == (0, "")


def test_tail_ends_when_the_session_stops_or_crashes(ws_):
    stopped, _ = ws_.create("demo")
    tail = ws_.spawn("tail", stopped)
    wait_for(lambda: ws_.summary(stopped)["clients"] == 1, what="tail to connect")
    ws_.cli("stop", stopped)
    code, err = tail.finish()
    assert code == 0 and "was stopped" in err, (code, err)

    crashed, _ = ws_.create("demo")
    tail = ws_.spawn("tail", crashed)
    wait_for(lambda: ws_.summary(crashed)["clients"] == 1, what="tail to connect")
    ws_.cli("send", crashed, "/crash")
    lines = tail.until(lambda l: l.startswith("session: crashed"))
    assert lines[-1] == "session: crashed (exit code 3)"
    code, err = tail.finish()
    assert code == 1 and "crashed (exit code 3)" in err, (code, err)

    # Not running, unknown: nothing to follow.
    for sid, words in ((crashed, "crashed"), (stopped, "stopped"), ("0123456789ab", "no session")):
        r = ws_.cli("tail", sid, check=False)
        assert r.returncode == 1 and words in r.stderr, (sid, r)


C0_BUT_NEWLINE = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")


def test_tail_shows_no_control_character_an_agent_chose_in_an_id_a_name_or_a_text(ws_, tmp_path):
    """Request ids, tool and command names, titles, options, texts: ESC, BEL, CR, NUL, C1 all
    become U+FFFD on every line (labels included); only newlines remain."""
    sid, _ = ws_.create("mini")
    path = tmp_path / "tail.out"
    with open(path, "wb") as f:
        tail = ws_.spawn("tail", sid, stdout=f)
    wait_for(lambda: ws_.summary(sid)["clients"] == 1, what="tail to connect")
    ws_.cli("send", sid, "evil")
    # The run's end withdraws the open question: its line is the last.
    data = wait_for(lambda: (d := path.read_bytes()).endswith(b": withdrawn\n") and d, what="the run in tail's output")
    code, err = tail.stop(signal.SIGINT)
    assert code == 0, err
    assert not C0_BUT_NEWLINE.search(data), data
    text = data.decode()
    lines = text.splitlines()
    approval = [l for l in lines if l.startswith("approval evil")]
    assert len(approval) == 2, lines
    assert approval[0].startswith("approval evil\ufffd") and f"(amarre approve|deny {sid} evil\ufffd" in approval[0]
    assert approval[1].endswith(": withdrawn")
    for kind in ("tool: ba\ufffd", "result: ba\ufffd", "notice: n\ufffd", "error: co\ufffd", "raw: raw \ufffd",
                 "assistant: said\ufffd"):
        assert any(l.startswith(kind) for l in lines), (kind, lines)
    assert "pwned" in text  # shown, harmless: only the escapes around it are gone


def _tail_across_a_host_restart(stack, tmp_path, sig):
    w = Workstation(stack, tmp_path)
    try:
        sid, _ = w.create("mini")
        tail = w.spawn("tail", sid)
        wait_for(lambda: w.summary(sid)["clients"] == 1, what="tail to connect")
        w.cli("send", sid, "before")
        assert tail.until(lambda l: l.startswith("run: ended"))[:2] == ["run: started", "you: before"]
        # Stored (a SIGKILL takes what is not yet), so the numbering goes on after it.
        wait_for(lambda: (e := stack.get(f"/sessions/{sid}/events?after=0").json) and e[-1]["type"] == "agent_end",
                 what="the run in the store")
        stack.kill_host(sig)
        # Back only once tail has been turned away (nginx: 502) while it was down.
        access = stack.log_dir / "nginx-access.log"
        wait_for(lambda: re.search(rf'"GET /sessions/{sid}\?since=\d+ HTTP/1.1" 502 ', access.read_text()),
                 what="a reconnection refused while amarre-host is down")
        stack.restart_host()
        assert tail.until(lambda l: l.startswith("session: "))[-1] == "session: restored"
        wait_for(lambda: w.summary(sid)["clients"] == 1, what="tail to reconnect")
        w.cli("send", sid, "after")
        assert tail.until(lambda l: l.startswith("run: ended"))[:2] == ["run: started", "you: after"]
        assert tail.p.poll() is None
        code, err = tail.stop(signal.SIGINT)
        assert code == 0, err
        assert "resuming after #" in err, err
        return err
    finally:
        w.cleanup()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_tail_keeps_following_across_a_host_restart(stack_factory, tmp_path, sig):
    """A graceful stop of amarre-host closes with 1001, a killed one cuts the connection; while
    it is down nginx answers the handshake 502. tail reconnects with since= until it is back."""
    err = _tail_across_a_host_restart(stack_factory(env=ENV, instances=INSTANCES), tmp_path, sig)
    if sig == signal.SIGTERM:
        assert "going away (1001" in err, err
    else:
        assert "connection lost" in err, err


def test_send_wait_says_when_a_host_restart_took_the_run(stack_factory, tmp_path):
    stack = stack_factory(env=ENV, instances=INSTANCES)
    w = Workstation(stack, tmp_path)
    try:
        sid, _ = w.create("claude", CLAUDE_SCENARIO)
        watch = w.watch(sid)
        waiting = w.spawn("send", sid, "wait for me", "--wait")
        watch.until(assistant_started)
        wait_for(lambda: w.summary(sid)["clients"] == 2, what="send --wait to connect")
        stack.kill_host(signal.SIGTERM)
        stack.restart_host()
        code, err = waiting.finish()
        assert code == 1 and "amarre-host restarted" in err and "going away (1001" in err, (code, err)
    finally:
        w.cleanup()


def test_tail_reconnects_after_being_dropped_as_too_slow_and_misses_nothing(slow_stack, tmp_path):
    """stdout not read: tail stops reading its socket, the host drops it (1013); once read again,
    it reconnects with since=<last seq> and every record arrives once, in order."""
    w = Workstation(slow_stack, tmp_path)
    try:
        r = slow_stack.post("/sessions", {"instanceId": "flooder"})
        sid = r.json["id"]
        w.created.append(sid)
        tail = w.spawn("tail", sid, "--json")
        hello = json.loads(tail.line())
        # Nobody reads tail's stdout now: its pipe fills, then its socket, then the host's queue.
        tail.pause()
        feeder = WSClient(slow_stack.ws_url(sid))
        w.watchers.append(feeder)
        count = 2000
        feeder.send({"type": "e2e.flood", "count": count, "size": 16 * 1024})
        feeder.close()
        wait_for(lambda: slow_stack.summary(sid)["clients"] == 0, timeout=60, what="tail to be dropped as too slow")
        tail.resume()
        records = [hello] + tail.json_until("e2e.flood_done", timeout=120)
        floods = [r["seq"] for r in records if r["type"] == "e2e.flood"]
        assert floods == list(range(count))
        seqs = [r["_seq"] for r in records if r["type"] != "amarre.hello"]
        assert seqs == list(range(hello["seq"] + 1, hello["seq"] + 1 + len(seqs)))
        assert sum(1 for r in records if r["type"] == "amarre.hello") >= 1
        code, err = tail.stop()
        assert code == 0
        assert "slow (1013)" in err, err
    finally:
        w.cleanup()


# -- approve / deny --------------------------------------------------------------------------

def test_approve_and_deny_answer_the_only_open_request(ws_):
    sid, log = ws_.create("pi", PI_SCENARIO)
    w = ws_.watch(sid)
    r = ws_.cli("approve", sid, check=False)
    assert (r.returncode, r.stderr) == (1, f"amarre: no open request in session {sid}\n")

    ws_.cli("send", sid, "list the files")
    asked = w.until("extension_ui_request")[-1]
    assert asked["method"] == "select" and asked.get("toolName") == "bash"
    answered = json.loads(ws_.cli("approve", sid).stdout)
    assert answered == {"id": asked["id"], "resolved": True}
    w.until("agent_end")
    assert log.decisions()[-1]["allowed"] is True
    assert log.decisions()[-1]["answer"].get("value") == "Allow once"

    ws_.cli("send", sid, "list the files again")
    asked = w.until("extension_ui_request")[-1]
    assert json.loads(ws_.cli("deny", sid).stdout)["id"] == asked["id"]
    end = w.until("agent_end")
    assert log.decisions()[-1]["allowed"] is False
    assert [r for r in end if r.get("type") == "tool_execution_end"][0]["isError"] is True

    # Answered already: 409, exit 1.
    again = ws_.cli("approve", sid, asked["id"], check=False)
    assert again.returncode == 1 and "409" in again.stderr


def test_approve_for_the_session_lets_later_calls_run_without_asking(ws_):
    sid, log = ws_.create("pi", PI_SCENARIO)
    w = ws_.watch(sid)
    ws_.cli("send", sid, "list the files")
    asked = w.until("extension_ui_request")[-1]
    ws_.cli("approve", sid, asked["id"], "--for-session")
    first = w.until("agent_end")
    assert log.decisions()[-1]["allowed"] is True
    assert [x["isError"] for x in first if x.get("type") == "tool_execution_end"] == [False]
    # Next time: no question (whether the host or pi's gate remembers it), and the tool runs.
    r = ws_.cli("send", sid, "list the files once more", "--wait")
    assert r.stdout == "Done listing.\n"
    later = w.until("agent_end")
    assert [x for x in later if x.get("type") == "extension_ui_request"] == []
    assert [x["isError"] for x in later if x.get("type") == "tool_execution_end"] == [False]


def test_several_open_requests_are_listed_and_none_is_answered(ws_):
    sid, _ = ws_.create("mini")
    w = ws_.watch(sid)
    ws_.cli("send", sid, "ask: this? that?")
    w.until(lambda r: r.get("type") == "extension_ui_request" and r["message"] == "question 1")
    ids = [r["id"] for r in ws_.open_requests(sid)]
    assert len(ids) == 2
    for command in ("approve", "deny"):
        r = ws_.cli(command, sid, check=False)
        assert r.returncode == 2, r
        assert r.stdout == ""
        assert r.stderr.splitlines()[0] == f"amarre: 2 open approvals in session {sid}; name one:"
        for rid in ids:
            assert f"amarre {command} {sid} {rid}" in r.stderr
    assert [r["id"] for r in ws_.open_requests(sid)] == ids
    ws_.cli("deny", sid, ids[0])
    ws_.cli("approve", sid)  # the only one left
    w.until("agent_end")
    assert ws_.open_requests(sid) == []


def test_approve_without_request_answers_approvals_only_never_a_text_question(ws_):
    sid, _ = ws_.create("mini")
    w = ws_.watch(sid)
    ws_.cli("send", sid, "ask: input and this?")
    w.until(lambda r: r.get("type") == "extension_ui_request" and r.get("method") == "confirm")
    open_ = {r["method"]: r["id"] for r in ws_.open_requests(sid)}
    assert sorted(open_) == ["confirm", "input"]
    assert json.loads(ws_.cli("approve", sid).stdout) == {"id": open_["confirm"], "resolved": True}
    # Only the question is left: not an approval.
    for command in ("approve", "deny"):
        r = ws_.cli(command, sid, check=False)
        assert (r.returncode, r.stdout) == (1, ""), r
        assert r.stderr.startswith(f"amarre: no open approval in session {sid}; 1 open question (input)"), r.stderr
    assert [r["id"] for r in ws_.open_requests(sid)] == [open_["input"]]
    assert ws_.stack.post(f"/sessions/{sid}/requests/{open_['input']}", {"value": "Ada"}).status == 200
    w.until("agent_end")


# -- token mode ------------------------------------------------------------------------------

def test_the_workstation_commands_send_the_bearer_token(tws):
    sid, log = tws.create("pi", PI_SCENARIO)
    tail = tws.spawn("tail", sid, "--json")
    assert json.loads(tail.line())["type"] == "amarre.hello"
    assert tws.cli("send", sid, "what is the answer?", "--wait").stdout == "The answer is 42.\n"
    tail.json_until("agent_end")
    tws.cli("send", sid, "list the files")
    rid = tail.json_until("extension_ui_request")[-1]["id"]
    tws.cli("approve", sid)
    assert tail.json_until("amarre.request_resolved")[-1]["id"] == rid
    code, err = tail.stop()
    assert (code, err) == (0, "")

    # Without the token: refused, with the hint.
    for args in (["send", sid, "hi"], ["send", sid, "hi", "--wait"], ["tail", sid], ["approve", sid],
                 ["deny", sid, rid], ["abort", sid]):
        r = tws.cli(*args, token=None, check=False)
        assert r.returncode == 1, (args, r)
        assert "amarre token create" in r.stderr, (args, r.stderr)
    # A wrong one.
    r = tws.cli("tail", sid, token="amr_0000000000000000_" + "A" * 43, check=False)
    assert r.returncode == 1 and "AMARRE_TOKEN was refused" in r.stderr
