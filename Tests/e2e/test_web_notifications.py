"""The page and notifications, in Chromium at a phone size: a visible page holds back the
approval's notification (presence), leaving the session lets it go, and the Notifications
control says what it can do (headless Chromium has no push service to subscribe to)."""
from __future__ import annotations

import pytest

from conftest import stack_fixture, wait_for
from pushfakes import fakes  # noqa: F401  (fixture)
from web_helpers import browser, pages  # noqa: F401  (fixtures)

GRACE_MS = 300


@pytest.fixture(scope="module")
def web_push_stack(request, fakes):
    from conftest import _start_and_yield, Stack
    env = {"AMARRE_PUSH_GRACE_MS": str(GRACE_MS), "AMARRE_DEMO_SPEED": "100", **fakes.env()}
    yield from _start_and_yield(Stack(env=env, instances=[{"id": "demo", "agent": "demo"}], label=request.node.name))


off_stack = stack_fixture(env={"AMARRE_PUSH": "0"}, instances=[{"id": "demo", "agent": "demo"}])


def awaiting(sid):
    return lambda r: r.event.get("trigger") == "awaiting_input" and r.event.get("sessionId") == sid


def test_a_visible_page_holds_the_approval_back_and_leaving_lets_it_go(web_push_stack, fakes, pages):
    s = web_push_stack.create("demo", name="phone test")
    web = pages(web_push_stack, "phone", f"/#/s/{s['id']}")
    web.wait_live()
    web.send("please run ls")
    web.page.locator(".approval-card").wait_for()
    # Visible page: nothing is sent, well past the grace.
    fakes.webhook.expect_count(0, awaiting(s["id"]), within=4 * GRACE_MS / 1000)
    # Back to the list: the socket closes, nobody looks any more.
    web.page.locator(".session-bar .back").click()
    [hook] = fakes.webhook.wait(1, awaiting(s["id"]), timeout=10)
    assert hook.event["title"] == "phone test: approval needed"
    assert hook.event["body"].startswith("Run bash?")
    web_push_stack.delete(f"/sessions/{s['id']}")


def test_the_notifications_control_says_why_it_cannot_turn_on(off_stack, pages):
    # Refused by the browser (headless Chromium denies the permission without asking).
    web = pages(off_stack, "phone", "/")
    control = web.page.locator("[data-testid=notifications]")
    control.wait_for()
    web.page.locator("[data-testid=notifications-toggle]").click()
    status = web.page.locator("[data-testid=notifications-status]")
    wait_for(lambda: control.get_attribute("data-state") == "denied", what="the denied state")
    assert "allow" in status.inner_text().lower()

    # Allowed by the browser, refused by the server (AMARRE_PUSH=0).
    allowed = pages(off_stack, "phone", "/")
    allowed.context.grant_permissions(["notifications"], origin=off_stack.origin)
    allowed.page.locator("[data-testid=notifications-toggle]").click()
    control = allowed.page.locator("[data-testid=notifications]")
    wait_for(lambda: control.get_attribute("data-state") == "disabled", what="the disabled state")
    assert "off" in allowed.page.locator("[data-testid=notifications-status]").inner_text().lower()
    allowed.screenshot("notifications-control-phone")
    # The server's 503 is the expected answer here.
    allowed.errors[:] = [e for e in allowed.errors if "503" not in e]
