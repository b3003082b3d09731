"""The web client as a workstation (issue 13) and under a base path (issue 15), in Chromium on a
390×844 phone: images attached, scaled, sent and shown; the "/" palette; the model and modes;
"Allow <tool> for this session" and revoking it; drafts and the Enter key; the newest output
kept in view when the keyboard opens; every request relative to the page's directory.

Agents: inline pi-shaped ones (IMAGE_AGENT inspects the images it gets and says what they are;
ASKER asks tool approvals that name their tool), and Tests/fakes/fake-pi and fake-claude behind
the real adapters (PI_BIN, CLAUDE_BIN), each session with its own FAKE_*_LOG.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import pytest

from conftest import REPO, Stack, _start_and_yield, command_instance, stack_fixture, wait_for
from web_helpers import browser, phone_pages, session_path  # noqa: F401  (fixtures)

FAKES = REPO / "Tests" / "fakes"

# Says what it got: every image's type, format, size and a hash of its bytes; echoes the user
# message with its images (as pi does), so the transcript shows them.
IMAGE_AGENT = r'''
import base64, hashlib, json, struct, sys
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
def describe(img):
    data = base64.b64decode(img.get("data", ""), validate=True)
    kind, w, h = "?", 0, 0
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        kind = "png"; w, h = struct.unpack(">II", data[16:24])
    elif data[:2] == b"\xff\xd8":
        kind = "jpeg"; i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5:i + 9]); break
            i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "webp"
    return "%s %s %dx%d b64=%d sha=%s" % (img.get("mimeType"), kind, w, h, len(img.get("data", "")),
                                         hashlib.sha256(data).hexdigest()[:16])
n = 0
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if cmd.get("type") not in ("prompt", "steer", "follow_up"):
        continue
    n += 1
    message = cmd.get("message", "")
    images = cmd.get("images") or []
    user = {"role": "user", "content": [{"type": "text", "text": message}] + images, "timestamp": n * 10}
    text = "%s with %d image(s): %s" % (cmd["type"], len(images), " | ".join(describe(i) for i in images))
    if "long" in message:
        text += "\n\n" + "\n\n".join("Line %d of a long answer." % k for k in range(60))
    reply = {"role": "assistant", "content": [{"type": "text", "text": text}], "timestamp": n * 10 + 1}
    out({"type": "agent_start"})
    out({"type": "message_start", "message": user})
    out({"type": "message_end", "message": user})
    out({"type": "message_start", "message": reply})
    out({"type": "message_end", "message": reply})
    out({"type": "agent_end", "messages": []})
'''

# Asks for a tool approval that names its tool (a confirm, or pi's gate select), then reports
# each answer as a notice.
ASKER = r'''
import json, sys
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if cmd.get("type") == "prompt":
        out({"type": "agent_start"})
        if "select" in cmd.get("message", ""):
            out({"type": "extension_ui_request", "id": "s1", "method": "select", "toolName": "bash",
                 "title": "Run bash?\nls -la", "options": ["Allow once", "Allow bash for this session", "Deny"]})
        else:
            out({"type": "extension_ui_request", "id": "c1", "method": "confirm", "toolName": "Bash",
                 "title": "Allow Bash?", "message": "rm -rf build && make"})
    elif cmd.get("type") == "extension_ui_response":
        answer = {k: v for k, v in cmd.items() if k != "type"}
        out({"type": "extension_ui_request", "id": "n-" + str(cmd.get("id")), "method": "notify",
             "message": "got " + json.dumps(answer, sort_keys=True)})
        out({"type": "agent_end", "messages": []})
'''

ENV = {
    "PI_BIN": str(FAKES / "fake-pi"),
    "CLAUDE_BIN": str(FAKES / "fake-claude"),
    "AMARRE_MAX_SESSIONS": "50",
    "FAKE_PI_MAX_SECONDS": "120",
    "FAKE_CLAUDE_MAX_SECONDS": "120",
}
INSTANCES = [
    command_instance("images", [sys.executable, "-c", IMAGE_AGENT]),
    command_instance("asker", [sys.executable, "-c", ASKER]),
    {"id": "pi", "agent": "pi"},
    {"id": "claude", "agent": "claude-code", "models": ["claude-fake-1", "claude-fake-2"], "allowBypass": True},
]
ws_stack = stack_fixture(env=ENV, instances=INSTANCES)

MAX_IMAGE_B64 = 5 * 1024 * 1024


# -- images made here ------------------------------------------------------------------------

def png(width: int, height: int, noise: bool = False) -> bytes:
    """An RGB PNG: a horizontal gradient (compresses to little), or noise (does not compress)."""
    if noise:
        rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    else:
        row = b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, 90, 255 - x * 255 // width))
        rows = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def file_payload(name: str, data: bytes, mime: str = "image/png") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# -- sessions ----------------------------------------------------------------------------------

class Sessions:
    def __init__(self, stack, tmp: Path):
        self.stack = stack
        self.tmp = tmp
        self.created: list[str] = []

    def create(self, instance: str, scenario: dict | None = None) -> tuple[str, Path | None]:
        env: dict[str, str] = {}
        log = None
        if instance in ("pi", "claude"):
            prefix = "FAKE_PI" if instance == "pi" else "FAKE_CLAUDE"
            log = self.tmp / f"{instance}-{len(self.created)}.log"
            env[f"{prefix}_LOG"] = str(log)
            if scenario is not None:
                path = self.tmp / f"{instance}-{len(self.created)}-scenario.json"
                path.write_text(json.dumps(scenario))
                env[f"{prefix}_SCENARIO"] = str(path)
            if instance == "pi":
                env["FAKE_PI_SESSION_DIR"] = str(self.tmp / "pi-sessions")
        sid = self.stack.create(instance, env=env)["id"] if env else self.stack.create(instance)["id"]
        self.created.append(sid)
        return sid, log


@pytest.fixture
def sessions(ws_stack, tmp_path):
    s = Sessions(ws_stack, tmp_path)
    yield s
    for sid in s.created:
        ws_stack.delete(f"/sessions/{sid}")


def log_lines(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def stdin_records(log: Path) -> list[dict]:
    """What a fake was sent: its log's stdin lines, parsed."""
    out = []
    for line in log_lines(log):
        if isinstance(line.get("stdin"), str):
            try:
                rec = json.loads(line["stdin"])
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def open_session(phone_pages, stack, sid: str, **kw):
    web = phone_pages(stack, session_path(sid), **kw)
    web.wait_live()
    return web


