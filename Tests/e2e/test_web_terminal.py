"""The web client's terminal view (issue 16), end to end: real nginx + amarre-api + amarre-host
(terminal sessions run under a pseudo-terminal) + Chromium on a 390×844 phone.

A shell typed into through the page (xterm.js, www/vendor/xterm), the key bar (sticky Ctrl, the
arrows, Paste), the program's size following the page's fit, a full-screen curses program (screenshot
test-output/screenshots/terminal-phone.png), read-only watching (?readonly=1), a reconnect that
keeps the terminal and continues (since=), a second viewer following the size of the one who
typed, and output that looks like HTML staying text.
"""
from __future__ import annotations

import sys

import pytest

from conftest import all_pids, cmdline, session_maker, stack_fixture, wait_for
from web_helpers import browser, phone_pages, session_path  # noqa: F401  (fixtures)

# A full-screen program: a box, its own size inside, redrawn on every resize; q quits.
CURSES = r'''
import curses
def main(s):
    try:
        curses.curs_set(0)
    except curses.error:
        pass
    while True:
        s.erase()
        s.border()
        h, w = s.getmaxyx()
        s.addstr(1, 2, "AMARRE-BOX")
        s.addstr(2, 2, "size %dx%d" % (w, h))
        s.addstr(h // 2, max(1, (w - 11) // 2), "full screen")
        s.refresh()
        if s.getch() == ord("q"):
            break
curses.wrapper(main)
'''

TERMINAL_INSTANCES = [
    {"id": "sh", "agent": "terminal", "command": ["bash", "--norc", "-i"]},
    {"id": "box", "agent": "terminal", "command": [sys.executable, "-c", CURSES]},
]
terminal_stack = stack_fixture(env={"AMARRE_MAX_SESSIONS": "50"}, instances=TERMINAL_INSTANCES)

CONTROLLER = "window.__amarre && window.__amarre.controller"

# The terminal screen is up, connected, and the program has the size the page fits.
READY = f"""() => {{
  const a = window.__amarre; const c = {CONTROLLER};
  return a && a.app.screen === 'terminal' && c.term && c.hello && c.connState.state === 'open' &&
    c.fitted && c.term.cols === c.fitted.cols && c.term.rows === c.fitted.rows;
}}"""


@pytest.fixture
def sessions(terminal_stack):
    yield from session_maker(terminal_stack, "sh")


def open_terminal(phone_pages, stack, sid, **kw):
    web = phone_pages(stack, session_path(sid), **kw)
    web.wait_js(READY, 15)
    return web


def screen_text(web) -> str:
    return web.eval(f"() => {CONTROLLER}.screenText()")


def wait_text(web, text: str, timeout: float = 10.0) -> None:
    try:
        web.wait_js(f"(t) => {CONTROLLER}.screenText().includes(t)", timeout, arg=text)
    except Exception as e:  # noqa: BLE001  (say what the terminal showed)
        raise AssertionError(f"{text!r} not in the terminal:\n{screen_text(web)}") from e


def type_line(web, text: str) -> None:
    web.page.locator(".term-host").click()
    web.page.keyboard.type(text)
    web.page.keyboard.press("Enter")


def key(web, name: str) -> None:
    web.page.locator(f'.key-bar [data-key="{name}"]').click()


