"""The page with access control on (AMARRE_AUTH=token), in Chromium at a phone size: the printed
`#pair=` link pairs the browser, the cookie survives a reload, and a revoked device is shown
the pairing screen again."""
from __future__ import annotations

import json
import re

from conftest import stack_fixture
from web_helpers import IGNORED_CONSOLE, browser, pages  # noqa: F401  (fixtures)

pair_stack = stack_fixture(env={"AMARRE_AUTH": "token", "AMARRE_DEMO_SPEED": "1"},
                           instances=[{"id": "demo", "agent": "demo"}])


def printed_link(stack, name="phone") -> str:
    out = stack.cli("pair", "--name", name).stdout
    m = re.search(r"(http://\S+/#pair=[a-z2-7]{26})", out)
    assert m, out
    return m.group(1)


def test_pair_from_the_printed_link_drive_the_demo_reload_and_revoke(pair_stack, pages):
    # Unpaired, the page shows the pairing screen.
    web = pages(pair_stack, "phone", "/")
    web.page.locator("[data-testid=pairing]").wait_for()
    web.screenshot("pairing-screen-phone")

    # The printed link pairs this browser and lands on the session list, without the code in the URL.
    link = printed_link(pair_stack)
    web.page.goto(link)
    web.page.locator(".list-bar .new-session").wait_for()
    assert "pair=" not in web.page.url
    assert web.page.locator("[data-testid=pairing]").count() == 0
    cookies = [c for c in web.context.cookies() if c["name"] == "amarre_auth"]
    assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert web.eval("() => document.cookie") == ""  # HttpOnly: the page's scripts never see it

    # Drive the demo agent: create a session, run a tool, approve it.
    web.page.locator(".list-bar .new-session").click()
    dialog = web.page.locator("dialog.create-dialog")
    dialog.locator("button[type=submit]").click()
    web.wait_live()
    web.send("please run ls")
    card = web.page.locator(".approval-card")
    card.locator(".btn.allow").click()
    web.page.locator(".approval-line", has_text="Allowed by you").wait_for()
    web.wait_idle()

    # A reload keeps the pairing.
    web.page.reload()
    web.wait_live()
    assert web.page.locator("[data-testid=pairing]").count() == 0

    # Revoked by the owner: the open socket closes and the page asks to pair again.
    devices = json.loads(pair_stack.cli("devices").stdout)
    browser_id = next(d["id"] for d in devices if d["kind"] == "browser")
    pair_stack.cli("revoke", browser_id)
    web.page.locator("[data-testid=pairing]").wait_for()
    web.screenshot("pairing-after-revoke-phone")

    # A wrong code says so; the right one pairs again.
    web.page.locator("[data-testid=pair-code]").fill("aaaaaaaaaaaaaaaaaaaaaaaaaa")
    web.page.locator("[data-testid=pair-submit]").click()
    error = web.page.locator("[data-testid=pair-error]")
    error.wait_for()
    assert "wrong" in error.inner_text().lower() or "expired" in error.inner_text().lower()
    code = printed_link(pair_stack, "phone again").rsplit("=", 1)[1]
    web.page.locator("[data-testid=pair-code]").fill(code)
    web.page.locator("[data-testid=pair-submit]").click()
    web.page.locator(".list-bar .new-session").wait_for()
    # The 401s and the refused handshake the revocation caused are expected noise.
    web.errors[:] = [e for e in web.errors if "401" not in e and "Unauthorized" not in e]