def last_assistant(web) -> str:
    texts = web.assistant_texts()
    return texts[-1] if texts else ""


# -- images ------------------------------------------------------------------------------------

def test_images_attached_scaled_sent_and_shown(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    small, wide = png(300, 200), png(3000, 1500)
    web.page.locator("[data-testid=attach-input]").set_input_files([
        file_payload("small.png", small), file_payload("wide.png", wide)])
    web.page.locator(".attachment.ready").nth(1).wait_for()
    assert web.page.locator(".attachment").count() == 2
    assert web.page.locator(".attachment img").first.get_attribute("src").startswith("data:image/png;base64,")
    web.page.locator(".composer-input").fill("What is in these?")
    web.screenshot("composer-attachments-phone")
    web.page.locator(".composer .btn.send").click()

    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('with 2 image(s)'))")
    reply = last_assistant(web)
    first, second = reply.split("image(s): ", 1)[1].split(" | ")
    # The small one went as it was, byte for byte; the wide one was scaled to 2000 px, still PNG.
    assert first == f"image/png png 300x200 b64={len(base64.b64encode(small))} sha={sha(small)}"
    assert second.startswith("image/png png 2000x1000 ")
    assert reply.startswith("prompt with 2 image(s)")
    # The transcript shows the user's message with both images, as thumbnails.
    thumbs = web.page.locator(".item.user .user-image img")
    thumbs.nth(1).wait_for()
    assert thumbs.count() == 2
    assert all(thumbs.nth(i).get_attribute("src").startswith("data:image/png;base64,") for i in range(2))
    assert web.page.locator(".item.user .user-text").last.inner_text() == "What is in these?"
    assert web.page.locator(".attachment").count() == 0, "sent: the previews are gone"
    web.wait_js("() => [...document.querySelectorAll('.item.user .user-image img')].every(i => i.complete && i.naturalWidth > 0)")
    web.screenshot("transcript-images-phone")
    # Tap: the image at full size.
    web.page.locator(".item.user .user-image").first.click()
    viewer = web.page.locator("[data-testid=image-viewer]")
    viewer.wait_for()
    assert viewer.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    web.screenshot("image-viewer-phone")
    viewer.locator(".image-viewer-close").click()
    viewer.wait_for(state="detached")


