"""End-to-end tests of amarre-demo-agent, the scripted stand-in for `pi --mode rpc`.

The binary is run from $AMARRE_BIN_DIR (default /work/main/.build/debug) and driven through
its stdin/stdout. Every wait is on a line read with a deadline; nothing sleeps.
"""

import json
import os
import queue
import subprocess
import threading
import time

import pytest

BIN_DIR = os.environ.get("AMARRE_BIN_DIR", "/work/main/.build/debug")
BINARY = os.path.abspath(os.path.join(BIN_DIR, "amarre-demo-agent"))
DEADLINE = 10.0  # seconds any single wait may take before the test fails


class DemoAgent:
    """One running demo agent, with stdout and stderr read on threads into queues."""

    def __init__(self, speed="100", cwd=None, **env_overrides):
        env = dict(os.environ, AMARRE_DEMO_SPEED=str(speed), **env_overrides)
        self.proc = subprocess.Popen(
            [BINARY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd)
        self.lines = queue.Queue()
        self.errors = queue.Queue()
        self.seen = []  # every record read so far, in order
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.errors), daemon=True).start()

    @staticmethod
    def _pump(stream, into):
        for line in stream:  # binary mode: split on b"\n" only
            into.put(line)
        into.put(None)

    def send(self, command):
        data = command if isinstance(command, bytes) else (json.dumps(command) + "\n").encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next(self, deadline=None):
        """The next stdout record; fails if none comes before the deadline or stdout ends."""
        deadline = deadline or time.monotonic() + DEADLINE
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no record within the deadline; last seen: {self.seen[-3:]}")
        assert line is not None, f"stdout ended; last seen: {self.seen[-3:]}"
        assert line.endswith(b"\n"), "every record ends with a newline"
        record = json.loads(line)
        self.seen.append(record)
        return record

    def until(self, predicate):
        """Reads records up to and including the first one matching `predicate`; returns them all."""
        deadline = time.monotonic() + DEADLINE
        records = []
        while True:
            record = self.next(deadline)
            records.append(record)
            if predicate(record):
                return records

    def until_type(self, kind):
        return self.until(lambda r: r.get("type") == kind)

    def response(self, command_id):
        """Reads up to the response with this id; returns (records before it, the response)."""
        records = self.until(lambda r: r.get("type") == "response" and r.get("id") == command_id)
        return records[:-1], records[-1]

    def request(self, command):
        """Sends a command with an id and returns its response (records before it are kept in `seen`)."""
        _, response = self.response_to(command)
        return response

    def response_to(self, command):
        self.send(command)
        return self.response(command["id"])

    def stderr_line(self):
        try:
            line = self.errors.get(timeout=DEADLINE)
        except queue.Empty:
            pytest.fail("no stderr line within the deadline")
        assert line is not None, "stderr ended"
        return line.decode()

    def wait_exit(self):
        try:
            return self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail("the agent did not exit within the deadline")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()


@pytest.fixture
def agent():
    a = DemoAgent()
    yield a
    a.close()


@pytest.fixture
def slow_agent():
    """Real-time pacing, for tests that must act while a reply is still streaming."""
    a = DemoAgent(speed="1")
    yield a
    a.close()


def types(records):
    return [r["type"] for r in records]


def updates(records, kind=None):
    events = [r["assistantMessageEvent"] for r in records if r["type"] == "message_update"]
    return [e for e in events if kind is None or e["type"] == kind]


def text_of(message):
    return "".join(block["text"] for block in message["content"] if block["type"] == "text")


def run_prompt(agent, message, command_id="p1"):
    """Sends a prompt and reads through agent_end; returns the records after the response."""
    response = agent.request({"id": command_id, "type": "prompt", "message": message})
    assert response == {"id": command_id, "type": "response", "command": "prompt", "success": True}
    return agent.until_type("agent_end")


def until_confirm(agent, message):
    agent.send({"id": "p1", "type": "prompt", "message": message})
    return agent.until_type("extension_ui_request")


