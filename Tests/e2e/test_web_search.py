"""Issue 14 in the browser (Chromium, phone size): search from the session list, tap a result,
land on the session scrolled to that record with it highlighted; the archive of stopped
sessions, Resume and Stop.

Stable selectors (the contract's page): search input [data-testid=search], result
[data-testid=search-result] (data-session, data-seq), highlighted record .record-target,
archive section [data-testid=archive], resume [data-testid=resume], stop [data-testid=stop]."""
from __future__ import annotations

import uuid

import pytest

from conftest import Stack, agent, cmdline, command_instance, proc_state, stack_fixture, wait_for
from test_search import say
from web_helpers import PHONE, browser, pages  # noqa: F401  (fixtures)

INSTANCES = [command_instance("echo", agent("echo.py"))]
web_search_stack = stack_fixture(env={"AMARRE_MAX_SESSIONS": "20"}, instances=INSTANCES)


@pytest.fixture(autouse=True)
def no_sessions_left(web_search_stack):
    """Each test starts and ends with an empty list (the archive included)."""
    def clear():
        for s in web_search_stack.get("/sessions").json:
            web_search_stack.delete(f"/sessions/{s['id']}")
    clear()
    yield
    clear()


def word() -> str:
    return "zq" + "".join(chr(ord("a") + int(d, 16)) for d in uuid.uuid4().hex[:10])


def turn(prompt: str, answer: str) -> list[dict]:
    """One pi-shaped exchange as the page renders it."""
    user = {"role": "user", "content": [{"type": "text", "text": prompt}], "timestamp": 1}
    reply = {"role": "assistant", "content": [{"type": "text", "text": answer}], "timestamp": 2,
             "stopReason": "stop", "usage": {"input": 1, "output": 1, "cost": {"total": 0.0}}}
    return [
        {"type": "agent_start"},
        {"type": "message_start", "message": user}, {"type": "message_end", "message": user},
        {"type": "message_start", "message": {"role": "assistant", "content": [], "timestamp": 2}},
        {"type": "message_end", "message": reply},
        {"type": "agent_end", "messages": []},
    ]


def session_with_a_needle(stack: Stack, name: str, needle: str, before: int = 20, after: int = 60) -> tuple[str, int]:
    """A session whose history is `before` ordinary turns, the one that says `needle`, then `after`
    more: far more than the page's first history page, so the page must load around the record."""
    sid = stack.create("echo", name=name)["id"]
    records = []
    for i in range(before):
        records += turn(f"question {i}", f"ordinary answer number {i}")
    records += turn("where did we fix the migration?", f"The {needle} step in migrate.py fixed the migration.")
    target_index = len(records) - 2  # the assistant's message_end
    for i in range(after):
        records += turn(f"later question {i}", f"later answer number {i}")
    seqs = say(stack, sid, records)
    return sid, seqs[target_index]


def search_on_the_list(web, q: str) -> None:
    box = web.page.locator("[data-testid=search]")
    box.wait_for()
    box.fill(q)
    box.press("Enter")


def in_viewport(web, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] < PHONE["height"] and box["y"] + box["height"] > 0