def test_shell_through_the_page(terminal_stack, sessions, phone_pages):
    s = sessions()
    assert s["agent"] == "terminal"
    web = open_terminal(phone_pages, terminal_stack, s["id"])
    hello = web.eval(f"() => {CONTROLLER}.hello")
    assert hello["agent"] == "terminal" and "terminal" in hello["capabilities"]
    assert hello["terminal"]["readonly"] is False
    # No transcript, a terminal and the key bar.
    assert web.page.locator(".transcript-list").count() == 0
    labels = web.page.locator(".key-bar .key").all_inner_texts()
    assert labels == ["Esc", "Tab", "Ctrl", "←", "↑", "↓", "→", "|", "~", "/", "Paste"]
    bar = web.eval("() => { const b = document.querySelector('.key-bar'); return [b.scrollWidth, b.clientWidth]; }")
    assert bar[0] <= bar[1], f"the key bar fits a 390 px phone: {bar}"

    type_line(web, "echo hello-$((6*7))")
    wait_text(web, "hello-42")

    # The program got the page's size (terminal.resize, applied: nobody else typed).
    fitted = web.eval(f"() => {CONTROLLER}.fitted")
    type_line(web, "echo size=$(stty size | tr ' ' x)")
    wait_text(web, f"size={fitted['rows']}x{fitted['cols']}")

    # Sticky Ctrl on the key bar, then C on the keyboard: the running command is interrupted.
    type_line(web, "sleep 60")
    wait_for(lambda: any(cmdline(p) == "sleep 60" for p in all_pids()), what="sleep 60 running")
    key(web, "ctrl")
    assert web.page.locator('.key-bar [data-key="ctrl"]').get_attribute("aria-pressed") == "true"
    web.page.keyboard.type("c")
    assert web.page.locator('.key-bar [data-key="ctrl"]').get_attribute("aria-pressed") == "false"
    wait_text(web, "^C")
    type_line(web, "echo after-$((40+2))")
    wait_text(web, "after-42", timeout=5)  # not after sleep's 60 s

    # ↑ recalls the last command (readline), Enter runs it again.
    key(web, "up")
    web.page.keyboard.press("Enter")
    web.wait_js(f"() => {CONTROLLER}.screenText().split('after-42').length === 3", 10)

    # Paste: the clipboard cannot be read here (no permission), so the page asks for the text.
    # bash asked for bracketed paste: the line is inserted, not run, until Enter.
    key(web, "paste")
    web.page.locator('[data-testid="paste-input"]').fill("echo pasted-$((3*3))\n")
    web.page.locator('[data-testid="paste-send"]').click()
    wait_text(web, "echo pasted-$((3*3))")
    assert "pasted-9" not in screen_text(web)
    web.page.locator(".term-host").click()
    web.page.keyboard.press("Enter")
    wait_text(web, "pasted-9")

    # Output that looks like HTML is text in the terminal, never markup.
    type_line(web, "t=img; echo \"<$t src=x onerror=window.__pwned=1>\"")
    wait_text(web, "<img src=x onerror=window.__pwned=1>")
    type_line(web, "t=b; echo \"<$t>bold</$t>\"")
    wait_text(web, "<b>bold</b>")
    assert web.eval("() => window.__pwned === undefined && !document.querySelector('img[src=x], .term-host b')")


def test_full_screen_program(terminal_stack, sessions, phone_pages):
    s = sessions("box")
    web = open_terminal(phone_pages, terminal_stack, s["id"])
    fitted = web.eval(f"() => {CONTROLLER}.fitted")
    # Redrawn at the page's size (SIGWINCH after the page's terminal.resize).
    wait_text(web, f"size {fitted['cols']}x{fitted['rows']}", timeout=15)
    web.wait_js(f"() => {CONTROLLER}.feed.idle", 5)
    screen = web.eval(f"() => {CONTROLLER}.feed.screen()")
    assert len(screen) == fitted["rows"]
    assert "AMARRE-BOX" in screen[1]
    assert any("full screen" in row for row in screen)
    # The box: a border line across the whole width, top and bottom.
    for row in (screen[0], screen[-1]):
        assert len(row) == fitted["cols"] and " " not in row.strip(), f"border row: {row!r}"
    # The canvas draws on the next animation frame.
    web.eval("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    web.screenshot("terminal-phone")
    key(web, "esc")  # a key the program ignores: no error, nothing breaks
    web.page.locator(".term-host").click()
    web.page.keyboard.type("q")
    terminal_stack.wait_status(s["id"], "crashed", timeout=10)  # the program exited by itself
    web.page.locator(".banner.crashed").wait_for(timeout=10_000)


def test_read_only_and_reconnect_keep_the_terminal(terminal_stack, sessions, phone_pages):
    s = sessions()
    web = open_terminal(phone_pages, terminal_stack, s["id"])
    type_line(web, "echo before-$((1+1))")
    wait_text(web, "before-2")

    # Read-only from the menu: reconnects with ?readonly=1, typing off, shown.
    web.page.locator(".menu-wrap .icon-button").click()
    web.page.locator('[data-testid="terminal-readonly"]').click()
    web.wait_js(f"() => {CONTROLLER}.hello && {CONTROLLER}.hello.terminal.readonly === true && {CONTROLLER}.connState.state === 'open'", 10)
    assert any("readonly=1" in url for url in web.requests)
    web.page.locator('[data-testid="terminal-readonly-chip"]').wait_for()
    assert web.page.locator(".key-bar").is_hidden()
    assert "before-2" in screen_text(web), "the terminal keeps what it showed"
    web.page.locator(".term-host").click()
    web.page.keyboard.type("echo typed-while-readonly")
    web.page.keyboard.press("Enter")

    # Typing again (the read-only bar's button), then a dropped connection: the page resumes
    # with since= and the terminal goes on from where it was, nothing lost or twice.
    web.page.locator('[data-testid="terminal-readonly-bar"] button').click()
    web.wait_js(f"() => {CONTROLLER}.hello && {CONTROLLER}.hello.terminal.readonly === false && {CONTROLLER}.connState.state === 'open'", 10)
    hellos = web.eval(f"() => {CONTROLLER}.hellos")
    web.eval(f"() => {CONTROLLER}.connection.drop()")
    web.wait_js(f"(n) => {CONTROLLER}.hellos > n && {CONTROLLER}.connState.state === 'open'", 15, arg=hellos)
    assert any("since=" in url for url in web.requests if "/sessions/" in url and url.startswith("ws"))
    type_line(web, "echo after-drop-$((2+3))")
    wait_text(web, "after-drop-5")
    text = screen_text(web)
    # What was typed while read-only never reached the program (it would show before this).
    assert "typed-while-readonly" not in text, text
    assert text.count("before-2") == 1, text  # its output, once
    seqs = web.eval(f"() => {CONTROLLER}.seqLog")
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), "no record twice, in order"