# --- state and errors ---------------------------------------------------------------------------


def test_get_state_describes_an_idle_demo_session(agent):
    response = agent.request({"id": "s1", "type": "get_state"})
    assert response["command"] == "get_state" and response["success"] is True
    data = response["data"]
    assert data["model"]["provider"] == "amarre"
    assert data["model"]["id"] == "demo-1"
    assert data["model"]["name"] == "Demo"
    assert data["thinkingLevel"] == "off"
    assert data["isStreaming"] is False
    assert data["isCompacting"] is False
    assert data["steeringMode"] == "one-at-a-time"
    assert data["followUpMode"] == "one-at-a-time"
    assert data["sessionFile"] is None
    assert data["sessionId"].startswith("demo-")
    assert data["autoCompactionEnabled"] is False
    assert data["messageCount"] == 0
    assert data["pendingMessageCount"] == 0


def test_session_id_is_deterministic_for_a_working_directory(tmp_path):
    ids = []
    for _ in range(2):
        a = DemoAgent(cwd=tmp_path)
        try:
            ids.append(a.request({"id": "s", "type": "get_state"})["data"]["sessionId"])
        finally:
            a.close()
    assert ids[0] == ids[1]


def test_a_line_that_is_not_json_gets_a_parse_error(agent):
    agent.send(b"this is not json\n")
    record = agent.next()
    assert record["type"] == "response"
    assert record["command"] == "parse"
    assert record["success"] is False
    assert record["error"]


def test_an_unknown_command_is_rejected_by_name(agent):
    response = agent.request({"id": 42, "type": "frobnicate"})
    assert response == {
        "id": 42, "type": "response", "command": "frobnicate", "success": False,
        "error": "Unknown command: frobnicate"}


def test_crlf_line_endings_and_blank_lines_are_accepted(agent):
    agent.send(b'\r\n\n{"id":"crlf","type":"get_state"}\r\n')
    record = agent.next()
    assert record["id"] == "crlf" and record["success"] is True


def test_an_overlong_line_is_skipped_with_a_parse_error():
    a = DemoAgent(AMARRE_DEMO_MAX_LINE_BYTES="64")
    try:
        a.send(b'{"id":"long","type":"get_state","padding":"' + b"x" * 200 + b'"}\n')
        record = a.next()
        assert record["command"] == "parse" and record["success"] is False
        assert a.request({"id": "after", "type": "get_state"})["success"] is True
    finally:
        a.close()


def test_stdin_eof_exits_with_status_0(agent):
    agent.proc.stdin.close()
    assert agent.wait_exit() == 0


# --- a plain prompt -------------------------------------------------------------------------------


def test_a_prompt_streams_pi_events_in_order_and_the_deltas_reassemble(agent):
    prompt = "Explain what a relay does, in two sentences."
    records = run_prompt(agent, prompt)
    assert types(records[:5]) == ["agent_start", "turn_start", "message_start", "message_end", "message_start"]
    user = records[2]["message"]
    assert user["role"] == "user"
    assert user["content"] == [{"type": "text", "text": prompt}]
    assert isinstance(user["timestamp"], int)
    assert records[4]["message"]["role"] == "assistant"

    kinds = [e["type"] for e in updates(records)]
    assert kinds[:2] == ["start", "text_start"]
    assert kinds[-2:] == ["text_end", "done"]
    deltas = updates(records, "text_delta")
    assert set(kinds[2:-2]) == {"text_delta"}
    assert 15 <= len(deltas) <= 25
    assert all(d["contentIndex"] == 0 for d in deltas)

    assert types(records[-3:]) == ["message_end", "turn_end", "agent_end"]
    final = records[-3]["message"]
    text = "".join(d["delta"] for d in deltas)
    assert text == text_of(final)
    assert text == updates(records, "text_end")[0]["content"]
    assert prompt in text, "the reply echoes the prompt"
    assert "\n- " in text and "```" in text, "the reply has a list and a code block"
    # Each update carries the message so far.
    last_delta_update = [r for r in records if r["type"] == "message_update"][-3]
    assert text_of(last_delta_update["message"]) == text

    assert final["stopReason"] == "stop"
    assert final["provider"] == "amarre" and final["model"] == "demo-1"
    usage = final["usage"]
    assert usage["input"] > 0 and usage["output"] > 0
    assert usage["cost"]["total"] > 0
    assert records[-2]["message"] == final and records[-2]["toolResults"] == []
    assert records[-1]["messages"] == [user, final]

    messages = agent.request({"id": "m", "type": "get_messages"})["data"]["messages"]
    assert messages == [user, final]
    state = agent.request({"id": "s", "type": "get_state"})["data"]
    assert state["messageCount"] == 2 and state["isStreaming"] is False


