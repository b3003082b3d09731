"""Browser helpers for the web client's end-to-end tests (Tests/e2e/test_web_*.py).

Playwright drives Debian's Chromium (its own browser download is blocked here). Every page
records console errors and uncaught exceptions; `WebPage.assert_clean()` fails a test that
produced any. Screenshots go to test-output/screenshots/.
"""
from __future__ import annotations

import atexit
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = os.environ.get("AMARRE_CHROMIUM", "/usr/bin/chromium")

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}

# Console noise that is not the page's fault.
IGNORED_CONSOLE = [
    # Answers the client handles and shows (404 probing /events, 409, 429 max sessions...).
    re.compile(r"Failed to load resource: the server responded with a status of 4\d\d"),
    re.compile(r"WebSocket connection to .* failed"),  # reconnect tests, handshakes refused on purpose
]


_BROWSER: dict[str, Any] = {}


def _shared_browser():
    """One Chromium for the whole run, however many test modules import the fixture
    (each import is its own fixture definition; Playwright's sync API runs once per thread)."""
    if "browser" not in _BROWSER:
        sync_api = pytest.importorskip("playwright.sync_api")
        if not Path(CHROMIUM).exists():
            pytest.skip(f"{CHROMIUM} not found")
        playwright = sync_api.sync_playwright().start()
        _BROWSER["playwright"] = playwright
        _BROWSER["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                        args=["--no-sandbox"])
        atexit.register(_close_browser)
    return _BROWSER["browser"]


def _close_browser() -> None:
    browser = _BROWSER.pop("browser", None)
    playwright = _BROWSER.pop("playwright", None)
    try:
        if browser is not None:
            browser.close()
    finally:
        if playwright is not None:
            playwright.stop()


@pytest.fixture(scope="session")
def browser():
    return _shared_browser()


@dataclass
class WebPage:
    page: Any
    context: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str = "/") -> "WebPage":
        self.page.goto(self.base + path)
        return self

    def eval(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def wait_js(self, script: str, timeout: float = 10.0, arg: Any = None) -> Any:
        """Waits until the JS expression (or function) is truthy; returns its value."""
        handle = self.page.wait_for_function(script, arg=arg, timeout=timeout * 1000, polling=50)
        return handle.json_value()

    def transcript_text(self) -> str:
        return self.page.locator(".transcript-list").inner_text()

    def assistant_texts(self) -> list[str]:
        return self.page.locator(".item.assistant .assistant-body").all_inner_texts()

    def send(self, text: str) -> None:
        box = self.page.locator(".composer-input")
        box.fill(text)
        self.page.locator(".composer .btn.send").click()

    def wait_live(self, timeout: float = 10.0) -> None:
        self.page.locator(".conn-chip.open").wait_for(timeout=timeout * 1000)

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Connected and the agent is not working."""
        self.wait_js("() => { const t = window.__amarre && window.__amarre.transcript;"
                     " return t && !t.streaming && document.querySelector('.conn-chip.open') &&"
                     " !document.querySelector('.conn-chip.working'); }", timeout)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert not self.errors, "browser errors:\n" + "\n".join(self.errors)

    def close(self) -> None:
        self.context.close()


def open_page(browser, stack, size: str = "phone", path: str = "/") -> WebPage:
    viewport = SIZES[size]
    mobile = size == "phone"
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if mobile else 1,
                                  is_mobile=mobile, has_touch=mobile,
                                  color_scheme="light", reduced_motion="reduce")
    page = context.new_page()
    web = WebPage(page=page, context=context, base=stack.origin)

    def on_console(msg):
        if msg.type == "error" and not any(p.search(msg.text) for p in IGNORED_CONSOLE):
            web.errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: web.errors.append(f"pageerror: {e}"))
    page.set_default_timeout(10_000)
    web.goto(path)
    return web


@pytest.fixture
def pages(browser):
    """Opens pages on a stack and closes them (checking for browser errors) after the test."""
    opened: list[WebPage] = []

    def make(stack, size: str = "phone", path: str = "/") -> WebPage:
        web = open_page(browser, stack, size, path)
        opened.append(web)
        return web

    yield make
    errors = []
    for web in opened:
        errors += web.errors
        web.close()
    assert not errors, "browser errors:\n" + "\n".join(errors)


def session_path(sid: str) -> str:
    return f"/#/s/{sid}"


def pi_record(**fields: Any) -> str:
    return json.dumps(fields)


# -- issue 13: phones of other sizes, pages under a base path (issue 15) -------------------------

PHONE_390 = {"width": 390, "height": 844}


def open_phone_page(browser, stack, path: str = "/", viewport: dict | None = None, prefix: str = "") -> WebPage:
    """A touch phone page (coarse pointer) of `viewport` (default 390×844) at
    stack.origin + prefix + path; `prefix` ("/amarre") when the stack serves under a base path.
    Every request the page makes is kept in `web.requests` (URLs)."""
    context = browser.new_context(viewport=viewport or PHONE_390, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, color_scheme="light", reduced_motion="reduce")
    page = context.new_page()
    web = WebPage(page=page, context=context, base=stack.origin + prefix)
    web.requests = []  # type: ignore[attr-defined]

    def on_console(msg):
        if msg.type == "error" and not any(p.search(msg.text) for p in IGNORED_CONSOLE):
            web.errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: web.errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: web.requests.append(r.url))  # type: ignore[attr-defined]
    page.on("websocket", lambda ws: web.requests.append(ws.url))  # type: ignore[attr-defined]
    page.set_default_timeout(10_000)
    web.goto(path)
    return web


@pytest.fixture
def phone_pages(browser):
    """Like `pages`, for open_phone_page(stack, path, viewport=…, prefix=…)."""
    opened: list[WebPage] = []

    def make(stack, path: str = "/", **kw: Any) -> WebPage:
        web = open_phone_page(browser, stack, path, **kw)
        opened.append(web)
        return web

    yield make
    errors = []
    for web in opened:
        errors += web.errors
        web.close()
    assert not errors, "browser errors:\n" + "\n".join(errors)