def test_a_second_viewer_follows_the_size_of_the_one_who_types(terminal_stack, sessions, phone_pages):
    s = sessions()
    phone = open_terminal(phone_pages, terminal_stack, s["id"])
    type_line(phone, "echo phone-typed")
    wait_text(phone, "phone-typed")
    size = phone.eval(f"() => {CONTROLLER}.fitted")
    # A wider page watches: the program keeps the phone's size, and the watcher shows it.
    wide = phone_pages(terminal_stack, session_path(s["id"]), viewport={"width": 1000, "height": 700})
    wide.wait_js(f"() => {CONTROLLER} && {CONTROLLER}.hello && {CONTROLLER}.fitted && {CONTROLLER}.connState.state === 'open'", 15)
    wait_text(wide, "phone-typed")
    wide_fit = wide.eval(f"() => {CONTROLLER}.fitted")
    assert wide_fit["cols"] > size["cols"]
    wide.wait_js(f"(s) => {CONTROLLER}.term.cols === s.cols && {CONTROLLER}.term.rows === s.rows", 10, arg=size)
    # The watcher types: the program takes its size, and the phone follows (terminal.size).
    type_line(wide, "echo wide-typed")
    wait_text(phone, "wide-typed")
    phone.wait_js(f"(s) => {CONTROLLER}.term.cols === s.cols && {CONTROLLER}.term.rows === s.rows", 10, arg=wide_fit)
    wide.wait_js(READY, 10)


def test_stop_archive_and_resume(terminal_stack, sessions, phone_pages):
    s = sessions()
    web = open_terminal(phone_pages, terminal_stack, s["id"])
    type_line(web, "echo kept-$((5*5))")
    wait_text(web, "kept-25")
    web.page.locator(".menu-wrap .icon-button").click()
    web.page.locator('[data-testid="stop"]').click()
    web.page.locator(".archived-bar").wait_for()
    terminal_stack.wait_status(s["id"], "stopped")
    assert web.page.locator(".key-bar").is_hidden()
    assert "kept-25" in screen_text(web)
    # Opened afresh, an archived terminal shows its last stored output.
    later = phone_pages(terminal_stack, session_path(s["id"]))
    later.wait_js(f"() => window.__amarre && window.__amarre.app.screen === 'terminal' && {CONTROLLER}.archived", 15)
    wait_text(later, "kept-25")
    later.page.locator('[data-testid="resume"]').click()
    later.wait_js(READY, 15)
    assert later.page.locator(".key-bar").is_visible()
    type_line(later, "echo resumed-$((6*6))")
    wait_text(later, "resumed-36")
