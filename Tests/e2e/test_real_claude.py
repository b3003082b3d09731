"""claude-code end to end with Anthropic's real `claude` CLI (the one claude-agent-sdk bundles)
behind amarre, talking to a scripted fake of the Messages API (fakeanthropic.py).

Each test scripts the model's answers, drives the session through WebSocket clients, and
checks both sides: the pi-shaped records clients get, and what the CLI sent to the "model"
(the fake records every request: user texts, images, tool results, the model). Waits are on
records, on the fake's requests or on process state, with deadlines; nothing sleeps to wait.
Skipped (only) when claude-agent-sdk is not installed.
"""
from __future__ import annotations

import glob
import os
import signal
from pathlib import Path

import pytest

from conftest import is_alive, wait_for
from fakeanthropic import ApiError, Hold, Reply, Text, Thinking, ToolUse, tool_result_text
from realclaude import (  # noqa: F401  (fixtures are used by name)
    TIMEOUT, ClaudeSessions, RecordClient, assistant_messages, assistant_texts, claude, claude_stack, deltas,
    describe, fake, is_approval, make_stack, of, one, user_texts,
)

# A 1×1 PNG.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def touch(name: str) -> ToolUse:
    """A Bash call claude asks permission for (`echo` would be allowed as read-only)."""
    return ToolUse("Bash", {"command": f"touch {name}", "description": f"Create {name}"})


def text_delta(r: dict) -> bool:
    return r.get("type") == "message_update" and r["assistantMessageEvent"]["type"] == "text_delta"


def until_approval(ws: RecordClient) -> list[dict]:
    """Records up to an approval card; fails at once if the run ends without one."""
    records = ws.until(lambda r: is_approval(r) or r.get("type") == "agent_end")
    assert is_approval(records[-1]), f"the run ended without asking: {[describe(r) for r in records]}"
    return records


def claude_modes(records: list[dict]) -> list[str]:
    """The permission modes claude reported itself (its `system` records pass through)."""
    return [r["permissionMode"] for r in of(records, "system") if "permissionMode" in r]


