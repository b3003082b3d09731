"""The web client's session view, end to end: real nginx + amarre-api + amarre-host + Chromium.

Streaming, approvals (one device and two), crash and restart, reconnect without loss,
agent text that looks like HTML, history paging, steering, attention while hidden.
"""
from __future__ import annotations

import sys

import pytest

from conftest import command_instance, session_maker, stack_fixture
from web_helpers import browser, pages, session_path  # noqa: F401  (fixtures)

# An agent whose every answer is hostile markup in every field the client shows.
EVIL_AGENT = r'''
import json, sys
EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if cmd.get("type") == "extension_ui_response":
        out({"type": "agent_end", "messages": []})  # the run ends once its question is answered
        continue
    if cmd.get("type") != "prompt":
        continue
    user = {"role": "user", "content": [{"type": "text", "text": cmd.get("message", "")}], "timestamp": 1}
    text = ("Evil: " + EVIL + "\n\n[click me](javascript:window.__pwned=3) and ![pic](javascript:window.__pwned=5)"
            "\n\n```html\n" + EVIL + "\n```\n")
    done = {"role": "assistant", "content": [{"type": "text", "text": text}], "timestamp": 2,
            "usage": {"input": 1, "output": 1, "cost": {"total": 0.001}}}
    out({"type": "agent_start"})
    out({"type": "message_start", "message": user})
    out({"type": "message_end", "message": user})
    out({"type": "message_start", "message": {"role": "assistant", "content": [], "timestamp": 2}})
    out({"type": "message_update", "assistantMessageEvent": {"type": "text_delta", "contentIndex": 0, "delta": text},
         "message": done})
    out({"type": "message_end", "message": done})
    out({"type": "tool_execution_start", "toolCallId": "x1", "toolName": EVIL, "args": {"command": EVIL}})
    out({"type": "tool_execution_end", "toolCallId": "x1", "toolName": EVIL,
         "result": {"content": [{"type": "text", "text": EVIL}]}, "isError": True})
    out({"type": "extension_ui_request", "id": "n1", "method": "notify", "message": EVIL})
    out({"type": "extension_ui_request", "id": "p1", "method": "notify", "event": "plan_capture", "plan": EVIL})
    out({"type": "extension_ui_request", "id": "s1", "method": "setStatus", "statusKey": "k", "statusText": EVIL})
    out({"type": "extension_ui_request", "id": "q1", "method": "confirm", "title": EVIL, "message": EVIL})
    out({"type": "evil_" + EVIL, "payload": EVIL})
    sys.stdout.write(EVIL + "\n"); sys.stdout.flush()
'''

# An agent that asks one question of every kind, then reports each answer as a notice.
ASKER_AGENT = r'''
import json, sys
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
answered = set()
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if cmd.get("type") == "prompt":
        answered.clear()
        out({"type": "agent_start"})
        out({"type": "extension_ui_request", "id": "sel", "method": "select", "title": "Pick a branch",
             "options": ["main", "develop", "feature/login"]})
        out({"type": "extension_ui_request", "id": "inp", "method": "input", "title": "Commit message",
             "placeholder": "feat: ..."})
        out({"type": "extension_ui_request", "id": "ed", "method": "editor", "title": "Edit the plan",
             "prefill": "1. read"})
    elif cmd.get("type") == "extension_ui_response":
        answer = {k: v for k, v in cmd.items() if k != "type"}
        out({"type": "extension_ui_request", "id": "n-" + str(cmd.get("id")), "method": "notify",
             "message": "got " + json.dumps(answer, sort_keys=True)})
        answered.add(cmd.get("id"))
        if len(answered) == 3:
            out({"type": "agent_end", "messages": []})
'''

WEB_INSTANCES = [
    {"id": "demo", "agent": "demo"},
    command_instance("evil", [sys.executable, "-c", EVIL_AGENT]),
    command_instance("asker", [sys.executable, "-c", ASKER_AGENT]),
]
web_stack = stack_fixture(env={"AMARRE_MAX_SESSIONS": "200", "AMARRE_DEMO_SPEED": "1"}, instances=WEB_INSTANCES)