def test_an_image_reaches_claude_as_an_image_block(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("claude")
    web = open_session(phone_pages, ws_stack, sid)
    small = png(80, 60)
    web.page.locator("[data-testid=attach-input]").set_input_files([file_payload("s.png", small)])
    web.page.locator(".attachment.ready").wait_for()
    web.send("describe it")
    users = wait_for(lambda: [r for r in stdin_records(log) if r.get("type") == "user"], what="the user message reaching claude")
    content = users[0]["message"]["content"]
    assert content[0] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                      "data": base64.b64encode(small).decode()}}
    assert content[-1] == {"type": "text", "text": "describe it"}
    web.wait_idle()
    thumb = web.page.locator(".item.user .user-image img")
    thumb.wait_for()
    assert thumb.get_attribute("src") == "data:image/png;base64," + base64.b64encode(small).decode()


def test_a_heavy_photo_is_encoded_again_under_the_limit(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    noisy = png(2400, 1800, noise=True)  # ~13 MB: over the limit in pixels and in bytes
    assert len(base64.b64encode(noisy)) > MAX_IMAGE_B64
    web.page.locator("[data-testid=attach-input]").set_input_files([file_payload("photo.png", noisy)])
    web.page.locator(".attachment.ready").wait_for(timeout=60_000)
    web.send("And this one?")
    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('with 1 image(s)'))",
                timeout=30)
    desc = last_assistant(web).split("image(s): ", 1)[1]
    mime, kind, size, b64 = desc.split(" ")[:4]
    # Noise does not fit as a 2000 px PNG: JPEG at a lower quality does.
    assert (mime, kind, size) == ("image/jpeg", "jpeg", "2000x1500"), desc
    assert int(b64.removeprefix("b64=")) <= MAX_IMAGE_B64


