"""The web client's session list and the screenshots of every main screen, end to end."""
from __future__ import annotations

import pytest

from conftest import stack_fixture, wait_for
from web_helpers import browser, pages, session_path  # noqa: F401  (fixtures)

LIST_INSTANCES = [
    {"id": "demo", "agent": "demo"},
    {"id": "default", "agent": "demo"},
]
list_stack = stack_fixture(env={"AMARRE_MAX_SESSIONS": "6", "AMARRE_DEMO_SPEED": "1"}, instances=LIST_INSTANCES)


@pytest.fixture(autouse=True)
def no_sessions_left(list_stack):
    """Each test starts and ends with an empty list."""
    def clear():
        for s in list_stack.get("/sessions").json:
            list_stack.delete(f"/sessions/{s['id']}")
    clear()
    yield
    clear()


def test_create_a_session_from_the_list(list_stack, pages):
    web = pages(list_stack, "phone", "/")
    web.page.locator(".empty", has_text="No sessions yet").wait_for()
    web.page.locator(".list-bar .new-session").click()
    dialog = web.page.locator("dialog.create-dialog")
    dialog.wait_for()
    options = dialog.locator("select option").all_inner_texts()
    assert options == ["demo", "default — demo"]
    assert dialog.locator("select").input_value() == "default"
    dialog.locator("select").select_option("demo")
    dialog.locator("#create-name").fill("from the phone")
    dialog.locator("#create-cwd").fill("/tmp")
    dialog.locator("button[type=submit]").click()
    web.wait_live()
    assert web.page.url.split("#")[1].startswith("/s/")
    assert web.page.locator(".session-title").inner_text() == "from the phone"
    listed = list_stack.get("/sessions").json
    assert [(s["name"], s["instanceId"], s.get("cwd")) for s in listed] == [("from the phone", "demo", "/tmp")]
    # Back to the list: the new session is there, with one viewer.
    web.page.locator(".session-bar .back").click()
    row = web.page.locator(".session-row", has_text="from the phone")
    row.wait_for()
    assert "running" in row.locator(".status-pill").inner_text().lower()


def test_create_errors_are_shown_in_the_dialog(list_stack, pages):
    for _ in range(6):
        list_stack.create("demo")
    web = pages(list_stack, "phone", "/")
    web.page.locator(".session-row").nth(5).wait_for()
    web.page.locator(".list-bar .new-session").click()
    dialog = web.page.locator("dialog.create-dialog")
    dialog.locator("button[type=submit]").click()
    error = dialog.locator(".form-error")
    error.wait_for()
    assert "Too many sessions" in error.inner_text() and "6" in error.inner_text()
    dialog.locator("button", has_text="Cancel").click()
    dialog.wait_for(state="detached")


def test_the_list_follows_the_server(list_stack, pages):
    web = pages(list_stack, "phone", "/")
    web.page.locator(".empty").wait_for()
    s = list_stack.create("demo", name="made elsewhere")
    # Polled every few seconds while visible.
    web.page.locator(".session-row", has_text="made elsewhere").wait_for(timeout=10_000)
    ws = list_stack.ws(s["id"])
    try:
        ws.recv_record("amarre.hello")
        ws.send({"type": "prompt", "message": "please run ls"})
        ws.recv_until("extension_ui_request", timeout=15)
        badge = web.page.locator(".session-row .pending-badge")
        badge.wait_for(timeout=10_000)
        assert badge.inner_text() == "1 waiting"
        assert "1 viewer" in web.page.locator(".session-row .row-meta").inner_text()
    finally:
        ws.close()


def test_delete_asks_first(list_stack, pages):
    s = list_stack.create("demo", name="doomed")
    web = pages(list_stack, "phone", "/")
    row = web.page.locator(".session-row", has_text="doomed")
    row.locator(".row-delete").click()
    dialog = web.page.locator("dialog.confirm-dialog")
    dialog.locator("button", has_text="Cancel").click()
    assert list_stack.get(f"/sessions/{s['id']}").status == 200
    row.locator(".row-delete").click()
    dialog.locator("button", has_text="Delete").click()
    row.wait_for(state="detached")
    assert list_stack.get(f"/sessions/{s['id']}").status == 404


def test_restart_a_crashed_session_from_the_list(list_stack, pages):
    s = list_stack.create("demo", name="crashed one")
    ws = list_stack.ws(s["id"])
    ws.send({"type": "prompt", "message": "/crash"})
    ws.expect_close()
    list_stack.wait_status(s["id"], "crashed")
    web = pages(list_stack, "phone", "/")
    row = web.page.locator(".session-row.crashed", has_text="crashed one")
    row.wait_for()
    assert "exit status 3" in row.inner_text()
    row.locator("button", has_text="Restart agent").click()
    web.page.locator(".session-row.running", has_text="crashed one").wait_for()
    assert list_stack.summary(s["id"])["status"] == "running"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_screenshots_of_every_main_screen(list_stack, pages, size):
    """Saved under test-output/screenshots/ for people to look at."""
    crashed = list_stack.create("demo", name="nightly refactor")
    ws = list_stack.ws(crashed["id"])
    ws.send({"type": "prompt", "message": "/crash"})
    ws.expect_close()
    waiting = list_stack.create("demo", name="add login tests", cwd="/tmp")
    ws = list_stack.ws(waiting["id"])
    ws.recv_record("amarre.hello")
    ws.send({"type": "prompt", "message": "please edit src/login.ts"})
    ws.recv_until("extension_ui_request", timeout=15)
    ws.close()
    list_stack.create("default", name="docs cleanup")
    list_stack.wait_status(crashed["id"], "crashed")

    web = pages(list_stack, size, "/")
    web.page.locator(".session-row").nth(2).wait_for()
    web.page.locator(".pending-badge:not([hidden])").wait_for()
    web.screenshot(f"list-{size}")

    web.page.locator(".list-bar .new-session").click()
    web.page.locator("dialog.create-dialog #create-name").fill("fix flaky upload test")
    web.screenshot(f"create-dialog-{size}")
    web.page.locator("dialog.create-dialog button[type=submit]").click()
    web.wait_live()
    web.send("Summarise the **upload** module, please")
    web.page.locator(".item.assistant.streaming .md > p > strong").first.wait_for()
    web.screenshot(f"session-streaming-{size}")
    web.wait_idle()

    web.send("please run the tests")
    web.page.locator(".approval-card").wait_for()
    web.page.wait_for_timeout(300)
    web.screenshot(f"approval-card-{size}")
    web.page.locator(".approval-card .btn.allow").click()
    web.wait_idle()
    web.page.locator(".item.tool summary").first.click()
    web.screenshot(f"session-after-tool-{size}")

    web.goto(session_path(waiting["id"]))
    web.page.locator(".approval-card").wait_for()
    web.page.wait_for_timeout(300)
    web.screenshot(f"approval-edit-{size}")

    web.goto(session_path(crashed["id"]))
    web.page.locator(".banner.crashed").wait_for()
    web.page.locator(".session-event.bad").wait_for()
    web.screenshot(f"crash-banner-{size}")