@pytest.fixture
def session(web_stack):
    """Creates demo sessions (REST) and deletes them after the test."""
    yield from session_maker(web_stack, "demo")


def open_session(pages, stack, sid, size="phone"):
    web = pages(stack, size, session_path(sid))
    web.wait_live()
    return web


def test_prompt_streams_markdown_reply(web_stack, session, pages):
    s = session(name="streaming")
    web = open_session(pages, web_stack, s["id"])
    web.send("Hello from the phone")
    # The reply is visible while it is still streaming, then complete.
    web.page.locator(".item.assistant.streaming .md").first.wait_for()
    partial = web.page.locator(".item.assistant .md").first.inner_text()
    web.wait_idle()
    final = web.assistant_texts()[0]
    assert len(partial) < len(final)
    assert final.startswith("You said:")
    assert web.page.locator(".item.user .user-text").inner_text() == "Hello from the phone"
    # Markdown became structure: a quote, bold, a list, a code block.
    md = web.page.locator(".item.assistant .md").first
    assert md.locator("blockquote").count() == 1
    assert md.locator("strong").count() >= 1
    assert md.locator("ul > li").count() == 3
    assert "characters" in md.locator("pre code").inner_text()
    # Usage of the message and the session total.
    assert "$" in web.page.locator(".item.assistant .usage").inner_text()
    assert "$" in web.page.locator(".totals").inner_text()