def test_the_same_prompt_always_gets_the_same_reply():
    replies = []
    for _ in range(2):
        a = DemoAgent()
        try:
            records = run_prompt(a, "Hello, demo!")
            replies.append([d["delta"] for d in updates(records, "text_delta")])
        finally:
            a.close()
    assert replies[0] == replies[1]


def test_at_normal_speed_the_reply_streams_over_about_a_second(slow_agent):
    slow_agent.send({"id": "p1", "type": "prompt", "message": "Hello"})
    slow_agent.until(lambda r: r.get("assistantMessageEvent", {}).get("type") == "text_delta")
    started = time.monotonic()
    slow_agent.until(lambda r: r.get("assistantMessageEvent", {}).get("type") == "text_end")
    assert 0.5 <= time.monotonic() - started <= 5.0


# --- tool calls and the permission gate -------------------------------------------------------------


def test_a_tool_call_asks_permission_like_pis_gate_extension(agent):
    records = until_confirm(agent, "Please run ls in this folder")
    tool_events = updates(records)
    kinds = [e["type"] for e in tool_events]
    assert "toolcall_start" in kinds and "toolcall_delta" in kinds
    end = updates(records, "toolcall_end")[0]
    call = end["toolCall"]
    assert call["type"] == "toolCall"
    assert call["id"].startswith("call_")
    assert call["name"] == "bash"
    assert call["arguments"] == {"command": "ls -la"}
    streamed = "".join(e["delta"] for e in updates(records, "toolcall_delta"))
    assert json.loads(streamed) == call["arguments"]

    assistant_end = [r for r in records if r["type"] == "message_end"][-1]["message"]
    assert assistant_end["stopReason"] == "toolUse"
    assert assistant_end["content"][-1] == call

    start = [r for r in records if r["type"] == "tool_execution_start"][0]
    assert start == {"type": "tool_execution_start", "toolCallId": call["id"], "toolName": "bash",
                     "args": call["arguments"]}
    request = records[-1]
    assert request["method"] == "confirm"
    assert request["title"] == "Run bash?"
    assert request["message"] == json.dumps(call["arguments"], separators=(",", ":"))
    assert request["id"]

    state = agent.request({"id": "s", "type": "get_state"})["data"]
    assert state["isStreaming"] is True


def test_allowing_a_tool_call_reports_a_successful_result_and_a_summary(agent):
    request = until_confirm(agent, "run `make check` for me")[-1]
    agent.send({"type": "extension_ui_response", "id": request["id"], "confirmed": True})
    records = agent.until_type("agent_end")
    end = [r for r in records if r["type"] == "tool_execution_end"][0]
    assert end["isError"] is False
    assert end["toolName"] == "bash"
    assert "make check" in end["result"]["content"][0]["text"]
    assert "tool_execution_update" in types(records)

    turn_ends = [r for r in agent.seen if r["type"] == "turn_end"]
    assert len(turn_ends) == 2, "the tool turn, then the summary turn"
    results = turn_ends[0]["toolResults"]
    assert len(results) == 1
    assert results[0]["role"] == "toolResult" and results[0]["isError"] is False
    assert results[0]["toolCallId"] == end["toolCallId"]
    summary = turn_ends[1]["message"]
    assert summary["stopReason"] == "stop"
    assert "make check" in text_of(summary)
    roles = [m["role"] for m in records[-1]["messages"]]
    assert roles == ["user", "assistant", "toolResult", "assistant"]


