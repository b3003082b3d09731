"""pi and claude-code end to end, through nginx, against Tests/fakes/fake-pi and
Tests/fakes/fake-claude: streamed answers, permission questions answered from WebSocket
clients (allow, deny, two clients), queueing while busy, abort, plan capture, raw mode,
`allowTools`, and resume after a restart of the whole stack.

Each session gets its scenario and a log file through the session `env` (FAKE_*_SCENARIO,
FAKE_*_LOG; the fakes log argv, every stdin line and every permission decision). Waits are on
records or log contents, with deadlines; nothing sleeps to wait."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import DEFAULT_TIMEOUT, REPO, Stack, stack_fixture, wait_for

FAKES = REPO / "Tests" / "fakes"
GATE_FILE = "amarre-permission-gate.ts"

ENV = {
    "PI_BIN": str(FAKES / "fake-pi"),
    "CLAUDE_BIN": str(FAKES / "fake-claude"),
    "AMARRE_MAX_SESSIONS": "50",
    # The fakes exit on their own after this long, so a stuck test cannot leave them behind.
    "FAKE_PI_MAX_SECONDS": "120",
    "FAKE_CLAUDE_MAX_SECONDS": "120",
}
INSTANCES = [
    {"id": "pi", "agent": "pi", "allowTools": ["read", "grep"], "env": {"AMARRE_GATE_PROMPT": "confirm"},
     # A session may choose the gate's prompt only because the instance allows it.
     "allowSessionEnv": ["AMARRE_GATE_PROMPT"]},
    {"id": "claude", "agent": "claude-code"},
    {"id": "claude-raw", "agent": "claude-code", "raw": True},
]

agents = stack_fixture(env=ENV, instances=INSTANCES)

BASH_LS = {"command": "ls -la", "description": "List files"}
CLAUDE_SCENARIO = {
    "sessionId": "sess-e2e-claude",
    "costPerTurn": 0.02,
    "replies": [
        {"match": "files", "steps": [
            {"thinking": "I should list them.", "text": "Listing the files.",
             "tool": {"name": "Bash", "input": BASH_LS, "output": "a.txt\nb.txt"}},
            {"text": "There are two files."}]},
        {"match": "first", "steps": [
            {"text": "First, a tool.", "tool": {"name": "Bash", "input": {"command": "true"}}},
            {"text": "First done."}]},
        {"match": "second", "steps": [{"text": "Second done."}]},
        {"match": "third", "steps": [{"text": "Third done."}]},
        {"match": "wait", "steps": [{"text": "Working on it.", "hold": True}]},
        {"match": "plan", "steps": [
            {"text": "Here is my plan.", "tool": {"name": "ExitPlanMode", "input": {"plan": "1. Read\n2. Write"}}},
            {"text": "Plan accepted."}]},
    ],
}
PI_SCENARIO = {
    "sessionId": "sess-e2e-pi",
    "replies": [
        {"match": "files", "steps": [
            {"text": "Listing.", "tool": {"name": "bash", "input": {"command": "ls"}, "output": "a.txt"}},
            {"text": "Done."}]},
        {"match": "readme", "steps": [
            {"text": "Reading.", "tool": {"name": "read", "input": {"path": "README.md"}, "output": "# hi"}},
            {"text": "Read."}]},
    ],
}


# -- helpers -------------------------------------------------------------------------------

def compact(record: dict) -> str:
    """A record as the fakes write it (Python's compact JSON)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class Client:
    """A WebSocket client that keeps every frame as the server sent it (`_seq` included)."""

    def __init__(self, stack: Stack, sid: str, since: int | None = None):
        self.inner = stack.ws(sid if since is None else f"{sid}?since={since}")
        self.frames: list[tuple[str, dict]] = []
        self.hello = self._recv(time.monotonic() + DEFAULT_TIMEOUT)
        assert self.hello["type"] == "amarre.hello", self.hello

    def _recv(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            text = self.inner.ws.recv(timeout=remaining)
        except TimeoutError:
            seen = [r.get("type") for _, r in self.frames[-15:]]
            raise AssertionError(f"no matching record before the deadline; last seen: {seen}") from None
        assert isinstance(text, str)
        record = json.loads(text)
        self.frames.append((text, record))
        return record

    def until(self, match: str | Callable[[dict], bool], timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        """Every record (amarre.* included) up to and including the first that matches `match`
        (a type, or a predicate)."""
        test = (lambda r: r.get("type") == match) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        out = []
        while True:
            record = self._recv(deadline)
            out.append(record)
            if test(record):
                return out

    def drain(self, seconds: float) -> list[dict]:
        """What arrives within `seconds` (used only where absence is checked after a barrier)."""
        out, deadline = [], time.monotonic() + seconds
        while True:
            try:
                out.append(self._recv(deadline))
            except AssertionError:
                return out

    def send(self, record: Any) -> None:
        self.inner.send(record)

    def prompt(self, text: str, id: str | None = None, type: str = "prompt") -> None:
        self.send({**({"id": id} if id else {}), "type": type, "message": text})

    def answer(self, request: dict, **answer: Any) -> None:
        self.send({"type": "extension_ui_response", "id": request["id"], **answer})

    def close(self) -> None:
        self.inner.close()


def of(records: list[dict], type: str, **fields: Any) -> list[dict]:
    return [r for r in records if r.get("type") == type and all(r.get(k) == v for k, v in fields.items())]


def one(records: list[dict], type: str, **fields: Any) -> dict:
    found = of(records, type, **fields)
    assert len(found) == 1, f"expected one {type} {fields}, got {found}"
    return found[0]


def flow(records: list[dict]) -> list[str]:
    """The shape of a stream: one token per record (runs of deltas collapsed), amarre.* left out."""
    out: list[str] = []
    for r in records:
        t = r.get("type", "")
        if t.startswith("amarre."):
            continue
        if t == "message_update":
            token = "update:" + r["assistantMessageEvent"]["type"]
        elif t in ("message_start", "message_end"):
            token = f"{t}:{r['message']['role']}"
        elif t == "response":
            token = f"response:{r['command']}"
        elif t == "extension_ui_request":
            token = f"ui:{r['method']}"
        else:
            token = t
        if out and out[-1] == token and token.endswith("_delta"):
            continue
        out.append(token)
    return out


def deltas(records: list[dict], kind: str) -> list[str]:
    return [r["assistantMessageEvent"]["delta"] for r in of(records, "message_update")
            if r["assistantMessageEvent"]["type"] == kind]


def user_texts(records: list[dict]) -> list[str]:
    return ["".join(b.get("text", "") for b in r["message"]["content"])
            for r in of(records, "message_end") if r["message"]["role"] == "user"]


def assistant_texts(records: list[dict]) -> list[str]:
    return ["".join(b.get("text", "") for b in r["message"]["content"] if b["type"] == "text")
            for r in of(records, "message_end") if r["message"]["role"] == "assistant"]


class FakeLog:
    """The JSON lines a fake wrote to FAKE_*_LOG."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self, key: str) -> list[Any]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [e[key] for e in map(json.loads, lines) if key in e]

    def stdin(self) -> list[Any]:
        """Every line the fake read, parsed."""
        return [json.loads(line) for line in self.entries("stdin")]

    def argv(self) -> list[list[str]]:
        """The argv of every start of the fake, in order."""
        return self.entries("argv")

    def decisions(self) -> list[dict]:
        """fake-claude: `{"permission", "decision"}`; fake-pi: `{"permission", "answer", "allowed"}`."""
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        return [e for e in map(json.loads, lines) if "permission" in e]

    def wait(self, predicate: Callable[["FakeLog"], Any], what: str) -> Any:
        return wait_for(lambda: predicate(self), what=f"the fake's log to show {what}")

    def user_prompts(self) -> list[str]:
        """fake-claude: the texts of the user messages it was sent."""
        return ["".join(b.get("text", "") for b in line["message"]["content"])
                for line in self.stdin() if line.get("type") == "user"]


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


class Sessions:
    """Creates agent sessions with a scenario and a log of their own; cleans up after the test."""

    def __init__(self, stack: Stack, tmp: Path):
        self.stack = stack
        self.tmp = tmp
        self.created: list[str] = []
        self.clients: list[Client] = []

    def create(self, instance: str, scenario: dict | None = None, env: dict | None = None) -> tuple[str, FakeLog]:
        prefix = "FAKE_PI" if instance.startswith("pi") else "FAKE_CLAUDE"
        n = len(self.created)
        log = self.tmp / f"{instance}-{n}.log"
        session_env = {f"{prefix}_LOG": str(log)}
        if scenario is not None:
            path = self.tmp / f"{instance}-{n}-scenario.json"
            path.write_text(json.dumps(scenario))
            session_env[f"{prefix}_SCENARIO"] = str(path)
        if prefix == "FAKE_PI":
            session_env["FAKE_PI_SESSION_DIR"] = str(self.tmp / "pi-sessions")
        session_env.update(env or {})
        sid = self.stack.create(instance, env=session_env)["id"]
        self.created.append(sid)
        return sid, FakeLog(log)

    def connect(self, sid: str, since: int | None = None) -> Client:
        client = Client(self.stack, sid, since)
        self.clients.append(client)
        return client

    def cleanup(self) -> None:
        for c in self.clients:
            c.close()
        for sid in self.created:
            self.stack.delete(f"/sessions/{sid}")


@pytest.fixture
def sessions(agents, tmp_path):
    s = Sessions(agents, tmp_path)
    yield s
    s.cleanup()


def initialized(log: FakeLog) -> bool:
    """fake-claude has been sent the adapter's `initialize` request."""
    return any(line.get("type") == "control_request" and line["request"].get("subtype") == "initialize"
               for line in log.stdin())


# -- claude-code ---------------------------------------------------------------------------

def test_claude_prompt_streams_asks_and_runs_the_tool_a_client_allows(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    argv = log.wait(lambda l: l.argv(), "its argv")[0]
    assert argv[:9] == ["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
                        "--include-partial-messages", "--permission-prompt-tool", "stdio"]
    assert "--resume" not in argv
    log.wait(initialized, "the initialize control request")

    ws.prompt("list the files", id="p1")
    before = ws.until("extension_ui_request")
    assert flow(before) == [
        "response:prompt", "agent_start", "turn_start", "message_start:user", "message_end:user", "system",
        "message_start:assistant", "update:start",
        "update:thinking_start", "update:thinking_delta", "update:thinking_end",
        "update:text_start", "update:text_delta", "update:text_end",
        "update:toolcall_start", "update:toolcall_delta", "update:toolcall_end", "tool_execution_start",
        "update:done", "message_end:assistant", "ui:confirm"]
    assert one(before, "response") == {"_seq": before[0]["_seq"], "id": "p1", "type": "response",
                                       "command": "prompt", "success": True}
    text = deltas(before, "text_delta")
    assert len(text) == 3 and "".join(text) == "Listing the files."
    assert "".join(deltas(before, "thinking_delta")) == "I should list them."
    started = one(before, "tool_execution_start")
    assert started["toolName"] == "Bash" and started["args"] == BASH_LS
    question = before[-1]
    assert question["title"] == "Allow Bash?" and question["message"] == "ls -la\n# List files"
    assert agents.summary(sid)["pendingRequests"] == [question["id"]]
    # Never allowed without an answer: the fake is still waiting for one.
    assert log.decisions() == []

    ws.answer(question, confirmed=True)
    decision = log.wait(lambda l: l.decisions(), "a permission decision")
    assert decision == [{"permission": "Bash", "decision": {"behavior": "allow", "updatedInput": BASH_LS}}]
    after = ws.until("agent_end")
    assert flow(after) == [
        "tool_execution_end", "message_start:toolResult", "message_end:toolResult", "turn_end",
        "turn_start", "message_start:assistant", "update:start", "update:text_start", "update:text_delta",
        "update:text_end", "update:done", "message_end:assistant", "turn_end", "agent_end"]
    resolved = one(after, "amarre.request_resolved")
    assert resolved["id"] == question["id"] and resolved["response"]["confirmed"] is True
    ended = one(after, "tool_execution_end")
    assert ended["toolCallId"] == started["toolCallId"] and ended["toolName"] == "Bash"
    assert ended["isError"] is False
    assert ended["result"] == {"content": [{"type": "text", "text": "a.txt\nb.txt"}]}
    first_turn = of(after, "turn_end")[0]
    assert first_turn["message"]["content"][-1]["type"] == "toolCall"
    assert [m["toolCallId"] for m in first_turn["toolResults"]] == [started["toolCallId"]]
    agent_end = after[-1]
    assert agent_end["cost"] == pytest.approx(0.02)
    assert agent_end["usage"]["cost"]["total"] == pytest.approx(0.02)
    assert agent_end["usage"]["input"] > 0 and agent_end["usage"]["output"] > 0
    assert [m["role"] for m in agent_end["messages"]] == ["user", "assistant", "toolResult", "assistant"]
    assert "stopReason" not in agent_end
    assert assistant_texts(after)[-1] == "There are two files."
    assert agents.summary(sid)["pendingRequests"] == []


def test_claude_denied_tool_is_refused_and_reported_as_an_error(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("list the files")
    question = ws.until("extension_ui_request")[-1]
    ws.answer(question, confirmed=False)
    after = ws.until("agent_end")
    assert log.decisions() == [{"permission": "Bash",
                                "decision": {"behavior": "deny", "message": "Denied from amarre"}}]
    ended = one(after, "tool_execution_end")
    assert ended["isError"] is True
    assert ended["result"] == {"content": [{"type": "text", "text": "Denied from amarre"}]}
    tool_result = [r["message"] for r in of(after, "message_end") if r["message"]["role"] == "toolResult"]
    assert len(tool_result) == 1 and tool_result[0]["isError"] is True
    assert after[-1]["cost"] == pytest.approx(0.02)


def test_claude_prompt_and_follow_up_sent_while_busy_are_queued_and_delivered_in_order(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("first task", id="p1")
    question = ws.until("extension_ui_request")[-1]  # the run is busy until this is answered

    ws.prompt("second task", id="p2")
    ws.prompt("third task", id="f3", type="follow_up")
    queued = ws.until(lambda r: r.get("type") == "queue_update" and len(r["followUp"]) == 2)
    assert [(r["id"], r["command"], r["success"]) for r in of(queued, "response")] == [
        ("p2", "prompt", True), ("f3", "follow_up", True)]
    assert [r["followUp"] for r in of(queued, "queue_update")] == [["second task"], ["second task", "third task"]]
    # Nothing of the queue reached claude while its turn runs.
    assert log.user_prompts() == ["first task"]

    ws.answer(question, confirmed=True)
    records = []
    for _ in range(3):
        records += ws.until("agent_end", timeout=20)
    assert user_texts(records) == ["second task", "third task"]
    assert [r["followUp"] for r in of(records, "queue_update")] == [["third task"], []]
    # Each run announces itself: agent_start then turn_start, and ends with turn_end, agent_end.
    tokens = [t for t in flow(queued + records) if t in ("agent_start", "turn_start", "turn_end", "agent_end")]
    assert tokens == ["turn_end", "turn_start", "turn_end", "agent_end",
                      "agent_start", "turn_start", "turn_end", "agent_end",
                      "agent_start", "turn_start", "turn_end", "agent_end"]
    assert [t for t in assistant_texts(records) if t.endswith("done.")] == ["First done.", "Second done.", "Third done."]
    assert [r["cost"] for r in of(records, "agent_end")] == pytest.approx([0.02, 0.04, 0.06])
    # claude got every message, in order, each after the previous run's result.
    assert log.user_prompts() == ["first task", "second task", "third task"]
    lines = log.path.read_text().splitlines()
    decision_at = next(i for i, l in enumerate(lines) if '"permission"' in l)
    second_at = next(i for i, l in enumerate(lines) if "second task" in l)
    assert decision_at < second_at


def test_claude_abort_interrupts_the_turn_and_drops_the_queue(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("wait for me", id="p1")
    ws.until(lambda r: r.get("type") == "message_end" and r["message"]["role"] == "assistant")

    ws.send({"id": "s1", "type": "get_state"})
    state = ws.until("response")[-1]
    assert state["id"] == "s1" and state["command"] == "get_state" and state["success"] is True
    data = state["data"]
    assert data["isStreaming"] is True and data["sessionId"] == "sess-e2e-claude"
    assert data["model"]["id"] == "claude-fake-1" and data["sessionFile"] is None

    ws.prompt("later please", id="f1", type="follow_up")
    assert ws.until("queue_update")[-1]["followUp"] == ["later please"]

    ws.send({"id": "a1", "type": "abort"})
    records = ws.until("agent_end")
    interrupts = log.wait(
        lambda l: [x for x in l.stdin() if x.get("type") == "control_request"
                   and x["request"].get("subtype") == "interrupt"], "the interrupt control request")
    assert len(interrupts) == 1
    assert of(records, "queue_update")[0]["followUp"] == []
    assert one(records, "response", id="a1")["success"] is True
    assert records[-1]["stopReason"] == "aborted"
    assert flow(records)[-2:] == ["turn_end", "agent_end"]

    # The session goes on; the dropped follow-up was never sent.
    ws.prompt("hello", id="p2")
    again = ws.until("agent_end")
    assert flow(again)[:3] == ["response:prompt", "agent_start", "turn_start"]
    assert assistant_texts(again) == ["You said: hello"] and "stopReason" not in again[-1]
    assert log.user_prompts() == ["wait for me", "hello"]
    ws.send({"id": "s2", "type": "get_state"})
    data = ws.until("response")[-1]["data"]
    assert data["isStreaming"] is False and data["pendingMessageCount"] == 0
    assert data["messageCount"] == 4  # two user messages, two assistant messages


def test_claude_abort_while_a_question_is_pending_withdraws_it(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("list the files")
    question = ws.until("extension_ui_request")[-1]
    ws.send({"id": "a1", "type": "abort"})
    records = ws.until("agent_end")
    assert records[-1]["stopReason"] == "aborted"
    ended = one(records, "tool_execution_end")
    assert ended["isError"] is True
    assert one(records, "control_cancel_request")  # claude's withdrawal passes through
    # A late answer never reaches claude.
    ws.answer(question, confirmed=True)
    ws.send({"id": "s1", "type": "get_state"})
    ws.until(lambda r: r.get("id") == "s1")
    assert log.decisions() == []
    assert not [x for x in log.stdin() if x.get("type") == "control_response"]


def test_claude_question_withdrawn_by_an_abort_is_no_longer_pending(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("list the files")
    question = ws.until("extension_ui_request")[-1]
    assert agents.summary(sid)["pendingRequests"] == [question["id"]]
    ws.send({"id": "a1", "type": "abort"})
    records = ws.until("agent_end")
    # claude's control_cancel_request withdraws it as soon as it arrives (before agent_end).
    withdrawn = [r for r in records if r.get("type") == "amarre.request_withdrawn"]
    assert [w["id"] for w in withdrawn] == [question["id"]]
    assert agents.summary(sid)["pendingRequests"] == []


def test_claude_exit_plan_mode_is_captured_as_a_plan_notice(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("make a plan")
    before = ws.until(lambda r: r.get("type") == "extension_ui_request" and r["method"] == "confirm")
    notice = one(before, "extension_ui_request", method="notify")
    assert notice["event"] == "plan_capture" and notice["plan"] == "1. Read\n2. Write"
    question = before[-1]
    assert question["title"] == "Allow ExitPlanMode?" and question["message"] == "1. Read\n2. Write"
    # The notice asks nothing: only the confirm is pending.
    assert agents.summary(sid)["pendingRequests"] == [question["id"]]
    ws.answer(question, confirmed=True)
    after = ws.until("agent_end")
    assert log.decisions() == [{"permission": "ExitPlanMode", "decision": {
        "behavior": "allow", "updatedInput": {"plan": "1. Read\n2. Write"}}}]
    assert assistant_texts(after)[-1] == "Plan accepted."


def test_claude_two_clients_the_first_answer_wins(sessions, agents):
    sid, log = sessions.create("claude", CLAUDE_SCENARIO)
    a = sessions.connect(sid)
    b = sessions.connect(sid)
    a.prompt("list the files")
    question = a.until("extension_ui_request")[-1]
    assert b.until("extension_ui_request")[-1] == question

    # One after the other: the second answer is refused and not forwarded.
    a.answer(question, confirmed=True)
    resolved = b.until("amarre.request_resolved")[-1]
    assert resolved["id"] == question["id"] and resolved["response"]["confirmed"] is True
    b.answer(question, confirmed=False)
    seen_b = b.until("amarre.error")
    late = seen_b[-1]
    assert late["error"] == "already_answered" and late["id"] == question["id"]
    a.until("agent_end")
    if not of(seen_b, "agent_end"):
        b.until("agent_end")
    assert [d["decision"]["behavior"] for d in log.decisions()] == ["allow"]

    # At the same time: whichever comes first wins, the other gets already_answered.
    a.prompt("list the files")
    question = a.until("extension_ui_request")[-1]
    b.until("extension_ui_request")
    a.answer(question, confirmed=True)
    b.answer(question, confirmed=False)
    seen = {a: a.until("amarre.request_resolved"), b: []}
    resolved = seen[a][-1]
    winner, loser = (a, b) if resolved["response"]["confirmed"] is True else (b, a)
    seen[loser] += loser.until(lambda r: r.get("type") == "amarre.error")
    error = seen[loser][-1]
    assert error["error"] == "already_answered" and error["id"] == question["id"]
    # The winner's answer was not refused: a refusal would come before this response.
    winner.send({"id": "barrier", "type": "get_state"})
    seen[winner] += winner.until(lambda r: r.get("id") == "barrier")
    assert not of(seen[winner], "amarre.error")
    for client in (a, b):
        if not of(seen[client], "agent_end"):
            client.until("agent_end")
    decisions = log.decisions()
    expected = "allow" if resolved["response"]["confirmed"] else "deny"
    assert [d["decision"]["behavior"] for d in decisions] == ["allow", expected]
    answers = [x for x in log.stdin() if x.get("type") == "control_response"]
    assert len(answers) == 2  # exactly one per question
    assert agents.summary(sid)["pendingRequests"] == []


def test_claude_raw_mode_passes_native_records_through(sessions, agents):
    sid, log = sessions.create("claude-raw", CLAUDE_SCENARIO)
    ws = sessions.connect(sid)
    ws.send({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "list the files"}]}})
    before = ws.until("control_request")
    request = before[-1]
    assert request["request"]["subtype"] == "can_use_tool" and request["request"]["tool_name"] == "Bash"
    ws.send({"type": "control_response", "response": {
        "subtype": "success", "request_id": request["request_id"],
        "response": {"behavior": "allow", "updatedInput": request["request"]["input"]}}})
    after = ws.until("result")
    assert log.decisions() == [{"permission": "Bash", "decision": {"behavior": "allow", "updatedInput": BASH_LS}}]
    records = before + after
    kinds = {r["type"] for r in records}
    assert {"system", "stream_event", "assistant", "control_request", "user", "result"} <= kinds
    assert not kinds & {"agent_start", "turn_start", "message_update", "agent_end", "extension_ui_request"}
    # Byte for byte what the fake wrote, but for `_seq` in front.
    for text, record in ws.frames[1:]:
        rest = {k: v for k, v in record.items() if k != "_seq"}
        assert text == '{"_seq":%d,' % record["_seq"] + compact(rest)[1:]
    assert after[-1]["session_id"] == "sess-e2e-claude" and after[-1]["is_error"] is False
    # No adapter: nothing was written to claude but what the client sent.
    assert [x["type"] for x in log.stdin()] == ["user", "control_response"]


# -- pi ------------------------------------------------------------------------------------

def test_pi_is_gated_and_its_events_pass_through_untouched(sessions, agents):
    sid, log = sessions.create("pi", PI_SCENARIO)
    ws = sessions.connect(sid)
    argv = log.wait(lambda l: l.argv(), "its argv")[0]
    assert argv[:2] == ["--mode", "rpc"]
    gate = option(argv, "-e")
    assert gate is not None and gate.endswith("/" + GATE_FILE) and os.path.isfile(gate), argv
    env = log.wait(lambda l: l.entries("env"), "the gate's environment")[0]
    assert env == {"AMARRE_ALLOW_TOOLS": "read,grep", "AMARRE_GATE_PROMPT": "confirm"}
    # The adapter asks for the session file itself; its answer is not shown to clients.
    own = log.wait(lambda l: [x for x in l.stdin() if x.get("type") == "get_state"], "the adapter's get_state")
    assert own[0]["id"].startswith("amarre-")

    ws.prompt("list the files", id="p1")
    before = ws.until("extension_ui_request")
    assert flow(before) == [
        "response:prompt", "agent_start", "turn_start", "message_start:user", "message_end:user",
        "message_start:assistant", "update:start", "update:text_start", "update:text_delta", "update:text_end",
        "update:toolcall_start", "update:toolcall_delta", "update:toolcall_end", "update:done",
        "message_end:assistant", "tool_execution_start", "ui:confirm"]
    question = before[-1]
    assert question["title"] == "Run bash?" and question["message"] == "ls"
    assert agents.summary(sid)["pendingRequests"] == [question["id"]]
    ws.answer(question, confirmed=True)
    after = ws.until("agent_end")
    assert log.decisions() == [{"permission": "bash", "allowed": True, "answer": {
        "type": "extension_ui_response", "id": question["id"], "confirmed": True}}]
    ended = one(after, "tool_execution_end")
    assert ended["isError"] is False and ended["result"]["content"] == [{"type": "text", "text": "a.txt"}]
    assert assistant_texts(after)[-1] == "Done."

    ws.prompt("list the files again", id="p2")
    question = ws.until("extension_ui_request")[-1]
    ws.answer(question, confirmed=False)
    after = ws.until("agent_end")
    assert log.decisions()[-1] == {"permission": "bash", "allowed": False, "answer": {
        "type": "extension_ui_response", "id": question["id"], "confirmed": False}}
    ended = one(after, "tool_execution_end")
    assert ended["isError"] is True and ended["result"]["content"] == [{"type": "text", "text": "Denied from amarre"}]

    # Every record is byte for byte what pi wrote, but for `_seq` in front.
    agent_frames = [(t, r) for t, r in ws.frames if not r["type"].startswith("amarre.")]
    assert len(agent_frames) > 40
    for text, record in agent_frames:
        rest = {k: v for k, v in record.items() if k != "_seq"}
        assert text == '{"_seq":%d,' % record["_seq"] + compact(rest)[1:]
    assert not [r for _, r in agent_frames if str(r.get("id", "")).startswith("amarre-")]
    # The answers reached pi as the client wrote them.
    answers = [x for x in log.stdin() if x.get("type") == "extension_ui_response"]
    assert [x["confirmed"] for x in answers] == [True, False]


def test_pi_allow_tools_run_without_asking(sessions, agents):
    sid, log = sessions.create("pi", PI_SCENARIO)
    ws = sessions.connect(sid)
    ws.prompt("read the readme")
    records = ws.until("agent_end")
    assert not of(records, "extension_ui_request")
    ended = one(records, "tool_execution_end")
    assert ended["toolName"] == "read" and ended["isError"] is False
    assert log.entries("env")[0]["AMARRE_ALLOW_TOOLS"] == "read,grep"
    assert log.decisions() == []


def test_pi_select_question_of_the_gate_and_session_env_over_instance_env(sessions, agents):
    # The session env wins over the instance's AMARRE_GATE_PROMPT=confirm (allowed by the
    # instance's allowSessionEnv): the gate's default select.
    sid, log = sessions.create("pi", PI_SCENARIO, env={"AMARRE_GATE_PROMPT": "select"})
    ws = sessions.connect(sid)
    ws.prompt("list the files")
    question = ws.until("extension_ui_request")[-1]
    assert question["method"] == "select" and question["title"] == "Run bash?\nls"
    assert question["options"] == ["Allow once", "Allow bash for this session", "Deny"]
    assert question["toolName"] == "bash"
    assert agents.summary(sid)["pendingRequests"] == [question["id"]]
    ws.answer(question, value="Allow bash for this session")
    granted = ws.until("agent_end")
    assert one(granted, "session_permissions")["allowedTools"] == ["bash"]
    # Allowed for the session: the next call runs without asking (the host's pi adapter keeps
    # the grant, so it can be revoked, and tells the gate "Allow once" each time).
    ws.prompt("list the files again")
    records = ws.until("agent_end")
    assert not of(records, "extension_ui_request")
    assert one(records, "tool_execution_end")["isError"] is False
    assert [d["answer"].get("value") for d in log.decisions()] == ["Allow once", "Allow once"]
    # Revoked: asked again.
    ws.send({"type": "revoke_tool_permission", "toolName": "bash", "id": "rv"})
    ws.prompt("list the files once more")
    assert ws.until("extension_ui_request")[-1]["toolName"] == "bash"
    assert log.entries("env")[0]["AMARRE_GATE_PROMPT"] == "select"


# -- resume after a restart of the whole stack ---------------------------------------------

@pytest.fixture
def restartable(request):
    stack = Stack(env=ENV, instances=INSTANCES, label=f"{request.node.name}")
    stack.start()
    yield stack
    problems = stack.stop()  # conftest saves the logs of a failed test's stacks
    stack.remove()
    assert not problems, problems


def test_resume_after_a_stack_restart(restartable, tmp_path):
    s = restartable
    sessions = Sessions(s, tmp_path)
    claude_sid, claude_log = sessions.create("claude", CLAUDE_SCENARIO)
    pi_sid, pi_log = sessions.create("pi", PI_SCENARIO)

    c = sessions.connect(claude_sid)
    c.prompt("hello claude")
    c.until("agent_end")
    p = sessions.connect(pi_sid)
    p.prompt("hello pi")
    p.until("agent_end")
    p.send({"id": "s1", "type": "get_state"})
    session_file = p.until(lambda r: r.get("id") == "s1")[-1]["data"]["sessionFile"]
    assert session_file and Path(session_file).is_file()
    c.close()
    p.close()

    s.restart()

    claude_argv = claude_log.wait(lambda l: len(l.argv()) == 2 and l.argv(), "a second start")[1]
    assert option(claude_argv, "--resume") == "sess-e2e-claude"
    pi_argv = pi_log.wait(lambda l: len(l.argv()) == 2 and l.argv(), "a second start")[1]
    assert option(pi_argv, "--session") == session_file
    assert option(pi_argv, "-e") is not None  # still gated

    # Both conversations go on where they were.
    c = sessions.connect(claude_sid)
    c.prompt("hello again")
    records = c.until("agent_end")
    assert one(records, "system")["session_id"] == "sess-e2e-claude"
    assert assistant_texts(records) == ["You said: hello again"]
    p = sessions.connect(pi_sid)
    p.send({"id": "m1", "type": "get_messages"})
    messages = p.until(lambda r: r.get("id") == "m1")[-1]["data"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"][0]["text"] == "hello pi"
    sessions.cleanup()