def test_search_tap_a_result_and_land_on_the_highlighted_record(web_search_stack, pages):
    s = web_search_stack
    needle = word()
    sid, seq = session_with_a_needle(s, "migration work", needle)
    other = s.create("echo", name="other work")["id"]
    other_seq = say(s, other, [{"type": "tool_execution_end", "toolCallId": "c1", "toolName": "bash",
                                "result": {"content": [{"type": "text", "text": f"grep found {needle}"}]},
                                "isError": False}])[0]
    assert s.summary(sid)["lastSeq"] > seq + 300

    web = pages(s, "phone", "/")
    search_on_the_list(web, needle)
    result = web.page.locator(f'[data-testid=search-result][data-session="{sid}"][data-seq="{seq}"]')
    result.wait_for()
    # Both sessions' results, each once; the snippet marks the word (text, not markup).
    assert web.page.locator(f'[data-testid=search-result][data-session="{other}"][data-seq="{other_seq}"]').count() == 1
    assert web.page.locator("[data-testid=search-result]").count() == 2
    assert needle in result.inner_text()
    assert [m.lower() for m in result.locator("mark").all_inner_texts()] == [needle]
    web.screenshot("search-results-phone")

    result.tap()
    target = web.page.locator(".record-target")
    target.wait_for()
    assert f"/s/{sid}" in web.page.url
    assert needle in target.inner_text()
    assert target.count() == 1
    web.wait_js("() => { const t = document.querySelector('.record-target');"
                " if (!t) return false; const r = t.getBoundingClientRect();"
                " return r.bottom > 0 && r.top < window.innerHeight; }")
    assert in_viewport(web, target)
    web.screenshot("search-result-phone")

    # History pages both ways from there: the answer just before and just after are loaded.
    transcript = web.transcript_text()
    assert "ordinary answer number 19" in transcript or "where did we fix the migration?" in transcript
    assert "later answer number 0" in transcript


def test_a_result_in_a_stopped_session_opens_its_history_read_only(web_search_stack, pages):
    s = web_search_stack
    needle = word()
    sid, seq = session_with_a_needle(s, "archived migration", needle, before=5, after=5)
    r = s.post(f"/sessions/{sid}/stop")
    assert r.status == 200 and r.json["status"] == "stopped", r

    web = pages(s, "phone", "/")
    search_on_the_list(web, needle)
    result = web.page.locator(f'[data-testid=search-result][data-session="{sid}"][data-seq="{seq}"]')
    result.tap()
    target = web.page.locator(".record-target")
    target.wait_for()
    assert needle in target.inner_text()
    web.page.locator("[data-testid=resume]").wait_for()  # read-only: resume instead of a composer
    assert not web.page.locator(".composer-input").is_visible()


def test_the_archive_lists_a_stopped_session_and_resume_brings_it_back(web_search_stack, pages):
    s = web_search_stack
    archived = s.create("echo", name="old refactor")["id"]
    s.create("echo", name="live one")
    r = s.post(f"/sessions/{archived}/stop")
    assert r.status == 200, r
    # Resume works once its agent is gone (within the kill grace, a restart answers 409).
    wait_for(lambda: len([p for p in s.agent_pids() if proc_state(p) == "Z" or "echo.py" in cmdline(p)]) == 1,
             what="the archived session's agent to be stopped and reaped")

    web = pages(s, "phone", "/")
    archive = web.page.locator("[data-testid=archive]")
    archive.wait_for()
    archive.get_by_text("old refactor").first.wait_for()
    assert "live one" not in archive.inner_text()
    web.screenshot("archive-phone")

    archive.locator("[data-testid=resume]").click()
    s.wait_status(archived, "running")
    web.page.locator(".session-row.running", has_text="old refactor").wait_for()
    wait_for(lambda: not archive.is_visible() or "old refactor" not in archive.inner_text(),
             what="the resumed session to leave the archive")


def test_stop_from_the_list_moves_a_session_to_the_archive(web_search_stack, pages):
    s = web_search_stack
    sid = s.create("echo", name="to archive")["id"]
    web = pages(s, "phone", "/")
    row = web.page.locator(".session-row", has_text="to archive")
    row.wait_for()
    row.locator("[data-testid=stop]").click()
    confirm = web.page.locator("dialog[open]")

    def stopped():
        # A confirmation dialog is the page's choice: confirm it if there is one.
        if confirm.count() and confirm.first.is_visible():
            confirm.first.locator("button", has_text="Stop").first.click()
        return s.summary(sid)["status"] == "stopped"

    wait_for(stopped, what="the session to be stopped")
    web.page.locator("[data-testid=archive]").get_by_text("to archive").first.wait_for()