def argv_of(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def init_session_id(records: list[dict]) -> str:
    inits = [r for r in of(records, "system") if r.get("subtype") == "init"]
    assert inits, [describe(r) for r in records]
    return inits[-1]["session_id"]


def transcript_has(home: Path, session_id: str, needle: str) -> bool:
    """claude has written `needle` to the session's transcript (what --resume reads)."""
    for path in glob.glob(str(home / ".claude" / "projects" / "*" / f"{session_id}.jsonl")):
        if needle in Path(path).read_text(errors="replace"):
            return True
    return False


def result_of(call, tool_id: str) -> dict:
    found = [b for b in call.tool_results() if b.get("tool_use_id") == tool_id]
    assert len(found) == 1, f"{call}: tool results {call.tool_results()}"
    return found[0]


# -- streaming ---------------------------------------------------------------------------------

def test_prompt_streams_the_answer(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    fake.script(Reply(Thinking("The user greets me."), Text("Hello from the fake model.", chunks=4)))
    ws.prompt("hello there", id="p1")
    records = ws.until("agent_end")

    assert one(records, "response", id="p1")["success"] is True
    kinds = [r["type"] for r in records]
    assert kinds.index("agent_start") < kinds.index("turn_start") < kinds.index("message_start")
    assert user_texts(records) == ["hello there"]
    assert "".join(deltas(records, "thinking_delta")) == "The user greets me."
    text = deltas(records, "text_delta")
    assert len(text) == 4 and "".join(text) == "Hello from the fake model."
    (message,) = assistant_messages(records)
    assert message["stopReason"] == "stop"
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    end = records[-1]
    assert [m["role"] for m in end["messages"]] == ["user", "assistant"]
    assert "stopReason" not in end
    assert end["usage"]["output"] > 0

    call = fake.wait_call(what="the conversation call")
    assert call.path.startswith("/v1/messages") and call.body["stream"] is True
    assert call.user_texts()[-1] == "hello there"
    assert len(fake.conversation()) == 1


# -- tool approvals ----------------------------------------------------------------------------

def test_tool_approval_allow_runs_the_tool_and_its_result_reaches_the_model(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    tool = touch("allowed.txt")
    fake.script(Reply(Text("Creating it."), tool), Reply(Text("Created.")))
    ws.prompt("create allowed.txt")
    before = until_approval(ws)
    card = before[-1]
    assert card["title"] == "Allow Bash?" and card["toolName"] == "Bash"
    assert "touch allowed.txt" in card["message"]
    started = one(before, "tool_execution_start")
    assert started["toolName"] == "Bash" and started["args"]["command"] == "touch allowed.txt"
    assert claude.stack.summary(sid)["pendingRequests"] == [card["id"]]
    # Never allowed without an answer.
    assert not (claude.cwd() / "allowed.txt").exists()
    assert len(fake.conversation()) == 1

    ws.answer(card, confirmed=True)
    after = ws.until("agent_end")
    resolved = one(after, "amarre.request_resolved")
    assert resolved["id"] == card["id"] and resolved["response"]["confirmed"] is True
    ended = one(after, "tool_execution_end")
    assert ended["toolCallId"] == tool.id and ended["toolName"] == "Bash" and ended["isError"] is False
    assert assistant_texts(after)[-1] == "Created."
    assert (claude.cwd() / "allowed.txt").exists()
    call = fake.wait_call(lambda c: c.tool_results(), what="the call with the tool result")
    assert result_of(call, tool.id).get("is_error") is not True
    assert claude.stack.summary(sid)["pendingRequests"] == []


def test_tool_approval_deny_refuses_the_tool(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    tool = touch("denied.txt")
    fake.script(Reply(tool), Reply(Text("As you wish.")))
    ws.prompt("create denied.txt")
    card = until_approval(ws)[-1]
    ws.answer(card, confirmed=False)
    after = ws.until("agent_end")
    ended = one(after, "tool_execution_end")
    assert ended["isError"] is True
    assert not (claude.cwd() / "denied.txt").exists()
    call = fake.wait_call(lambda c: c.tool_results(), what="the call with the tool result")
    result = result_of(call, tool.id)
    assert result.get("is_error") is True
    assert "Denied from amarre" in tool_result_text(result)


def test_two_clients_answer_the_same_approval_first_wins(claude, fake):
    sid = claude.create()
    a = claude.connect(sid)
    b = claude.connect(sid)
    tool = touch("twice.txt")
    fake.script(Reply(tool), Reply(Text("Done.")))
    a.prompt("create twice.txt")
    card = until_approval(a)[-1]
    assert until_approval(b)[-1]["id"] == card["id"]

    a.answer(card, confirmed=True)
    resolved = b.until("amarre.request_resolved")[-1]
    assert resolved["id"] == card["id"] and resolved["response"]["confirmed"] is True
    b.answer(card, confirmed=False)
    late = b.until("amarre.error")[-1]
    assert late["error"] == "already_answered" and late["id"] == card["id"]
    a.until("agent_end")
    if not of(b.records, "agent_end"):
        b.until("agent_end")
    assert (claude.cwd() / "twice.txt").exists()
    calls = [c for c in fake.conversation() if c.tool_results()]
    assert len(calls) == 1 and result_of(calls[0], tool.id).get("is_error") is not True
    assert not of(a.records, "amarre.error")


def test_allow_for_the_session_then_revoke(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    first, second, third = touch("one.txt"), ToolUse("Bash", {"command": "mkdir two"}), touch("three.txt")
    fake.script(Reply(first), Reply(Text("One.")))
    ws.prompt("create one.txt")
    card = until_approval(ws)[-1]
    assert card["toolName"] == "Bash"
    ws.send({"type": "extension_ui_response", "id": card["id"], "confirmed": True, "scope": "session"})
    records = ws.until("agent_end")
    perms = of(records, "session_permissions")
    assert perms and perms[-1]["allowedTools"] == ["Bash"]
    assert one(records, "tool_execution_end")["isError"] is False
    assert "Bash" in ws.state()["allowedTools"]

    # Another Bash command: allowed without a card.
    fake.script(Reply(second), Reply(Text("Two.")))
    ws.prompt("make directory two")
    records = ws.until("agent_end")
    assert not of(records, "extension_ui_request"), [describe(r) for r in records]
    assert one(records, "tool_execution_end")["isError"] is False
    assert (claude.cwd() / "two").is_dir()
    call = fake.wait_call(lambda c: any(b.get("tool_use_id") == second.id for b in c.tool_results()),
                          what="the result of the second Bash call")
    assert result_of(call, second.id).get("is_error") is not True

    # Revoked: asked again.
    records, response = ws.command("revoke_tool_permission", toolName="Bash")
    assert response["command"] == "revoke_tool_permission" and response["success"] is True
    if not of(records, "session_permissions"):
        records += ws.until("session_permissions")
    assert of(records, "session_permissions")[-1]["allowedTools"] == []
    assert "Bash" not in ws.state()["allowedTools"]
    fake.script(Reply(third), Reply(Text("Three.")))
    ws.prompt("create three.txt")
    card = until_approval(ws)[-1]
    assert card["toolName"] == "Bash"
    ws.answer(card, confirmed=True)
    ws.until("agent_end")
    assert (claude.cwd() / "three.txt").exists()
    # Nothing left to revoke.
    _, response = ws.command("revoke_tool_permission", toolName="Bash")
    assert response["success"] is False and response.get("error"), response


def test_allow_for_the_session_covers_only_that_tool(claude, fake):
    """Allowing Bash "for this session" must not widen claude's permissions beyond Bash: the
    real CLI's permission_suggestions for a `touch` include `setMode acceptEdits` (and
    `addDirectories`), which, applied, let every later file edit through unasked."""
    sid = claude.create()
    ws = claude.connect(sid)
    fake.script(Reply(touch("one.txt")), Reply(Text("One.")))
    ws.prompt("create one.txt")
    card = until_approval(ws)[-1]
    ws.send({"type": "extension_ui_response", "id": card["id"], "confirmed": True, "scope": "session"})
    ws.until("agent_end")

    written = claude.cwd() / "written.txt"
    fake.script(Reply(ToolUse("Write", {"file_path": str(written), "content": "hello\n"})), Reply(Text("Well.")))
    ws.prompt("write a file")
    card = until_approval(ws)[-1]
    assert card["toolName"] == "Write"
    ws.answer(card, confirmed=False)
    ws.until("agent_end")
    assert not written.exists()
    assert set(claude_modes(ws.records)) <= {"default"}, claude_modes(ws.records)
    assert ws.state()["permissionMode"] == "default"


# -- abort -------------------------------------------------------------------------------------

def test_abort_mid_stream_ends_the_cut_message_as_aborted(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    hold = Hold("Working on it", Reply(Text(" and never finishing")))
    fake.script(hold, Reply(Text("Back again.")))
    ws.prompt("take your time", id="p1")
    ws.until(text_delta)
    assert hold.started.is_set()

    ws.send({"type": "abort", "id": "a1"})
    records = ws.until("agent_end")
    assert one(records, "response", id="a1")["success"] is True
    assert hold.disconnected.wait(TIMEOUT), "claude did not close the cut stream"
    cut = assistant_messages(records)
    assert cut, [describe(r) for r in records]
    assert "".join(b.get("text", "") for b in cut[-1]["content"]) == "Working on it"
    assert cut[-1]["stopReason"] == "aborted", cut[-1]
    assert records[-1]["stopReason"] == "aborted"
    assert not ws.state()["isStreaming"]

    # The session goes on.
    ws.prompt("are you there?")
    again = ws.until("agent_end")
    assert assistant_texts(again) == ["Back again."] and "stopReason" not in again[-1]
    call = fake.conversation()[-1]
    assert call.mentions("are you there?") and call.mentions("take your time")


def test_abort_with_an_approval_open_withdraws_the_card(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    tool = touch("never.txt")
    fake.script(Reply(Text("Let me."), tool), Reply(Text("Stopped.")))
    ws.prompt("create never.txt")
    card = until_approval(ws)[-1]
    assert claude.stack.summary(sid)["pendingRequests"] == [card["id"]]

    ws.send({"type": "abort", "id": "a1"})
    records = ws.until("agent_end")
    assert [w["id"] for w in of(records, "amarre.request_withdrawn")] == [card["id"]]
    assert one(records, "response", id="a1")["success"] is True
    assert records[-1]["stopReason"] == "aborted"
    assert one(records, "tool_execution_end")["isError"] is True
    assert claude.stack.summary(sid)["pendingRequests"] == []

    # A late answer is refused and never runs the tool.
    ws.answer(card, confirmed=True)
    late = ws.until("amarre.error")[-1]
    assert late["error"] == "already_answered" and late["id"] == card["id"]
    ws.prompt("never mind")
    ws.until("agent_end")
    assert not (claude.cwd() / "never.txt").exists()
    result = result_of(fake.conversation()[-1], tool.id)
    assert result.get("is_error") is True


# -- queueing and steering -----------------------------------------------------------------------

def test_follow_up_while_busy_is_queued_and_runs_after(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    hold = Hold("First answer", Reply(Text(", complete.")))
    fake.script(hold, Reply(Text("Second answer.")))
    ws.prompt("first question", id="p1")
    ws.until(text_delta)

    ws.prompt("second question", id="f1", type="follow_up")
    queued = ws.until("queue_update")
    assert queued[-1]["followUp"] == ["second question"]
    assert one(queued, "response", id="f1")["success"] is True
    assert ws.state()["pendingMessageCount"] == 1
    # Nothing of it reached claude: still the one call, held.
    assert len(fake.conversation()) == 1

    hold.release()
    first = ws.until("agent_end")
    assert assistant_texts(first) == ["First answer, complete."]
    second = ws.until("agent_end")
    assert user_texts(second) == ["second question"]
    assert assistant_texts(second) == ["Second answer."]
    assert [r["followUp"] for r in of(first + second, "queue_update")] == [[]]
    calls = fake.conversation()
    assert len(calls) == 2
    assert not calls[0].mentions("second question")
    assert calls[1].user_texts()[-1] == "second question" and calls[1].mentions("First answer, complete.")


def test_steer_is_folded_into_the_running_turn(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    tool = touch("steered.txt")
    fake.script(Reply(Text("Creating."), tool), Reply(Text("Done, quickly.")))
    ws.prompt("create steered.txt", id="p1")
    card = until_approval(ws)[-1]

    ws.prompt("and be quick about it", id="s1", type="steer")
    steered = ws.until(lambda r: r.get("type") == "response" and r.get("id") == "s1")
    assert steered[-1]["success"] is True
    assert not of(steered, "queue_update")
    ws.answer(card, confirmed=True)
    records = ws.until("agent_end")
    assert assistant_texts(records)[-1] == "Done, quickly."
    assert not of(records, "agent_start")  # the same run
    call = fake.wait_call(lambda c: c.tool_results(), what="the call after the tool")
    assert call.mentions("and be quick about it")
    assert result_of(call, tool.id).get("is_error") is not True
    assert not ws.state()["isStreaming"]
    assert len(fake.conversation()) == 2


# -- model and permission mode -----------------------------------------------------------------

def test_set_model_is_used_by_the_next_request(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    fake.script(Reply(Text("Big.")))
    ws.prompt("hi")
    ws.until("agent_end")
    assert fake.conversation()[-1].model != "claude-fake-small-1"

    _, response = ws.command("set_model", provider="anthropic", modelId="claude-fake-small-1")
    assert response["success"] is True, response
    assert ws.state()["model"]["id"] == "claude-fake-small-1"
    after = fake.last_n()
    fake.script(Reply(Text("Small.")))
    ws.prompt("hi again")
    records = ws.until("agent_end")
    assert assistant_texts(records) == ["Small."]
    call = fake.wait_call(after=after, what="the next conversation call")
    assert call.model == "claude-fake-small-1"


def test_set_model_that_claude_refuses_is_a_failed_response(claude, fake):
    # claude checks a new model with a one-token, non-streamed call first; the fake says the
    # model does not exist, so claude refuses (`control_response` error "Model '…' not found").
    fake.aux = lambda call: (ApiError(404, "not_found_error", f"model: {call.model}")
                             if call.model == "claude-nope-9" else Reply(Text("OK")))
    sid = claude.create()
    ws = claude.connect(sid)
    before = ws.state()["model"]
    _, response = ws.command("set_model", provider="anthropic", modelId="claude-nope-9")
    assert response["success"] is False and "claude-nope-9" in response.get("error", ""), response
    check = fake.wait_call(lambda c: c.model == "claude-nope-9", kind="aux", what="claude's check of the model")
    assert check.body.get("stream") is not True
    assert ws.state()["model"] == before
    fake.script(Reply(Text("Same model.")))
    ws.prompt("hi")
    ws.until("agent_end")
    assert fake.conversation()[-1].model != "claude-nope-9"


def test_set_permission_mode_plan(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    state = ws.state()
    assert state["permissionMode"] == "default"
    assert state["permissionModes"] == ["default", "acceptEdits", "plan"]
    _, response = ws.command("set_permission_mode", mode="plan")
    assert response["command"] == "set_permission_mode" and response["success"] is True, response
    assert ws.state()["permissionMode"] == "plan"
    _, response = ws.command("set_permission_mode", mode="default")
    assert response["success"] is True, response
    assert ws.state()["permissionMode"] == "default"


def test_bypass_permissions_is_refused_unless_the_instance_allows_it(claude, fake):
    sid = claude.create("claude")
    ws = claude.connect(sid)
    _, response = ws.command("set_permission_mode", mode="bypassPermissions")
    assert response["success"] is False and response.get("error"), response
    state = ws.state()
    assert state["permissionMode"] == "default" and "bypassPermissions" not in state["permissionModes"]

    sid = claude.create("claude-bypass")
    ws = claude.connect(sid)
    assert "bypassPermissions" in ws.state()["permissionModes"]
    _, response = ws.command("set_permission_mode", mode="bypassPermissions")
    assert response["success"] is True, response
    assert ws.state()["permissionMode"] == "bypassPermissions"
    tool = touch("bypassed.txt")
    fake.script(Reply(tool), Reply(Text("Done without asking.")))
    ws.prompt("create bypassed.txt")
    records = ws.until("agent_end")
    assert not of(records, "extension_ui_request"), [describe(r) for r in records]
    assert (claude.cwd(1) / "bypassed.txt").exists()


# -- what claude offers ------------------------------------------------------------------------

def test_commands_and_models_come_from_claude(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    _, response = ws.command("get_commands")
    assert response["success"] is True, response
    names = [c["name"] for c in response["data"]["commands"]]
    assert "compact" in names and not [n for n in names if n.startswith("/")]
    _, response = ws.command("get_available_models")
    assert response["success"] is True, response
    models = response["data"]["models"]
    assert models and all(m["provider"] == "anthropic" and isinstance(m["id"], str) and m["id"] for m in models)


# -- images ------------------------------------------------------------------------------------

def test_prompt_images_reach_the_model_as_image_blocks(claude, fake):
    sid = claude.create()
    ws = claude.connect(sid)
    fake.script(Reply(Text("A single pixel.")))
    ws.prompt("what is in this picture?", images=[{"type": "image", "data": PNG, "mimeType": "image/png"}])
    records = ws.until("agent_end")
    user = [r["message"] for r in of(records, "message_end") if r["message"]["role"] == "user"][0]
    assert {"type": "image", "data": PNG, "mimeType": "image/png"} in user["content"]

    call = fake.wait_call(what="the conversation call")
    images = call.images()
    assert [i["source"] for i in images] == [{"type": "base64", "media_type": "image/png", "data": PNG}]
    blocks = call.last_user_blocks()
    types = [(b["type"], b.get("text")) for b in blocks]
    image_at = next(i for i, b in enumerate(blocks) if b["type"] == "image")
    text_at = next(i for i, b in enumerate(blocks) if b["type"] == "text" and "what is in this picture?" in b["text"])
    assert image_at < text_at, types


# -- crash, restart, resume --------------------------------------------------------------------

def _converse_and_wait_for_transcript(claude: ClaudeSessions, fake, ws: RecordClient) -> str:
    fake.script(Reply(Text("I will remember 4242.")))
    ws.prompt("remember the number 4242")
    first = ws.until("agent_end")
    session_id = init_session_id(first)
    wait_for(lambda: transcript_has(claude.home, session_id, "I will remember 4242."), timeout=TIMEOUT,
             what="claude's transcript to hold the answer")
    return session_id


def _check_resumed(claude: ClaudeSessions, fake, sid: str, session_id: str, old_pid: int) -> None:
    pid = wait_for(lambda: (p := claude.claude_pid(sid)) != old_pid and p, what="a new claude process")
    argv = argv_of(pid)
    assert option(argv, "--resume") == session_id, argv
    ws = claude.connect(sid)
    state = ws.state()  # before anything new happens: what the restarted adapter knows
    fake.script(Reply(Text("It was 4242.")))
    after = fake.last_n()
    ws.prompt("which number was it?")
    records = ws.until("agent_end")
    assert assistant_texts(records) == ["It was 4242."]
    assert init_session_id(records) == session_id
    call = fake.wait_call(after=after, what="the conversation call after the resume")
    assert call.mentions("remember the number 4242") and call.mentions("I will remember 4242.")
    assert call.user_texts()[-1] == "which number was it?"
    assert state["sessionId"] == session_id, state
    assert state["messageCount"] > 0, state
    later = ws.state()
    assert later["sessionId"] == session_id and later["messageCount"] >= state["messageCount"] + 2, later


def test_crash_then_restart_resumes_the_conversation(claude, fake):
    stack = claude.stack
    sid = claude.create()
    ws = claude.connect(sid)
    session_id = _converse_and_wait_for_transcript(claude, fake, ws)
    pid = claude.claude_pid(sid)

    os.kill(pid, signal.SIGKILL)
    assert ws.expect_close() == 1011
    stack.wait_status(sid, "crashed")
    r = stack.post(f"/sessions/{sid}/restart")
    assert r.status == 200 and r.json["status"] == "running", r
    _check_resumed(claude, fake, sid, session_id, pid)


@pytest.fixture
def private_claude(fake, tmp_path, request):
    stack = make_stack(tmp_path / "stack", request.node.name).start()
    sessions = ClaudeSessions(stack, fake, tmp_path)
    yield sessions
    try:
        sessions.cleanup()
    finally:
        problems = stack.stop()
        stack.remove()
        assert not problems, problems


def test_host_restart_resumes_the_conversation(private_claude, fake):
    claude = private_claude
    stack = claude.stack
    sid = claude.create()
    ws = claude.connect(sid)
    session_id = _converse_and_wait_for_transcript(claude, fake, ws)
    # The store has what the clients saw (it commits within 50 ms; a SIGKILL loses the rest).
    wait_for(lambda: any(r.get("type") == "agent_end"
                         for r in stack.get(f"/sessions/{sid}/events?after=0&limit=1000").json),
             what="agent_end in the store")
    pid = claude.claude_pid(sid)
    ws.close()

    stack.kill_host(signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), what="claude to die with the host")
    stack.restart_host()
    assert stack.summary(sid)["status"] == "running"
    _check_resumed(claude, fake, sid, session_id, pid)
