"""Issue 17 on a phone: a worktree session's Changes view and a file's diff (wrapped, coloured,
with a +/− gutter, never scrolling sideways), refreshed when a run ends; the file browser; the
create dialog's worktree options; and delete with or without the worktree's changes.

Each test makes its own git repository (git init, a first commit) under tmp_path; the changes
are made by the test itself in the session's worktree. The agent is echo.py: an `agent_end`
record sent to it comes back on every viewer's stream, as the end of a run would."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import agent, command_instance, stack_fixture, wait_for
from web_helpers import browser, pages, session_path  # noqa: F401  (fixtures)

changes_stack = stack_fixture(instances=[command_instance("echo", agent("echo.py"))])

GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
EVIL = '<img src=x onerror="window.__xss=1">'
# One line far wider than a phone, without a place to break: it must wrap, not scroll.
LONG = "const url = '" + "https://example.com/a/very/long/path/" * 12 + "';"

NO_SIDEWAYS_SCROLL = """() => {
  const de = document.documentElement;
  const pane = document.querySelector('.diff-pane:not([hidden])') || document.querySelector('.changes-pane');
  const wide = [...document.querySelectorAll('.diff-line, .changed-file')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).length;
  return {page: de.scrollWidth - de.clientWidth, pane: pane.scrollWidth - pane.clientWidth, wide};
}"""


def git(cwd: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(cwd), *args], env=GIT_ENV, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"git {' '.join(args)} -> {r.returncode}\n{r.stderr}"
    return r.stdout.strip()


def make_repo(parent: Path) -> Path:
    repo = Path(os.path.realpath(parent)) / f"repo-{uuid.uuid4().hex[:8]}"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "amarre e2e")
    git(repo, "config", "user.email", "e2e@amarre.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# demo\n\nA small project.\n")
    (repo / "src" / "app.py").write_text("".join(f"line_{i} = {i}\n" for i in range(1, 61)))
    (repo / "notes.txt").write_text("to be deleted\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def change_worktree(wt: Path) -> None:
    """Two hunks in src/app.py with 30 unchanged lines between, a new file, a deleted one,
    a binary one and a file whose name and contents are markup."""
    lines = [f"line_{i} = {i}\n" for i in range(1, 61)]
    lines[9] = "line_10 = 'ten'  # changed\n"
    lines.insert(10, LONG + "\n")
    lines[45] = "line_45 = 'forty-five'\n"
    del lines[50]
    (wt / "src" / "app.py").write_text("".join(lines))
    (wt / "docs").mkdir()
    (wt / "docs" / "new.md").write_text("# New\n\nWritten by the agent.\n")
    (wt / "notes.txt").unlink()
    (wt / "logo.bin").write_bytes(b"\x89PNG\x00\x01\x02binary")
    (wt / f"{EVIL}.txt").write_text(f"{EVIL}\n<script>window.__xss=2</script>\n")


@pytest.fixture(autouse=True)
def no_sessions_left(changes_stack):
    def clear():
        for s in changes_stack.get("/sessions").json:
            changes_stack.delete(f"/sessions/{s['id']}?worktree=remove")
    clear()
    yield
    clear()


def worktree_session(stack, repo: Path, name: str) -> dict:
    r = stack.post("/sessions", {"instanceId": "echo", "name": name, "worktree": {"repo": str(repo)}})
    assert r.status == 201, r
    return r.json


def open_menu_item(web, testid: str) -> None:
    web.page.locator(".session-bar .icon-button[aria-label='Session actions']").click()
    web.page.locator(f"[data-testid={testid}]").click()


def test_changes_and_a_diff_on_a_phone(changes_stack, pages, tmp_path):
    repo = make_repo(tmp_path)
    s = worktree_session(changes_stack, repo, "phone review")
    wt = Path(s["worktree"]["path"])
    change_worktree(wt)

    web = pages(changes_stack, "phone", session_path(s["id"]))
    web.wait_live()
    branch = web.page.locator("[data-testid=session-branch]")
    assert branch.inner_text() == "⎇ amarre/phone-review"
    open_menu_item(web, "open-changes")
    assert web.page.url.endswith(f"#/s/{s['id']}/changes")
    changes = web.page.locator("[data-testid=changes]")
    files = changes.locator("[data-testid=changed-file]")
    files.nth(4).wait_for()
    # In the server's order (sorted by path).
    api_paths = [f["path"] for f in changes_stack.get(f"/sessions/{s['id']}/changes").json["files"]]
    assert [files.nth(i).get_attribute("data-path") for i in range(files.count())] == api_paths
    assert set(api_paths) == {f"{EVIL}.txt", "docs/new.md", "logo.bin", "notes.txt", "src/app.py"}
    app = changes.locator("[data-testid=changed-file][data-path='src/app.py']")
    assert "M" in app.locator(".change-letter").inner_text() and app.locator(".change-counts").inner_text() == "+3 −3"
    assert changes.locator("[data-testid=changed-file][data-path='logo.bin'] .change-counts").inner_text() == "binary"
    assert changes.locator("[data-testid=changed-file][data-path='notes.txt'] .change-letter").inner_text() == "D"
    # Markup in a file name is text.
    assert changes.locator(f"[data-testid=changed-file][data-path='{EVIL}.txt'] .change-name").inner_text() == f"{EVIL}.txt"
    assert changes.locator("img").count() == 0
    assert "5 files changed" in changes.locator(".changes-title").inner_text()
    scroll = web.eval(NO_SIDEWAYS_SCROLL)
    assert scroll == {"page": 0, "pane": 0, "wide": 0}, scroll
    web.screenshot("changes-phone")

    # The diff: two hunks, the lines between them folded, the long line wrapped.
    app.click()
    diff = web.page.locator("[data-testid=diff]")
    diff.wait_for()
    assert web.page.url.endswith(f"#/s/{s['id']}/changes?path=src%2Fapp.py")
    assert diff.locator(".diff-hunk").count() == 2
    added = diff.locator(".diff-add .diff-text").all_inner_texts()
    removed = diff.locator(".diff-del .diff-text").all_inner_texts()
    assert added == ["line_10 = 'ten'  # changed", LONG, "line_45 = 'forty-five'"], added
    assert removed == ["line_10 = 10", "line_45 = 45", "line_50 = 50"], removed
    assert diff.locator(".diff-add .diff-sign").first.inner_text() == "+"
    assert diff.locator(".diff-del .diff-sign").first.inner_text() == "−"
    # Line numbers: old and new sides.
    first_del = diff.locator(".diff-del").first
    assert (first_del.get_attribute("data-old"), first_del.get_attribute("data-new")) == ("10", "")
    long_line = diff.locator(".diff-add", has_text="example.com").first
    assert long_line.bounding_box()["height"] > 3 * 18, "the long line wraps onto several rows"
    colours = web.eval("""() => ['.diff-add', '.diff-del', '.diff-ctx'].map((s) =>
        getComputedStyle(document.querySelector(s)).backgroundColor)""")
    assert len(set(colours)) == 3, colours
    scroll = web.eval(NO_SIDEWAYS_SCROLL)
    assert scroll == {"page": 0, "pane": 0, "wide": 0}, scroll
    web.screenshot("diff-phone")

    # The unchanged lines between the hunks open from the file's text.
    gaps = diff.locator("button.diff-gap")
    assert gaps.all_inner_texts() == ["⋯ Show 6 unchanged lines", "⋯ Show 28 unchanged lines"]
    gaps.nth(1).click()
    diff.locator(".diff-ctx[data-new='25']").wait_for()
    assert diff.locator(".diff-ctx[data-new='25'] .diff-text").inner_text() == "line_24 = 24"
    assert diff.locator(".diff-ctx[data-new='25']").get_attribute("data-old") == "24"
    assert web.eval(NO_SIDEWAYS_SCROLL)["page"] == 0

    # A new file: every line added; a binary file says so.
    web.page.go_back()
    files.first.wait_for()
    changes.locator("[data-testid=changed-file][data-path='docs/new.md']").click()
    diff.wait_for()
    assert diff.locator(".diff-add").count() == 3 and diff.locator(".diff-del").count() == 0
    web.page.go_back()
    changes.locator("[data-testid=changed-file][data-path='logo.bin']").click()
    web.page.locator(".diff-pane", has_text="Binary file").wait_for()
    web.page.go_back()
    changes.locator(f"[data-testid=changed-file][data-path='{EVIL}.txt']").click()
    diff.wait_for()
    assert diff.locator(".diff-add .diff-text").all_inner_texts() == [EVIL, "<script>window.__xss=2</script>"]
    assert web.eval("() => window.__xss === undefined && !document.querySelector('.diff img, .diff script')")

    # The end of a run refreshes the open view.
    web.page.go_back()
    files.first.wait_for()
    ws = changes_stack.ws(s["id"])
    try:
        ws.recv_record("amarre.hello")
        changes_stack.wait_clients(s["id"], 2)
        (wt / "later.txt").write_text("written at the end of the run\n")
        ws.send({"type": "agent_end", "messages": []})
        changes.locator("[data-testid=changed-file][data-path='later.txt']").wait_for()
    finally:
        ws.close()
    assert "6 files changed" in changes.locator(".changes-title").inner_text()


def test_changes_of_a_directory_outside_git_say_so(changes_stack, pages, tmp_path):
    plain = Path(os.path.realpath(tmp_path)) / "plain"
    plain.mkdir()
    r = changes_stack.post("/sessions", {"instanceId": "echo", "cwd": str(plain)})
    assert r.status == 201, r
    web = pages(changes_stack, "phone", f"/#/s/{r.json['id']}/changes")
    message = web.page.locator("[data-testid=changes-message]")
    message.wait_for()
    assert "not in a git repository" in message.inner_text()
    assert web.page.locator("[data-testid=changed-file]").count() == 0


def test_the_file_browser(changes_stack, pages, tmp_path):
    repo = make_repo(tmp_path)
    s = worktree_session(changes_stack, repo, "browse")
    wt = Path(s["worktree"]["path"])
    (wt / "logo.bin").write_bytes(b"\x00\x01binary")
    (wt / f"{EVIL}.md").write_text(LONG + "\n" + EVIL + "\n")
    os.symlink("/etc", wt / "escape")

    web = pages(changes_stack, "phone", session_path(s["id"]))
    web.wait_live()
    open_menu_item(web, "open-files")
    browser_pane = web.page.locator("[data-testid=files]")
    entries = browser_pane.locator("[data-testid=file-entry]")
    entries.first.wait_for()
    names = entries.evaluate_all("(els) => els.map((e) => e.dataset.name)")
    assert names[0] == "src", names  # directories first (a worktree's .git is a file)
    assert {"README.md", "logo.bin", "notes.txt", f"{EVIL}.md", "escape"} <= set(names)
    # Into src/, then a file; the breadcrumb leads back up.
    browser_pane.locator("[data-testid=file-entry][data-name=src]").click()
    browser_pane.locator("[data-testid=file-entry][data-name='app.py']").click()
    text = browser_pane.locator("[data-testid=file-text]")
    text.wait_for()
    assert text.inner_text().startswith("line_1 = 1\nline_2 = 2\n")
    crumbs = web.page.locator("[data-testid=breadcrumbs]")
    assert crumbs.inner_text().replace("\n", "") == f"{wt.name}/src/app.py"
    crumbs.locator("a", has_text="src").click()
    browser_pane.locator("[data-testid=file-entry][data-name='app.py']").wait_for()
    crumbs.locator("a").first.click()
    browser_pane.locator("[data-testid=file-entry][data-name=src]").wait_for()
    # Markup as text, wrapped; binary said.
    browser_pane.locator(f"[data-testid=file-entry][data-name='{EVIL}.md']").click()
    text.wait_for()
    assert text.inner_text() == LONG + "\n" + EVIL + "\n"
    assert web.eval("() => window.__xss === undefined && document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    web.page.go_back()
    browser_pane.locator("[data-testid=file-entry][data-name='logo.bin']").click()
    browser_pane.locator(".diff-notice", has_text="Binary file").wait_for()
    # A symlink out of the directory, and a path that climbs out: refused, said plainly.
    web.page.go_back()
    browser_pane.locator("[data-testid=file-entry][data-name=escape]").click()
    message = web.page.locator("[data-testid=files-message]")
    message.wait_for()
    assert "Outside the session's directory" in message.inner_text()
    web.goto(f"/#/s/{s['id']}/files?path=..%2F..")
    web.page.locator("[data-testid=files-message]", has_text="Outside the session's directory").wait_for()


def test_create_a_worktree_session_in_the_dialog_and_delete_it(changes_stack, pages, tmp_path):
    repo = make_repo(tmp_path)
    web = pages(changes_stack, "phone", "/")
    web.page.locator(".empty").wait_for()

    def create(branch: str) -> dict:
        web.page.locator(".list-bar .new-session").click()
        dialog = web.page.locator("dialog.create-dialog")
        dialog.wait_for()
        assert not dialog.locator("[data-testid=worktree-repo]").is_visible()
        dialog.locator("[data-testid=worktree-toggle]").check()
        assert not dialog.locator("#create-cwd").is_visible()
        repo_input = dialog.locator("[data-testid=worktree-repo]")
        if not repo_input.input_value():
            repo_input.fill(str(repo))
        assert repo_input.input_value() == str(repo)  # remembered from the first time
        dialog.locator("#create-name").fill(f"ui {branch}")
        assert dialog.locator("[data-testid=worktree-branch]").get_attribute("placeholder") == f"amarre/ui-{branch}"
        dialog.locator("[data-testid=worktree-branch]").fill(f"ui/{branch}")
        if branch == "kept":
            web.screenshot("create-worktree-phone")
        dialog.locator("button[type=submit]").click()
        web.wait_live()
        assert web.page.locator("[data-testid=session-branch]").inner_text() == f"⎇ ui/{branch}"
        listed = [x for x in changes_stack.get("/sessions").json if x.get("name") == f"ui {branch}"]
        assert len(listed) == 1 and listed[0]["worktree"]["branch"] == f"ui/{branch}", listed
        assert "cwd" not in listed[0] or listed[0]["cwd"] == listed[0]["worktree"]["path"]
        return listed[0]

    # A refusal from the server is shown in the dialog.
    web.page.locator(".list-bar .new-session").click()
    dialog = web.page.locator("dialog.create-dialog")
    dialog.locator("[data-testid=worktree-toggle]").check()
    dialog.locator("[data-testid=worktree-repo]").fill(str(tmp_path))
    dialog.locator("button[type=submit]").click()
    dialog.locator(".form-error", has_text="is not a git repository").wait_for()
    dialog.locator("button", has_text="Cancel").click()

    kept = create("kept")
    wt = Path(kept["worktree"]["path"])
    (wt / "dirty.txt").write_text("not committed\n")
    open_menu_item(web, "delete-session")
    confirm = web.page.locator("dialog.confirm-dialog")
    assert confirm.locator("[data-testid=worktree-force]").is_checked() is False
    confirm.locator("[data-testid=confirm]").click()
    notice = web.page.locator("[data-testid=worktree-kept]")
    notice.wait_for()
    web.screenshot("worktree-kept-phone")
    assert str(wt) in notice.inner_text() and "not committed" in notice.inner_text()
    notice.locator("button", has_text="OK").click()
    assert wt.is_dir()
    wait_for(lambda: changes_stack.get(f"/sessions/{kept['id']}").status == 404, what="the session to be gone")

    web.page.locator(".empty").wait_for()
    forced = create("forced")
    wt = Path(forced["worktree"]["path"])
    (wt / "dirty.txt").write_text("not committed either\n")
    open_menu_item(web, "delete-session")
    confirm.locator("[data-testid=worktree-force]").check()
    confirm.locator("[data-testid=confirm]").click()
    web.page.locator(".empty").wait_for()
    assert web.page.locator("[data-testid=worktree-kept]").count() == 0
    wait_for(lambda: not wt.exists(), what="the forced worktree to be removed")
    assert git(repo, "branch", "--list", "ui/forced").lstrip("*+ ") == "ui/forced", "the branch is kept"