def test_denying_a_tool_call_blocks_it(agent):
    request = until_confirm(agent, "Edit notes.md please")[-1]
    assert request["title"] == "Run edit?"
    agent.send({"type": "extension_ui_response", "id": request["id"], "confirmed": False})
    records = agent.until_type("agent_end")
    end = [r for r in records if r["type"] == "tool_execution_end"][0]
    assert end["isError"] is True
    assert end["toolName"] == "edit"
    assert end["result"]["content"] == [{"type": "text", "text": "Blocked by user"}]
    final = [r for r in records if r["type"] == "message_end"][-1]["message"]
    assert final["role"] == "assistant" and "won't" in text_of(final)


def test_answers_for_other_ids_are_ignored_and_cancelled_means_no(agent):
    request = until_confirm(agent, "delete build.log")[-1]
    agent.send({"type": "extension_ui_response", "id": "not-" + request["id"], "confirmed": True})
    agent.send({"type": "extension_ui_response", "id": request["id"], "value": "yes"})
    before, state = agent.response_to({"id": "barrier", "type": "get_state"})
    assert before == [], "nothing happens for a wrong id or a value answer"
    assert state["data"]["isStreaming"] is True
    agent.send({"type": "extension_ui_response", "id": request["id"], "cancelled": True})
    records = agent.until_type("agent_end")
    end = [r for r in records if r["type"] == "tool_execution_end"][0]
    assert end["isError"] is True


# --- abort, busy, queues ----------------------------------------------------------------------------


def test_abort_stops_a_stream_promptly(slow_agent):
    slow_agent.send({"id": "p1", "type": "prompt", "message": "Tell me a long story"})
    slow_agent.until(lambda r: r.get("assistantMessageEvent", {}).get("type") == "text_delta")
    before, response = slow_agent.response_to({"id": "a1", "type": "abort"})
    assert response["success"] is True
    tail = [r for r in before if r["type"] != "message_update"
            or r["assistantMessageEvent"]["type"] not in ("text_delta",)]
    assert types(tail[-4:]) == ["message_update", "message_end", "turn_end", "agent_end"]
    assert tail[-4]["assistantMessageEvent"] == {"type": "error", "reason": "aborted"}
    assert tail[-3]["message"]["stopReason"] == "aborted"
    after, state = slow_agent.response_to({"id": "s", "type": "get_state"})
    assert after == [], "nothing streams after the abort"
    assert state["data"]["isStreaming"] is False


def test_abort_before_the_first_token_still_closes_the_turn():
    a = DemoAgent(speed="0.1")  # a 3 s pause before the assistant starts
    try:
        a.send({"id": "p1", "type": "prompt", "message": "Hello"})
        a.until_type("message_end")  # the user message
        before, response = a.response_to({"id": "a1", "type": "abort"})
        assert response["success"] is True
        assert types(before) == ["message_start", "message_update", "message_end", "turn_end", "agent_end"]
        aborted = before[2]["message"]
        assert aborted["role"] == "assistant" and aborted["stopReason"] == "aborted"
        assert before[3]["message"] == aborted
    finally:
        a.close()


def test_abort_abandons_a_pending_permission_request(agent):
    until_confirm(agent, "run the tests")
    before, response = agent.response_to({"id": "a1", "type": "abort"})
    assert response["success"] is True
    end = [r for r in before if r["type"] == "tool_execution_end"][0]
    assert end["isError"] is True
    assert types(before)[-2:] == ["turn_end", "agent_end"]


def test_a_prompt_while_streaming_is_rejected_with_a_hint(slow_agent):
    slow_agent.send({"id": "p1", "type": "prompt", "message": "Hello"})
    slow_agent.response("p1")
    response = slow_agent.request({"id": "p2", "type": "prompt", "message": "And another thing"})
    assert response["success"] is False
    assert "already" in response["error"]
    assert "steer" in response["error"] and "follow_up" in response["error"]