def test_allow_a_tool_call(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("please run ls")
    card = web.page.locator(".approval-card")
    card.wait_for()
    assert card.locator(".approval-title").inner_text() == "Run bash?"
    assert card.locator("pre.cmd").inner_text() == "$ ls -la"
    card.locator(".btn.allow").click()
    web.page.locator(".approval-line", has_text="Allowed by you").wait_for()
    card.wait_for(state="detached", timeout=6000)
    tool = web.page.locator(".item.tool")
    tool.locator(".tool-state", has_text="done").wait_for()
    web.wait_idle()
    tool.locator("summary").click()
    assert "Package.swift" in tool.locator(".tool-output").inner_text()
    assert "finished" in web.assistant_texts()[-1]


def test_deny_a_tool_call(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("run `rm -rf build`")
    card = web.page.locator(".approval-card")
    card.wait_for()
    assert card.locator("pre.cmd").inner_text() == "$ rm -rf build"
    card.locator(".btn.deny").click()
    web.page.locator(".approval-line", has_text="Denied by you").wait_for()
    tool = web.page.locator(".item.tool.error")
    tool.locator(".tool-state", has_text="failed").wait_for()
    web.wait_idle()
    assert "won't run" in web.assistant_texts()[-1]
    tool.locator("summary").click()
    assert "Blocked by user" in tool.locator(".tool-output.error").inner_text()


def test_answer_on_one_device_closes_the_card_on_the_other(web_stack, session, pages):
    s = session()
    phone = open_session(pages, web_stack, s["id"], "phone")
    laptop = open_session(pages, web_stack, s["id"], "desktop")
    web_stack.wait_clients(s["id"], 2)
    phone.send("please run ls")
    for web in (phone, laptop):
        web.page.locator(".approval-card .btn.allow").wait_for()
    laptop.page.locator(".approval-card .btn.allow").click()
    phone.page.locator(".approval-card .approval-status", has_text="Allowed on another device").wait_for()
    phone.screenshot("approval-answered-elsewhere-phone")
    phone.page.locator(".approval-card").wait_for(state="detached", timeout=6000)
    laptop.page.locator(".approval-line", has_text="Allowed by you").wait_for()
    phone.page.locator(".approval-line", has_text="Allowed on another device").wait_for()
    phone.wait_idle()
    assert "finished" in phone.assistant_texts()[-1]


def test_late_answer_is_told_it_lost(web_stack, session, pages):
    """Both devices answer; the server takes the first and tells the other already_answered."""
    s = session()
    a = open_session(pages, web_stack, s["id"])
    b = open_session(pages, web_stack, s["id"])
    web_stack.wait_clients(s["id"], 2)
    a.send("please run ls")
    for web in (a, b):
        web.page.locator(".approval-card .btn.allow").wait_for()
    # b's card has not heard of a's answer yet when b answers: send both before either reply lands.
    b.eval("() => { window.__amarre.connection.ws.onmessage = null; }")
    a.page.locator(".approval-card .btn.deny").click()
    a.page.locator(".approval-line", has_text="Denied by you").wait_for()
    b.eval("""() => { const c = window.__amarre.controller; const ws = c.connection.ws;
        ws.onmessage = (e) => { for (const l of e.data.split('\\n')) if (l.trim()) c.onRecord(JSON.parse(l)); }; }""")
    b.page.locator(".approval-card .btn.allow").click()
    b.page.locator(".approval-card .approval-status", has_text="on another device").wait_for()
    b.page.locator(".approval-card").wait_for(state="detached", timeout=6000)


def test_pending_approval_comes_back_after_a_reload(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("please run ls")
    web.page.locator(".approval-card").wait_for()
    web.page.reload()
    web.wait_live()
    card = web.page.locator(".approval-card")
    card.wait_for()
    assert card.locator(".approval-title").inner_text() == "Run bash?"
    card.locator(".btn.allow").click()
    web.page.locator(".item.tool .tool-state", has_text="done").wait_for()
    web.wait_idle()
    assert web.page.locator(".approval-card").count() in (0, 1)
    assert web.page.locator(".item.user").count() == 1, "history and live are not shown twice"


def test_crash_shows_a_banner_and_restart_brings_the_agent_back(web_stack, session, pages):
    s = session(name="crashy")
    web = open_session(pages, web_stack, s["id"])
    web.send("/crash")
    banner = web.page.locator(".banner.crashed")
    banner.wait_for()
    assert "exit status 3" in banner.inner_text()
    assert web.page.locator(".banner.network").count() == 0, "a crash is not a network drop"
    assert web.page.locator(".conn-chip.closed").count() == 1
    assert web.page.locator(".composer .btn.send").is_disabled()
    web.screenshot("crash-banner-phone")
    banner.locator("button", has_text="Restart agent").click()
    banner.wait_for(state="hidden")
    web.wait_live()
    web_stack.wait_status(s["id"], "running")
    web.send("are you back?")
    web.page.locator(".item.assistant .md", has_text="are you back?").wait_for()
    web.wait_idle()


def test_opening_a_crashed_session_shows_history_and_banner(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("remember this line")
    web.page.locator(".item.assistant .md", has_text="remember this line").wait_for()
    web.wait_idle()
    web.send("/crash")
    web.page.locator(".banner.crashed").wait_for()
    web_stack.wait_status(s["id"], "crashed")
    web.page.reload()
    web.page.locator(".banner.crashed").wait_for()
    web.page.locator(".item.user", has_text="remember this line").wait_for()


def server_capabilities(stack, sid) -> list[str]:
    ws = stack.ws(sid)
    try:
        return ws.recv_record("amarre.hello").get("capabilities", [])
    finally:
        ws.close()


def test_reconnect_mid_stream_loses_nothing_and_repeats_nothing(web_stack, session, pages):
    s = session()
    if "replay" not in server_capabilities(web_stack, s["id"]):
        pytest.xfail("needs replay from the server (`?since=` and `_seq`)")
    web = open_session(pages, web_stack, s["id"])
    web.send("Tell me everything about reconnects")
    web.page.locator(".item.assistant.streaming .md").first.wait_for()
    # Cut the connection while the reply streams; the client reconnects with ?since=<last seq>.
    web.eval("() => window.__amarre.connection.drop()")
    web.page.locator(".banner.network").wait_for()
    web.wait_live(timeout=15)
    web.wait_idle()
    seqs = web.eval("() => window.__amarre.controller.seqLog")
    assert seqs == sorted(set(seqs)), "no record applied twice, none out of order"
    last = web_stack.summary(s["id"]).get("lastSeq")
    assert last is not None, "server reports no lastSeq"
    first = seqs[0]
    assert seqs == list(range(first, last + 1)), "no gap"
    assert web.page.locator(".marker", has_text="does not replay").count() == 0
    text = web.assistant_texts()[0]
    assert text.startswith("You said:") and text.count("You said:") == 1
    assert text.rstrip().endswith("}")


def test_agent_markup_is_shown_as_text_and_never_runs(web_stack, session, pages):
    s = session("evil")
    web = open_session(pages, web_stack, s["id"])
    web.send('<img src=x onerror="window.__pwned=9"> hi')
    web.page.locator(".approval-card").wait_for()
    web.page.locator(".item.debug").first.wait_for()
    for d in web.page.locator(".item details").all():
        d.locator("summary").first.click()
    web.page.wait_for_timeout(300)
    assert web.eval("() => window.__pwned") is None
    assert web.eval("() => document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert web.eval("() => [...document.scripts].every(s => s.src && s.src.endsWith('/main.js'))")
    assert web.eval("() => [...document.querySelectorAll('a[href]')].every(a => /^https?:/.test(a.href) || a.getAttribute('href').startsWith('#'))")
    text = web.page.locator(".session-screen").inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in text
    assert "<script>window.__pwned=2</script>" in text
    assert '<img src=x onerror="window.__pwned=9"> hi' in web.page.locator(".item.user").inner_text()
    assert web.page.locator(".md a").count() == 0, "javascript: links stay text"
    # Answering the hostile card still works and sends plain JSON.
    web.page.locator(".approval-card .btn.deny").click()
    web.page.locator(".approval-line", has_text="Denied by you").wait_for()
    assert web.eval("() => window.__pwned") is None


def test_history_is_paged_not_loaded_whole(web_stack, session, pages):
    s = session()
    if web_stack.get(f"/sessions/{s['id']}/events?after=0&limit=1").status == 404:
        pytest.xfail("needs the server's event store (GET /sessions/<id>/events)")
    ws = web_stack.ws(s["id"])
    try:
        ws.recv_record("amarre.hello")
        ws.send({"type": "prompt", "message": "/flood 1500"})
        ws.recv_until("agent_end", timeout=60)
    finally:
        ws.close()
    web = pages(web_stack, "phone", session_path(s["id"]))
    events = "() => performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/events'))"
    web.wait_live()
    web.page.locator(".item.assistant .md", has_text="1500").wait_for()
    web.page.wait_for_timeout(500)
    requests = web.eval(events)
    assert len(requests) == 1, requests
    assert "before=" in requests[0] and "limit=200" in requests[0]
    # Scrolling to the top asks for older pages, one at a time, until the start.
    web.eval("() => { document.querySelector('.transcript').scrollTop = 0; }")
    web.page.locator(".history-note", has_text="Start of the session").wait_for(timeout=20_000)
    requests = web.eval(events)
    assert len(requests) >= 8, f"1500+ records come in pages of 200: {requests}"
    befores = [int(r.split("before=")[1].split("&")[0]) for r in requests]
    assert befores == sorted(befores, reverse=True) and len(set(befores)) == len(befores), "each page once"
    assert web.page.locator(".item.user").count() == 1
    assert web.page.locator(".item.assistant").count() == 1
    text = web.assistant_texts()[0]
    assert text.startswith("1 2 3 ") and text.rstrip().endswith("1499 1500")


def test_while_busy_the_composer_queues_instead_of_starting_a_turn(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("first question")
    busy = web.page.locator(".composer-busy")
    busy.wait_for()
    assert web.page.locator(".composer .btn.send").inner_text() == "Queue"
    web.screenshot("composer-busy-phone")
    web.send("second question")
    web.wait_js("() => document.querySelectorAll('.item.user').length === 2", timeout=15)
    web.wait_idle()
    assert web.page.locator(".error-line").count() == 0
    assert web.page.locator(".item.user").all_inner_texts() == ["first question", "second question"]


def test_stop_aborts_the_turn(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    web.send("a long answer please")
    web.page.locator(".item.assistant.streaming").wait_for()
    web.page.locator(".composer .btn.stop").click()
    web.wait_idle()
    assert web.page.locator(".msg-error", has_text="Stopped").count() == 1


def test_hidden_tab_gets_a_title_badge_and_a_notification(web_stack, session, pages):
    s = session(name="watcher")
    web = pages(web_stack, "phone", "/")
    web.goto(session_path(s["id"]))
    web.wait_live()
    web.eval("""() => {
        window.__notes = [];
        window.Notification = class { constructor(t, o) { window.__notes.push({title: t, body: o && o.body}); }
          static get permission() { return 'granted'; } static requestPermission() { return Promise.resolve('granted'); } };
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        document.hasFocus = () => false;
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    ws = web_stack.ws(s["id"])
    try:
        ws.recv_record("amarre.hello")
        ws.send({"type": "prompt", "message": "please run ls"})
        web.wait_js("() => document.title.startsWith('(1) ')", timeout=15)
        assert web.page.title() == "(1) watcher · amarre"
        notes = web.eval("() => window.__notes")
        assert len(notes) == 1 and "Run bash?" in notes[0]["title"] and "ls -la" in notes[0]["body"]
        request = ws.recv_until("extension_ui_request")[-1]
        ws.send({"type": "extension_ui_response", "id": request["id"], "confirmed": True})
        web.wait_js("() => document.title.startsWith('(2) ')", timeout=15)  # the turn ended
    finally:
        ws.close()
    web.eval("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.hasFocus = () => true;
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    assert web.page.title() == "watcher · amarre"


def test_deleted_session_says_so(web_stack, session, pages):
    s = session()
    web = open_session(pages, web_stack, s["id"])
    assert web_stack.delete(f"/sessions/{s['id']}").status == 204
    web.page.locator(".banner.ended").wait_for()
    assert web.page.locator(".banner.network").count() == 0
    assert web.page.locator(".composer .btn.send").is_disabled()


def test_a_session_restarted_by_the_server_reconnects_by_itself(stack_factory, pages):
    phoenix = {"id": "phoenix", "agent": "demo", "restart": {"policy": "on-failure", "max": 3, "windowSeconds": 60}}
    try:
        stack = stack_factory(env={"AMARRE_RESTART_BACKOFF_MS": "1500"}, instances=[phoenix])
    except RuntimeError as e:
        pytest.xfail(f"this server has no automatic restart policy: {str(e)[:200]}")
    s = stack.create("phoenix")
    web = open_session(pages, stack, s["id"])
    web.send("/crash")
    web.page.locator(".banner.crashed").wait_for()
    # The host restarts the agent; the page notices (it polls while crashed) and reconnects.
    web.page.locator(".banner.crashed").wait_for(state="hidden", timeout=15_000)
    web.wait_live()
    web.page.locator(".session-event", has_text="restarted").first.wait_for()
    web.send("hello again")
    web.page.locator(".item.assistant .md", has_text="hello again").wait_for()


def test_select_input_and_editor_questions(web_stack, session, pages):
    s = session("asker")
    web = open_session(pages, web_stack, s["id"])
    web.send("ask me things")
    cards = web.page.locator(".approval-card")
    web.wait_js("() => document.querySelectorAll('.approval-card').length === 3")
    web.screenshot("questions-phone")
    select = cards.filter(has_text="Pick a branch")
    assert select.locator(".approval-options .btn").all_inner_texts() == ["main", "develop", "feature/login"]
    select.locator(".btn", has_text="develop").click()
    web.page.locator(".notice", has_text='got {"id": "sel", "value": "develop"}').wait_for()

    field = cards.filter(has_text="Commit message").locator("input.approval-input")
    assert field.get_attribute("placeholder") == "feat: ..."
    field.fill("fix: <b>bold</b> & 'quotes'")
    field.press("Enter")
    web.page.locator(".notice", has_text="""got {"id": "inp", "value": "fix: <b>bold</b> & 'quotes'"}""").wait_for()

    editor = cards.filter(has_text="Edit the plan")
    area = editor.locator("textarea.approval-input")
    assert area.input_value() == "1. read"
    area.fill("1. read\n2. write")
    editor.locator(".btn", has_text="Send").click()
    web.page.locator(".notice", has_text='got {"id": "ed", "value": "1. read\\n2. write"}').wait_for()
    web.wait_idle()
    assert web.page.locator(".approval-line", has_text="by you").count() == 3