def test_what_cannot_be_attached_is_said(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    web.page.locator("[data-testid=attach-input]").set_input_files([
        file_payload("notes.txt", b"hello", "text/plain"), file_payload("broken.png", b"\x89PNG not really")])
    error = web.page.locator(".attach-error")
    error.wait_for()
    web.wait_js("() => /broken\\.png/.test(document.querySelector('.attach-error').textContent)")
    assert "notes.txt: not a supported image (PNG, JPEG, WebP or GIF)." in error.inner_text()
    assert "broken.png: the image could not be read." in error.inner_text()
    assert web.page.locator(".attachment").count() == 0
    # An image needs words to go with it.
    web.page.locator("[data-testid=attach-input]").set_input_files([file_payload("a.png", png(40, 30))])
    web.page.locator(".attachment.ready").wait_for()
    web.page.locator(".composer .btn.send").click()
    web.wait_js("() => /Write a message/.test(document.querySelector('.attach-error').textContent)")
    # Removed with its ×.
    web.page.locator("[data-testid=remove-attachment]").click()
    assert web.page.locator(".attachment").count() == 0


def test_a_pasted_screenshot_is_attached(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    web.page.locator(".composer-input").focus()
    web.eval("""async () => {
      const canvas = document.createElement('canvas'); canvas.width = 120; canvas.height = 80;
      const ctx = canvas.getContext('2d'); ctx.fillStyle = '#2a5bd7'; ctx.fillRect(0, 0, 120, 80);
      const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'image.png', { type: 'image/png' }));
      document.querySelector('.composer-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }""")
    web.page.locator(".attachment.ready").wait_for()
    web.send("pasted")
    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('image/png png 120x80'))")


# -- the "/" palette ---------------------------------------------------------------------------

def test_palette_lists_the_agents_commands(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("pi")
    web = open_session(phone_pages, ws_stack, sid)
    box = web.page.locator(".composer-input")
    box.click()
    web.page.keyboard.type("/")
    palette = web.page.locator("[data-testid=palette]")
    entry = palette.locator(".palette-item[data-name='fake-hello']")
    entry.wait_for()
    assert "Say hello" in entry.inner_text()
    assert box.get_attribute("aria-expanded") == "true"
    web.screenshot("composer-palette-phone")
    # Filtered as one types; nothing matches: said so.
    web.page.keyboard.type("zz")
    palette.locator(".palette-note").wait_for()
    assert "No command matches" in palette.inner_text()
    web.page.keyboard.press("Backspace")
    web.page.keyboard.press("Backspace")
    web.page.keyboard.type("hel")
    entry.wait_for()
    # Keyboard: Enter takes the highlighted entry; the palette closes.
    web.page.keyboard.press("Enter")
    assert box.input_value() == "/fake-hello "
    assert palette.is_hidden()
    # Touch: a tap on an entry.
    box.fill("")
    web.page.keyboard.type("/f")
    entry.tap()
    assert box.input_value() == "/fake-hello "
    # The commands were asked once for this connection, with an id.
    asks = [r for r in stdin_records(log) if r.get("type") == "get_commands"]
    assert len(asks) == 1 and isinstance(asks[0].get("id"), str)


# -- "Allow <tool> for this session" -----------------------------------------------------------

def test_allow_for_this_session_on_a_confirm_card(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("asker")
    web = open_session(phone_pages, ws_stack, sid)
    web.send("go")
    card = web.page.locator(".approval-card")
    card.wait_for()
    buttons = card.locator(".approval-controls .btn")
    assert buttons.all_inner_texts() == ["Deny", "Allow", "Allow Bash for this session"]
    web.screenshot("approval-allow-session-phone")
    card.locator("[data-testid=allow-session]").click()
    web.page.locator(".item.notice", has_text="got ").wait_for()
    got = web.page.locator(".item.notice", has_text="got ").inner_text()
    assert json.loads(got.split("got ", 1)[1]) == {"confirmed": True, "id": "c1", "scope": "session"}
    web.page.locator(".approval-line", has_text="Allowed for this session by you").wait_for()


def test_allow_for_this_session_on_pis_select_card(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("asker")
    web = open_session(phone_pages, ws_stack, sid)
    web.send("select")
    card = web.page.locator(".approval-card")
    card.wait_for()
    # The gate's own "for this session" option is the session button, not a second copy.
    assert card.locator(".approval-options .btn").all_inner_texts() == ["Allow once", "Deny", "Allow bash for this session"]
    card.locator("[data-testid=allow-session]").click()
    web.page.locator(".item.notice", has_text="got ").wait_for()
    got = web.page.locator(".item.notice", has_text="got ").inner_text()
    assert json.loads(got.split("got ", 1)[1]) == {"confirmed": True, "id": "s1", "scope": "session"}


# -- modes ---------------------------------------------------------------------------------------

def open_modes(web):
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    web.page.locator("[data-testid=open-modes]").click()
    dialog = web.page.locator("[data-testid=modes-dialog]")
    dialog.wait_for()
    return dialog


def test_pi_model_and_thinking_level_and_a_refusal_shown(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("pi")
    web = open_session(phone_pages, ws_stack, sid)
    chip = web.page.locator("[data-testid=mode-chip]")
    chip.wait_for()
    assert chip.inner_text() == "fake-model-1"
    dialog = open_modes(web)
    assert dialog.locator("[data-testid=model-select] option:checked").inner_text() == "fake-model-1 (fake)"
    thinking = dialog.locator("[data-testid=thinking-select]")
    assert thinking.input_value() == "off"
    assert dialog.locator("[data-testid=mode-default]").count() == 0, "pi has no permission modes"
    thinking.select_option("high")
    sent = wait_for(lambda: [r for r in stdin_records(log) if r.get("type") == "set_thinking_level"], what="set_thinking_level")
    assert sent[0]["level"] == "high" and isinstance(sent[0].get("id"), str)
    # fake-pi does not know set_thinking_level: its refusal is shown, in the sheet and the transcript.
    status = dialog.locator("[data-testid=modes-status]")
    web.wait_js("() => /Unknown command: set_thinking_level/.test(document.querySelector('[data-testid=modes-status]').textContent)")
    assert "error" in status.get_attribute("class")
    web.screenshot("modes-pi-phone")
    dialog.locator(".dialog-actions .btn").click()
    web.page.locator(".item.error-line", has_text="set_thinking_level failed: Unknown command").wait_for()


def test_claude_permission_mode_model_and_bypass(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("claude")
    web = open_session(phone_pages, ws_stack, sid)
    dialog = open_modes(web)
    dialog.locator("[data-testid=mode-default]").wait_for()
    modes = dialog.locator(".mode-choice input")
    assert [modes.nth(i).get_attribute("value") for i in range(modes.count())] == \
        ["default", "acceptEdits", "plan", "bypassPermissions"]
    dialog.locator("[data-testid=mode-plan]").check()

    def control(subtype):
        return [r for r in stdin_records(log) if r.get("type") == "control_request"
                and (r.get("request") or {}).get("subtype") == subtype]

    wait_for(lambda: control("set_permission_mode"), what="set_permission_mode reaching claude")
    assert control("set_permission_mode")[-1]["request"]["mode"] == "plan"
    chip = web.page.locator("[data-testid=mode-chip]")
    web.wait_js("() => /Plan only/.test(document.querySelector('[data-testid=mode-chip]').textContent)")
    # The model, from the instance's list.
    select = dialog.locator("[data-testid=model-select]")
    web.wait_js("() => document.querySelectorAll('[data-testid=model-select] option').length >= 2")
    select.select_option(label=select.locator("option", has_text="claude-fake-2").inner_text())
    wait_for(lambda: control("set_model"), what="set_model reaching claude")
    assert control("set_model")[-1]["request"]["model"] == "claude-fake-2"
    web.wait_js("() => /claude-fake-2/.test(document.querySelector('[data-testid=mode-chip]').textContent)")
    # Bypass: asked first; cancelled, nothing is sent.
    dialog.locator("[data-testid=mode-bypassPermissions]").check()
    confirm = web.page.locator("dialog.confirm-dialog")
    confirm.wait_for()
    web.screenshot("modes-bypass-confirm-phone")
    confirm.locator(".btn.ghost").click()
    assert dialog.locator("[data-testid=mode-plan]").is_checked()
    assert all(r["request"]["mode"] != "bypassPermissions" for r in control("set_permission_mode"))
    dialog.locator("[data-testid=mode-bypassPermissions]").check()
    web.page.locator("dialog.confirm-dialog [data-testid=confirm]").click()
    wait_for(lambda: control("set_permission_mode")[-1]["request"]["mode"] == "bypassPermissions", what="bypass")
    web.wait_js("() => /Bypass permissions/.test(document.querySelector('[data-testid=mode-chip]').textContent)")
    assert "claude-fake-2" in chip.inner_text()


BASH_TWICE = {"replies": [{"steps": [{"text": "Listing.", "tool": {"name": "Bash", "input": {"command": "ls"}, "output": "a.txt"}},
                                     {"text": "Done."}]}]}


def test_claude_allowed_tool_listed_and_revoked(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("claude", BASH_TWICE)
    web = open_session(phone_pages, ws_stack, sid)
    web.send("list the files")
    card = web.page.locator(".approval-card")
    card.locator("[data-testid=allow-session]").wait_for()
    card.locator("[data-testid=allow-session]").click()
    web.wait_idle()
    web.page.locator(".marker", has_text="Allowed for this session: Bash").wait_for()
    # The menu lists it, with Revoke.
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    allowed = web.page.locator("[data-testid=menu-allowed]")
    allowed.wait_for()
    assert allowed.locator(".allowed-name").all_inner_texts() == ["Bash"]
    web.screenshot("menu-allowed-tools-phone")
    # Allowed: the next call runs without a card.
    web.page.keyboard.press("Escape")
    web.page.locator(".session-title").click()
    web.send("list the files again")
    web.wait_idle()
    assert web.page.locator(".approval-card:not(.closing)").count() == 0
    # Revoked: the next call asks again.
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    allowed.locator("[data-testid=revoke][data-tool=Bash]").click()
    revokes = wait_for(lambda: [r for r in stdin_records(log) if r.get("type") == "revoke_tool_permission"] or
                       web.page.locator(".marker", has_text="No longer allowed without asking: Bash").count(),
                       what="the revoke")
    assert revokes
    web.page.locator(".marker", has_text="No longer allowed without asking: Bash").wait_for()
    assert allowed.is_hidden()
    web.page.locator(".session-title").click()
    web.send("and once more")
    web.page.locator(".approval-card:not(.closing) [data-testid=allow-session]").wait_for()


BASH_STEP = {"text": "Listing.", "tool": {"name": "bash", "input": {"command": "ls"}, "output": "a.txt"}}
PI_BASH = {"replies": [{"steps": [BASH_STEP, {"text": "Done."}]}]}


def test_pi_gate_card_allow_once_then_for_the_session(ws_stack, sessions, phone_pages):
    sid, log = sessions.create("pi", PI_BASH)
    web = open_session(phone_pages, ws_stack, sid)

    def decisions():
        return [line for line in log_lines(log) if "permission" in line]

    open_card = ".approval-card:not(.closing)"
    web.send("list")
    card = web.page.locator(open_card)
    card.locator("[data-testid=allow-session]").wait_for()
    # The gate's options keep working, its "for this session" option is the session button.
    assert card.locator(".approval-options .btn").all_inner_texts() == ["Allow once", "Deny", "Allow bash for this session"]
    card.locator(".approval-options .btn", has_text="Allow once").click()
    web.wait_idle()
    assert [d["allowed"] for d in wait_for(decisions, what="the gate's decision")] == [True]
    web.send("list again")
    web.page.locator(f"{open_card} [data-testid=allow-session]").wait_for()
    web.page.locator(f"{open_card} [data-testid=allow-session]").click()
    web.wait_idle()
    web.page.locator(".marker", has_text="Allowed for this session: bash").wait_for()
    assert [d["allowed"] for d in decisions()] == [True, True]
    # Allowed for the session: the third call runs without a card.
    web.send("and again")
    web.wait_idle()
    web.page.locator(".item.tool").nth(2).wait_for()
    assert web.page.locator(open_card).count() == 0
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    assert web.page.locator("[data-testid=menu-allowed] .allowed-name").all_inner_texts() == ["bash"]


# -- drafts, Enter, fonts, the keyboard ----------------------------------------------------------

def test_draft_kept_across_reloads_and_cleared_on_send(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    other, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    box = web.page.locator(".composer-input")
    box.fill("half a thought")
    web.wait_js("() => localStorage.getItem('amarre.draft.' + location.hash.split('/')[2]) === 'half a thought'")
    web.page.reload()
    web.wait_live()
    assert box.input_value() == "half a thought"
    # Another session has its own (none).
    web.goto(session_path(other))
    web.wait_js("() => document.querySelector('.composer-input') && document.querySelector('.conn-chip.open')")
    assert web.page.locator(".composer-input").input_value() == ""
    web.goto(session_path(sid))
    web.wait_live()
    assert web.page.locator(".composer-input").input_value() == "half a thought"
    web.page.locator(".composer .btn.send").click()
    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('prompt with 0 image(s)'))")
    assert web.eval("() => localStorage.getItem('amarre.draft.' + location.hash.split('/')[2])") is None
    web.page.reload()
    web.wait_live()
    assert web.page.locator(".composer-input").input_value() == ""


def test_enter_is_a_newline_on_a_phone_unless_chosen(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    box = web.page.locator(".composer-input")
    assert web.eval("() => matchMedia('(pointer: coarse)').matches") is True
    assert box.get_attribute("enterkeyhint") == "enter"
    box.click()
    web.page.keyboard.type("one")
    web.page.keyboard.press("Enter")
    web.page.keyboard.type("two")
    assert box.input_value() == "one\ntwo"
    assert web.page.locator(".item.user").count() == 0
    # The device's choice: Enter sends.
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    item = web.page.locator("[data-testid=enter-sends]")
    assert item.get_attribute("aria-checked") == "false"
    item.click()
    assert item.get_attribute("aria-checked") == "true"
    web.page.keyboard.press("Escape")
    box.click()
    web.page.keyboard.press("Enter")
    web.page.locator(".item.user .user-text", has_text="one").wait_for()
    assert web.eval("() => localStorage.getItem('amarre.enterSends')") == "1"
    assert box.get_attribute("enterkeyhint") == "send"
    # Every field is at least 16 px (no zoom on focus).
    sizes = web.eval("() => [...document.querySelectorAll('input, textarea, select')].map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 16, sizes


def test_the_newest_output_stays_in_view_when_the_keyboard_opens(ws_stack, sessions, phone_pages):
    sid, _ = sessions.create("images")
    web = open_session(phone_pages, ws_stack, sid)
    web.send("a long one please")
    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('Line 59'))")
    newest_visible = """() => {
      const last = [...document.querySelectorAll('.transcript-list > .item')].pop();
      const composer = document.querySelector('.composer').getBoundingClientRect();
      const scroller = document.querySelector('.transcript').getBoundingClientRect();
      const r = last.getBoundingClientRect();
      return r.bottom <= composer.top + 1 && r.bottom <= scroller.bottom + 1 && r.bottom > scroller.top;
    }"""
    web.wait_js(newest_visible)
    # The keyboard opens: the page gets shorter (the viewport meta's resizes-content), the box
    # has the focus; the newest line is still above the composer.
    web.page.locator(".composer-input").focus()
    web.page.set_viewport_size({"width": 390, "height": 430})
    web.wait_js(newest_visible)
    web.wait_js("() => { const s = document.querySelector('.transcript'); return s.scrollHeight - s.scrollTop - s.clientHeight < 2; }")
    web.screenshot("keyboard-open-phone")


# -- under a base path (issue 15) ----------------------------------------------------------------

class PrefixedStack(Stack):
    """A stack served under AMARRE_BASE_PATH=/amarre/: ready when /amarre/healthz answers."""

    def _ready(self) -> bool:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{self.label}: {name} exited with {p.returncode} during start-up\n{self.log_tail()}")
        try:
            return self.get("/amarre/healthz", timeout=2).status == 200
        except OSError:
            return False


@pytest.fixture
def prefixed_stack(request):
    yield from _start_and_yield(PrefixedStack(
        env={**ENV, "AMARRE_BASE_PATH": "/amarre/"},
        instances=[command_instance("images", [sys.executable, "-c", IMAGE_AGENT])], label=request.node.name))


def test_served_under_a_base_path_every_request_stays_below_it(prefixed_stack, phone_pages):
    stack = prefixed_stack
    r = stack.post("/amarre/sessions", {"instanceId": "images"})
    assert r.status == 201, r
    sid = r.json["id"]
    web = phone_pages(stack, "/", prefix="/amarre")
    web.page.locator(f"[href='#/s/{sid}']").first.wait_for()
    web.goto(session_path(sid))
    web.wait_live()
    web.page.locator("[data-testid=attach-input]").set_input_files([file_payload("s.png", png(64, 48))])
    web.page.locator(".attachment.ready").wait_for()
    web.send("under a prefix")
    web.wait_js("() => [...document.querySelectorAll('.item.assistant')].some(e => e.innerText.includes('image/png png 64x48'))")
    requests = [u for u in web.requests if not u.startswith("data:")]
    below = (f"http://127.0.0.1:{stack.port}/amarre/", f"ws://127.0.0.1:{stack.port}/amarre/")
    assert requests and all(u.startswith(below) for u in requests), [u for u in requests if not u.startswith(below)]
    assert any(u.startswith(f"ws://127.0.0.1:{stack.port}/amarre/sessions/{sid}") for u in requests)
    stack.delete(f"/amarre/sessions/{sid}")