def test_a_follow_up_is_queued_and_runs_as_the_next_turn(slow_agent):
    slow_agent.send({"id": "p1", "type": "prompt", "message": "First question"})
    slow_agent.response("p1")
    before, response = slow_agent.response_to({"id": "f1", "type": "follow_up", "message": "Second question"})
    assert response["success"] is True and response["command"] == "follow_up"
    assert before[-1] == {"type": "queue_update", "steering": [], "followUp": ["Second question"]}
    state = slow_agent.request({"id": "s", "type": "get_state"})["data"]
    assert state["pendingMessageCount"] == 1

    records = slow_agent.until_type("agent_end")
    kinds = types(slow_agent.seen)
    assert kinds.count("agent_start") == 1 and kinds.count("turn_start") == 2
    first_end = kinds.index("turn_end")
    assert kinds[first_end + 1:first_end + 3] == ["queue_update", "turn_start"]
    dequeued = slow_agent.seen[first_end + 1]
    assert dequeued["followUp"] == []
    user = slow_agent.seen[first_end + 3]["message"]
    assert user["role"] == "user" and user["content"][0]["text"] == "Second question"
    roles = [m["role"] for m in records[-1]["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert "Second question" in text_of(records[-1]["messages"][-1])


def test_steering_is_delivered_before_queued_follow_ups(slow_agent):
    slow_agent.send({"id": "p1", "type": "prompt", "message": "First"})
    slow_agent.response("p1")
    queued = slow_agent.request(
        {"id": "f1", "type": "prompt", "message": "Later", "streamingBehavior": "followUp"})
    assert queued["success"] is True
    assert slow_agent.request({"id": "s1", "type": "steer", "message": "Now"})["success"] is True
    assert slow_agent.seen[-2] == {"type": "queue_update", "steering": ["Now"], "followUp": ["Later"]}
    records = slow_agent.until_type("agent_end")
    users = [m["content"][0]["text"] for m in records[-1]["messages"] if m["role"] == "user"]
    assert users == ["First", "Now", "Later"]


def test_steer_when_idle_behaves_like_a_prompt(agent):
    response = agent.request({"id": "st", "type": "steer", "message": "Go"})
    assert response == {"id": "st", "type": "response", "command": "steer", "success": True}
    records = agent.until_type("agent_end")
    assert records[0]["type"] == "agent_start"


# --- relay test hooks -------------------------------------------------------------------------------


def test_crash_prints_a_last_line_then_exits_with_status_3(agent):
    response = agent.request({"id": "c", "type": "prompt", "message": "/crash"})
    assert response["success"] is True
    last = agent.next()
    assert last["type"] == "extension_error"
    assert agent.wait_exit() == 3
    assert agent.lines.get(timeout=DEADLINE) is None, "nothing after the last line"


def test_flood_sends_n_small_updates_then_ends(agent):
    records = run_prompt(agent, "/flood 2000")
    flood = [r for r in records if r["type"] == "message_update"
             and r["assistantMessageEvent"]["type"] == "text_delta"]
    assert len(flood) == 2000
    assert flood[0]["assistantMessageEvent"]["delta"] == "1 "
    assert flood[-1]["assistantMessageEvent"]["delta"] == "2000 "
    assert records[-1]["type"] == "agent_end"


def test_big_sends_exactly_one_record_with_n_bytes_of_text(agent):
    records = run_prompt(agent, "/big 300000")
    big = [r for r in records if len(json.dumps(r)) > 100_000]
    assert len(big) == 1
    assert len(big[0]["assistantMessageEvent"]["delta"].encode()) == 300_000


def test_stderr_writes_a_line_to_stderr(agent):
    response = agent.request({"id": "e", "type": "prompt", "message": "/stderr"})
    assert response["success"] is True
    assert "stderr" in agent.stderr_line()
