"""Issue 17 through the real stack: a git worktree per session, the changes an agent made
(`GET /sessions/<id>/changes`), a file browser confined to the session's directory
(`GET /sessions/<id>/files`), worktree cleanup on delete, and the CLI's `new --worktree` and
`changes`. Every repository is a real one made by the test (git init, a first commit) in its
own tmp_path, under a unique name (worktree paths are `<root>/<repo-name>/<branch>`).

The agent is a small inline program (`WRITER`): it writes the file a test asks for in its own
working directory and answers `e2e.written` once the file is closed, so nothing is waited for
but that record."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import PY, Response, Stack, _start_and_yield, command_instance

WRITER = r'''
import base64, json, os, sys
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if not isinstance(cmd, dict):
        continue
    kind = cmd.get("type")
    if kind == "e2e.write":
        path = cmd["path"]
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        data = base64.b64decode(cmd["b64"]) if "b64" in cmd else cmd["text"].encode()
        with open(path, "wb") as f:
            f.write(data)
        out({"type": "e2e.written", "path": path, "cwd": os.getcwd()})
    elif kind == "e2e.cwd":
        out({"type": "e2e.cwd", "cwd": os.getcwd()})
    elif kind == "e2e.exit":
        os._exit(int(cmd.get("code", 0)))
'''

SHA = re.compile(r"[0-9a-f]{40}")
DIFF_MAX = 4096
UNKNOWN_ID = "0123456789ab"
GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


# -- git helpers -----------------------------------------------------------------------------

def git(cwd: Path | str, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(cwd), *args], env=GIT_ENV, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"git {' '.join(args)} in {cwd} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout.strip()


def make_repo(parent: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A git repository with one commit holding `files` (README.md by default), on branch main."""
    repo = Path(os.path.realpath(parent)) / f"repo-{uuid.uuid4().hex[:8]}"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "amarre e2e")
    git(repo, "config", "user.email", "e2e@amarre.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    for rel, content in (files or {"README.md": "# test repo\n"}).items():
        write(repo / rel, content)
    commit_all(repo, "first")
    return repo


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def worktree_paths(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [line[len("worktree "):] for line in out.splitlines() if line.startswith("worktree ")]


def branch_exists(repo: Path, branch: str) -> bool:
    return git(repo, "branch", "--list", branch).lstrip("*+ ") == branch


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix}{i}\n" for i in range(1, n + 1))


# -- the stack -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def module_dir(tmp_path_factory) -> Path:
    return Path(os.path.realpath(tmp_path_factory.mktemp("worktrees")))


@pytest.fixture(scope="module")
def allowed_repo(module_dir) -> Path:
    """The one repository the `restricted` instance allows (made before the stack starts)."""
    return make_repo(module_dir)


@pytest.fixture(scope="module")
def instance_root(module_dir) -> Path:
    return module_dir / "instance-root"


@pytest.fixture(scope="module")
def wt_stack(allowed_repo, instance_root):
    instances = [
        command_instance("writer", [PY, "-c", WRITER]),
        command_instance("restricted", [PY, "-c", WRITER], repos=[str(allowed_repo)]),
        command_instance("rooted", [PY, "-c", WRITER], worktreeRoot=str(instance_root)),
    ]
    env = {"AMARRE_MAX_SESSIONS": "200", "AMARRE_DIFF_MAX_BYTES": str(DIFF_MAX)}
    yield from _start_and_yield(Stack(env=env, instances=instances, label="worktrees"))


class Sessions:
    """Creates sessions on a stack; deletes every one it saw created after the test."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.ids: list[str] = []

    def post(self, **body) -> Response:
        body.setdefault("instanceId", "writer")
        r = self.stack.post("/sessions", body)
        if r.status == 201:
            self.ids.append(r.json["id"])
        return r

    def create(self, **body) -> dict:
        r = self.post(**body)
        assert r.status == 201, f"POST /sessions {body} -> {r}"
        return r.json

    def bad(self, **body) -> str:
        """POSTs a body that must be refused with 400 bad_request; returns the detail."""
        r = self.post(**body)
        assert r.status == 400, f"POST /sessions {body} -> {r}"
        assert r.json["error"] == "bad_request", r
        assert isinstance(r.json.get("detail"), str) and r.json["detail"], r
        return r.json["detail"]

    def cleanup(self) -> None:
        for sid in reversed(self.ids):
            self.stack.delete(f"/sessions/{sid}")


@pytest.fixture
def made(wt_stack):
    s = Sessions(wt_stack)
    yield s
    s.cleanup()


def wt_create(made: Sessions, repo: Path, **worktree) -> dict:
    """A worktree session on `repo`; extra top-level fields with a leading `_`: name, instanceId."""
    top = {k[1:]: worktree.pop(k) for k in list(worktree) if k.startswith("_")}
    return made.create(worktree={"repo": str(repo), **worktree}, **top)


def changes(stack: Stack, sid: str, path: str | None = None):
    suffix = "" if path is None else f"?path={quote(path, safe='')}"
    return stack.get(f"/sessions/{sid}/changes{suffix}")


def changes_ok(stack: Stack, sid: str) -> dict:
    r = changes(stack, sid)
    assert r.status == 200, r
    return r.json


def diff_of(stack: Stack, sid: str, path: str) -> dict:
    r = changes(stack, sid, path)
    assert r.status == 200, r
    return r.json


def files(stack: Stack, sid: str, path: str | None = None):
    suffix = "" if path is None else f"?path={quote(path, safe='')}"
    return stack.get(f"/sessions/{sid}/files{suffix}")


def agent_write(stack: Stack, clients, sid: str, path: str, content: str | bytes) -> dict:
    ws = clients(stack.ws(sid))
    if isinstance(content, bytes):
        ws.send({"type": "e2e.write", "path": path, "b64": base64.b64encode(content).decode()})
    else:
        ws.send({"type": "e2e.write", "path": path, "text": content})
    return ws.recv_record("e2e.written")


def by_path(listing: dict) -> dict[str, dict]:
    return {f["path"]: f for f in listing["files"]}


# -- worktree sessions -----------------------------------------------------------------------

def test_two_sessions_on_one_repo_get_separate_worktrees_and_branches(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    base = head(repo)
    a = wt_create(made, repo, _name="alpha")
    b = wt_create(made, repo, _name="beta")
    root = Path(os.path.realpath(wt_stack.dir)) / "worktrees" / repo.name
    for s, name in ((a, "alpha"), (b, "beta")):
        wt = s["worktree"]
        assert wt == {"repo": str(repo), "branch": f"amarre/{name}", "base": base,
                      "path": str(root / "amarre" / name)}, s
        assert s["cwd"] == wt["path"]
        assert wt_stack.summary(s["id"])["worktree"] == wt
        assert head(wt["path"]) == base
        assert git(wt["path"], "rev-parse", "--abbrev-ref", "HEAD") == f"amarre/{name}"
        # The agent runs in its worktree.
        assert agent_write(wt_stack, clients, s["id"], f"{name}.txt", f"from {name}\n")["cwd"] == wt["path"]
    assert set(worktree_paths(repo)) >= {a["cwd"], b["cwd"]}
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout is left alone
    # Each sees its own file only.
    assert [f["path"] for f in changes_ok(wt_stack, a["id"])["files"]] == ["alpha.txt"]
    assert [f["path"] for f in changes_ok(wt_stack, b["id"])["files"]] == ["beta.txt"]
    assert not (repo / "alpha.txt").exists() and not (repo / "beta.txt").exists()


def test_unnamed_session_branch_defaults_to_its_id(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo)
    assert s["worktree"]["branch"] == f"amarre/{s['id']}", s
    assert s["cwd"].endswith(f"/{repo.name}/amarre/{s['id']}")


def test_session_name_is_made_a_safe_branch_name(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="fix the   bug#2")
    assert s["worktree"]["branch"] == "amarre/fix-the-bug-2", s


def test_given_branch_and_base(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    first = head(repo)
    write(repo / "second.txt", "2\n")
    commit_all(repo, "second")
    s = wt_create(made, repo, branch="feature/x", base=first)
    wt = s["worktree"]
    assert (wt["branch"], wt["base"]) == ("feature/x", first), s
    assert wt["path"] == str(Path(os.path.realpath(wt_stack.dir)) / "worktrees" / repo.name / "feature" / "x")
    assert head(wt["path"]) == first
    assert git(repo, "rev-parse", "refs/heads/feature/x") == first
    assert not (Path(wt["path"]) / "second.txt").exists()
    c = changes_ok(wt_stack, s["id"])
    assert (c["root"], c["base"], c["files"]) == (wt["path"], first, [])


def test_base_given_as_a_ref_is_resolved_to_a_sha(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    git(repo, "tag", "v1")
    tagged = head(repo)
    write(repo / "later.txt", "later\n")
    commit_all(repo, "later")
    s = wt_create(made, repo, branch="from-tag", base="v1")
    assert s["worktree"]["base"] == tagged, s
    c = changes_ok(wt_stack, s["id"])
    assert (c["base"], c["baseRef"]) == (tagged, "v1")


def test_bad_base_is_400_with_gits_error(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    made.bad(worktree={"repo": str(repo), "branch": "nobase", "base": "no-such-ref"})
    assert not branch_exists(repo, "nobase")
    assert worktree_paths(repo) == [str(repo)]


def test_existing_branch_not_checked_out_gets_a_worktree(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    first = head(repo)
    git(repo, "branch", "existing")
    write(repo / "more.txt", "more\n")
    commit_all(repo, "more")
    s = wt_create(made, repo, branch="existing")
    assert s["worktree"]["branch"] == "existing"
    assert SHA.fullmatch(s["worktree"]["base"]), s
    assert head(s["cwd"]) == first  # the branch is checked out as it is, not reset
    assert git(repo, "rev-parse", "refs/heads/existing") == first


def test_a_worktree_the_user_made_elsewhere_is_never_taken(wt_stack, made, tmp_path):
    """A branch checked out in a worktree outside amarre's root is the user's: 400, untouched."""
    repo = make_repo(tmp_path)
    elsewhere = Path(os.path.realpath(tmp_path)) / "by-hand"
    git(repo, "worktree", "add", "-q", "-b", "manual", str(elsewhere))
    write(elsewhere / "work.txt", "in progress\n")
    detail = made.bad(worktree={"repo": str(repo), "branch": "manual"})
    assert str(elsewhere) in detail and "not amarre's" in detail, detail
    assert (elsewhere / "work.txt").read_text() == "in progress\n"
    assert sorted(worktree_paths(repo)) == sorted([str(repo), str(elsewhere)])


def test_branch_in_use_by_a_running_session_is_400(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    a = wt_create(made, repo, branch="shared")
    detail = made.bad(worktree={"repo": str(repo), "branch": "shared"})
    assert "shared" in detail and a["id"] in detail, detail
    # The default branch of a name in use is refused the same way.
    b = wt_create(made, repo, _name="twin")
    detail = made.bad(worktree={"repo": str(repo)}, name="twin")
    assert b["id"] in detail, detail


def test_branch_in_use_by_a_crashed_session_is_400(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    a = wt_create(made, repo, branch="crashy")
    clients(wt_stack.ws(a["id"])).send({"type": "e2e.exit", "code": 3})
    wt_stack.wait_status(a["id"], "crashed")
    detail = made.bad(worktree={"repo": str(repo), "branch": "crashy"})
    assert a["id"] in detail, detail


def test_worktree_of_a_stopped_session_is_reused(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    a = wt_create(made, repo, branch="resume")
    agent_write(wt_stack, clients, a["id"], "left.txt", "left behind\n")
    r = wt_stack.post(f"/sessions/{a['id']}/stop")
    assert r.status == 200 and r.json["status"] == "stopped", r
    b = wt_create(made, repo, branch="resume")
    assert b["cwd"] == a["cwd"] and b["worktree"]["branch"] == "resume", b
    assert "left.txt" in by_path(changes_ok(wt_stack, b["id"]))
    made.ids.remove(b["id"])
    wt_stack.delete(f"/sessions/{b['id']}")  # before a's delete, whatever that does to the tree


@pytest.mark.parametrize("branch", ["-x", "a..b", "a b", "a~1", "a:b", "x.lock", "-"])
def test_unsafe_branch_names_are_400(wt_stack, made, tmp_path, branch):
    repo = make_repo(tmp_path)
    made.bad(worktree={"repo": str(repo), "branch": branch})
    assert worktree_paths(repo) == [str(repo)]
    assert git(repo, "branch", "--list").split() == ["*", "main"]


def test_repo_that_is_not_a_git_repository_is_400(wt_stack, made, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "is not a git repository" in made.bad(worktree={"repo": str(plain)})
    assert "is not a git repository" in made.bad(worktree={"repo": str(tmp_path / "missing")})


def test_repo_given_as_a_subdirectory_uses_the_top_level(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path, {"src/main.py": "print(1)\n"})
    s = wt_create(made, Path(repo / "src"), branch="sub")
    assert s["worktree"]["repo"] == str(repo), s
    assert s["cwd"].endswith(f"/{repo.name}/sub")


@pytest.mark.parametrize("worktree", [
    "/tmp", ["/tmp"], 7, {}, {"repo": 7}, {"repo": "relative/repo"}, {"repo": "/tmp", "branch": 1},
    {"repo": "/tmp", "base": ["main"]},
], ids=["string", "array", "number", "no-repo", "repo-number", "relative", "branch-number", "base-array"])
def test_malformed_worktree_is_400(wt_stack, made, worktree):
    made.bad(worktree=worktree)


def test_cwd_and_worktree_together_are_400(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    made.bad(worktree={"repo": str(repo)}, cwd=str(repo))
    assert worktree_paths(repo) == [str(repo)]


def test_instance_repos_restrict_the_repositories(wt_stack, made, allowed_repo, tmp_path):
    other = make_repo(tmp_path)
    detail = made.bad(instanceId="restricted", worktree={"repo": str(other)})
    assert str(allowed_repo) in detail, detail
    assert worktree_paths(other) == [str(other)]
    s = made.create(instanceId="restricted", worktree={"repo": str(allowed_repo)}, name="ok")
    assert s["worktree"]["repo"] == str(allowed_repo)
    # Other instances are not restricted.
    assert wt_create(made, other)["worktree"]["repo"] == str(other)


def test_instance_worktree_root_is_used(wt_stack, made, instance_root, tmp_path):
    repo = make_repo(tmp_path)
    s = made.create(instanceId="rooted", worktree={"repo": str(repo)}, name="rooted")
    assert s["worktree"]["path"] == str(instance_root / repo.name / "amarre" / "rooted"), s
    assert s["cwd"] == s["worktree"]["path"] and Path(s["cwd"], "README.md").is_file()


def test_amarre_worktree_root_env_is_the_default_root(stack_factory, tmp_path):
    root = tmp_path / "wt-root"
    stack = stack_factory(env={"AMARRE_WORKTREE_ROOT": str(root)},
                          instances=[command_instance("writer", [PY, "-c", WRITER])])
    made = Sessions(stack)
    try:
        repo = make_repo(tmp_path)
        s = wt_create(made, repo, _name="env-root")
        assert s["worktree"]["path"] == str(root / repo.name / "amarre" / "env-root"), s
        assert Path(s["cwd"], "README.md").is_file()
        assert not (stack.dir / "worktrees").exists()
    finally:
        made.cleanup()


# -- changes ---------------------------------------------------------------------------------

def test_a_file_the_agent_writes_shows_in_changes_with_its_diff(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path, {"README.md": "# r\n", ".gitignore": "*.log\n"})
    s = wt_create(made, repo, _name="writes")
    assert changes_ok(wt_stack, s["id"])["files"] == []
    agent_write(wt_stack, clients, s["id"], "notes/hello.txt", "hello\nworld\n")
    agent_write(wt_stack, clients, s["id"], "debug.log", "ignored\n")
    c = changes_ok(wt_stack, s["id"])
    assert (c["root"], c["base"]) == (s["cwd"], s["worktree"]["base"]), c
    assert isinstance(c["baseRef"], str) and c["baseRef"], c
    assert c["files"] == [{"path": "notes/hello.txt", "status": "added", "added": 2, "removed": 0,
                           "binary": False}], c
    d = diff_of(wt_stack, s["id"], "notes/hello.txt")
    assert (d["path"], d["status"], d["truncated"], d["binary"]) == ("notes/hello.txt", "added", False, False), d
    assert "--- /dev/null" in d["diff"] and "+++ b/notes/hello.txt" in d["diff"], d
    assert "@@ -0,0 +1,2 @@" in d["diff"]
    assert "\n+hello\n+world\n" in d["diff"]
    assert changes(wt_stack, s["id"], "debug.log").status == 404  # ignored: not a change


def test_modified_deleted_renamed_and_binary(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path, {"a.txt": lines(3), "b.txt": lines(2, "b"), "c.txt": lines(20, "rename me "),
                                "zz.txt": "same\n"})
    s = wt_create(made, repo, _name="kinds")
    wt = Path(s["cwd"])
    write(wt / "a.txt", "line1\nLINE2\nline3\nline4\n")  # 1 line changed, 1 added
    (wt / "b.txt").unlink()
    git(wt, "mv", "c.txt", "d.txt")
    write(wt / "image.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    c = changes_ok(wt_stack, s["id"])
    assert c["files"] == [
        {"path": "a.txt", "status": "modified", "added": 2, "removed": 1, "binary": False},
        {"path": "b.txt", "status": "deleted", "added": 0, "removed": 2, "binary": False},
        {"path": "d.txt", "status": "renamed", "oldPath": "c.txt", "added": 0, "removed": 0, "binary": False},
        {"path": "image.bin", "status": "added", "added": 0, "removed": 0, "binary": True},
    ], c
    d = diff_of(wt_stack, s["id"], "a.txt")
    assert (d["status"], d["binary"], d["truncated"]) == ("modified", False, False)
    assert "\n-line2\n+LINE2\n" in d["diff"] and "\n+line4\n" in d["diff"], d
    d = diff_of(wt_stack, s["id"], "b.txt")
    assert d["status"] == "deleted" and "\n-b1\n-b2\n" in d["diff"] and "+++ /dev/null" in d["diff"], d
    d = diff_of(wt_stack, s["id"], "image.bin")
    assert (d["status"], d["binary"]) == ("added", True), d
    assert "\x00" not in d["diff"]
    d = diff_of(wt_stack, s["id"], "d.txt")
    assert d["status"] == "renamed" and "c.txt" in d["diff"], d


def test_a_commit_in_the_worktree_shows_against_the_base(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path, {"README.md": lines(3), "old.txt": lines(10, "old ")})
    s = wt_create(made, repo, _name="commits")
    base, wt = s["worktree"]["base"], Path(s["cwd"])
    write(wt / "feature.py", "def f():\n    return 1\n")
    write(wt / "README.md", lines(3) + "more\n")
    git(wt, "mv", "old.txt", "new.txt")
    commit_all(wt, "the agent's work")
    # Then one uncommitted change on top, and a commit on main the worktree never saw.
    write(wt / "feature.py", "def f():\n    return 2\n")
    write(repo / "main-only.txt", "main\n")
    commit_all(repo, "on main")
    c = changes_ok(wt_stack, s["id"])
    assert c["base"] == base and c["root"] == str(wt), c
    assert c["files"] == [
        {"path": "README.md", "status": "modified", "added": 1, "removed": 0, "binary": False},
        {"path": "feature.py", "status": "added", "added": 2, "removed": 0, "binary": False},
        {"path": "new.txt", "status": "renamed", "oldPath": "old.txt", "added": 0, "removed": 0, "binary": False},
    ], c
    d = diff_of(wt_stack, s["id"], "feature.py")
    assert "\n+    return 2\n" in d["diff"] and "return 1" not in d["diff"], d
    # Everything committed: the commit alone still shows.
    commit_all(wt, "more work")
    assert [f["path"] for f in changes_ok(wt_stack, s["id"])["files"]] == ["README.md", "feature.py", "new.txt"]


def test_big_diff_is_truncated_at_a_line_end(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="big")
    write(Path(s["cwd"]) / "big.txt", lines(2000, "a fairly long line of generated text number "))
    f = by_path(changes_ok(wt_stack, s["id"]))["big.txt"]
    assert (f["added"], f["removed"], f["binary"]) == (2000, 0, False), f
    d = diff_of(wt_stack, s["id"], "big.txt")
    assert d["truncated"] is True, {k: v for k, v in d.items() if k != "diff"}
    assert 0 < len(d["diff"].encode()) <= DIFF_MAX
    assert d["diff"].endswith("\n")
    assert "+a fairly long line of generated text number 1\n" in d["diff"]
    write(Path(s["cwd"]) / "small.txt", "small\n")
    assert diff_of(wt_stack, s["id"], "small.txt")["truncated"] is False


def test_path_that_is_not_a_change_is_404(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path, {"README.md": "# r\n", "kept.txt": "kept\n"})
    s = wt_create(made, repo, _name="notchange")
    write(Path(s["cwd"]) / "changed.txt", "new\n")
    for path in ("kept.txt", "README.md", "nowhere.txt", "../outside", ".git/HEAD"):
        r = changes(wt_stack, s["id"], path)
        assert r.status == 404, (path, r)
        assert r.json["error"] == "not_found", r
    assert changes(wt_stack, s["id"], "changed.txt").status == 200


def test_changes_of_a_session_not_in_a_repository_is_404(wt_stack, made, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    s = made.create(cwd=str(plain))
    r = changes(wt_stack, s["id"])
    assert r.status == 404, r
    assert r.json["error"] == "not_found" and "is not in a git repository" in r.json["detail"], r
    assert changes(wt_stack, s["id"], "x.txt").status == 404


def test_changes_of_an_unknown_session_is_404(wt_stack):
    assert wt_stack.get(f"/sessions/{UNKNOWN_ID}/changes").status == 404
    assert wt_stack.get(f"/sessions/{UNKNOWN_ID}/files").status == 404


def test_plain_session_in_a_repo_shows_changes_against_head(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path, {"README.md": "# r\n", "src/app.py": "x = 1\n"})
    write(repo / "src" / "app.py", "x = 2\n")
    commit_all(repo, "second")
    s = made.create(cwd=str(repo / "src"))  # a subdirectory: root is the top level
    assert "worktree" not in s
    agent_write(wt_stack, clients, s["id"], "new.py", "y = 1\n")  # in src/
    write(repo / "README.md", "# r\nmore\n")
    c = changes_ok(wt_stack, s["id"])
    assert (c["root"], c["base"], c["baseRef"]) == (str(repo), head(repo), "HEAD"), c
    assert c["files"] == [
        {"path": "README.md", "status": "modified", "added": 1, "removed": 0, "binary": False},
        {"path": "src/new.py", "status": "added", "added": 1, "removed": 0, "binary": False},
    ], c
    d = diff_of(wt_stack, s["id"], "src/new.py")
    assert "--- /dev/null" in d["diff"] and "\n+y = 1\n" in d["diff"], d
    r = wt_stack.delete(f"/sessions/{s['id']}")
    assert r.status == 204 and r.text == "", r
    made.ids.remove(s["id"])
    assert (repo / "src" / "new.py").is_file() and worktree_paths(repo) == [str(repo)]


# -- files -----------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path) -> Path:
    """A repository to browse, with a file beside it (outside) and symlinks both ways."""
    write(tmp_path / "outside.txt", "secret\n")
    repo = make_repo(tmp_path, {
        "file.txt": "hello\n",
        "src/main.py": "print('hi')\n",
        "src/util/helpers.py": "pass\n",
        "src/b.txt": "b\n",
        "src/a.txt": "a\n",
        "bin.dat": b"\x00\x01\x02binary",
        "bad.txt": b"ok \xff\xfe end\n",
    })
    write(repo / "big.txt", b"x" * (600 * 1024))
    os.symlink("file.txt", repo / "link_in")
    os.symlink("src", repo / "link_in_dir")
    os.symlink("../outside.txt", repo / "link_out")
    os.symlink("/etc", repo / "link_abs")
    os.symlink(str(tmp_path), repo / "link_parent")
    return repo


def test_files_lists_directories(wt_stack, made, tree):
    s = made.create(cwd=str(tree))
    r = files(wt_stack, s["id"])
    assert r.status == 200, r
    assert r.json["type"] == "directory"
    entries = {e["name"]: e for e in r.json["entries"]}
    assert {n: e["type"] for n, e in entries.items()} == {
        ".git": "directory", "src": "directory", "bad.txt": "file", "big.txt": "file", "bin.dat": "file",
        "file.txt": "file", "link_abs": "symlink", "link_in": "symlink", "link_in_dir": "symlink",
        "link_out": "symlink", "link_parent": "symlink"}, r.json
    assert [e["name"] for e in r.json["entries"][:2]] == [".git", "src"]
    assert entries["file.txt"]["size"] == 6
    assert files(wt_stack, s["id"], "").json == r.json
    r = files(wt_stack, s["id"], "src")
    assert r.status == 200, r
    assert (r.json["path"], r.json["type"]) == ("src", "directory")
    assert [(e["name"], e["type"]) for e in r.json["entries"]] == [
        ("util", "directory"), ("a.txt", "file"), ("b.txt", "file"), ("main.py", "file")]
    assert r.json.get("truncated", False) is False
    # .git is an entry, but not listed inside.
    r = files(wt_stack, s["id"], ".git")
    assert r.status != 200 or not r.json.get("entries"), r


def test_files_reads_text_and_detects_binary(wt_stack, made, tree):
    s = made.create(cwd=str(tree))
    r = files(wt_stack, s["id"], "src/main.py")
    assert r.status == 200, r
    assert r.json == {"path": "src/main.py", "type": "file", "size": 12, "binary": False,
                      "text": "print('hi')\n", "truncated": False}
    r = files(wt_stack, s["id"], "bin.dat")
    assert r.status == 200, r
    assert (r.json["type"], r.json["binary"], r.json["size"]) == ("file", True, 9), r
    assert "text" not in r.json
    r = files(wt_stack, s["id"], "bad.txt")
    assert (r.json["binary"], r.json["text"]) == (False, "ok \ufffd\ufffd end\n"), r
    r = files(wt_stack, s["id"], "big.txt")
    assert (r.json["size"], r.json["binary"], r.json["truncated"]) == (600 * 1024, False, True), \
        {k: v for k, v in r.json.items() if k != "text"}
    assert 0 < len(r.json["text"]) <= 512 * 1024
    # Inside after resolving: a `..` that comes back, and symlinks to inside.
    assert files(wt_stack, s["id"], "src/../file.txt").json["text"] == "hello\n"
    assert files(wt_stack, s["id"], "link_in").json["text"] == "hello\n"
    assert files(wt_stack, s["id"], "link_in_dir/main.py").json["text"] == "print('hi')\n"
    assert files(wt_stack, s["id"], "link_in_dir").json["type"] == "directory"


@pytest.mark.parametrize("path", [
    "..", "../outside.txt", "src/../../outside.txt", "src/util/../../..", "/etc/passwd", "/",
    "link_out", "link_abs", "link_abs/passwd", "link_parent", "link_parent/outside.txt",
])
def test_files_outside_the_session_directory_are_403(wt_stack, made, tree, path):
    s = made.create(cwd=str(tree))
    r = files(wt_stack, s["id"], path)
    assert (r.status, r.json) == (403, {"error": "forbidden", "detail": "outside the session's directory"}), r


def test_absolute_path_inside_the_directory_is_403_too(wt_stack, made, tree):
    s = made.create(cwd=str(tree))
    assert files(wt_stack, s["id"], str(tree / "file.txt")).status == 403


def test_files_missing_is_404(wt_stack, made, tree):
    s = made.create(cwd=str(tree))
    for path in ("missing.txt", "src/missing", "src/main.py/x"):
        r = files(wt_stack, s["id"], path)
        assert r.status == 404, (path, r)


def test_files_listing_is_bounded(wt_stack, made, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(1005):
        (d / f"f{i:04d}").write_bytes(b"")
    s = made.create(cwd=str(d))
    r = files(wt_stack, s["id"])
    assert r.status == 200, r
    assert len(r.json["entries"]) == 1000 and r.json["truncated"] is True


def test_files_of_a_worktree_session_are_its_worktree(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="browse")
    agent_write(wt_stack, clients, s["id"], "made.txt", "by the agent\n")
    names = {e["name"] for e in files(wt_stack, s["id"]).json["entries"]}
    assert {"README.md", "made.txt", ".git"} <= names
    assert files(wt_stack, s["id"], "made.txt").json["text"] == "by the agent\n"


# -- delete ----------------------------------------------------------------------------------

def test_delete_keeps_a_dirty_worktree(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="dirty")
    agent_write(wt_stack, clients, s["id"], "unsaved.txt", "work\n")
    r = wt_stack.delete(f"/sessions/{s['id']}")
    assert (r.status, r.json) == (200, {"worktree": {"path": s["cwd"], "removed": False, "reason": "dirty"}}), r
    made.ids.remove(s["id"])
    assert wt_stack.get(f"/sessions/{s['id']}").status == 404
    assert (Path(s["cwd"]) / "unsaved.txt").read_text() == "work\n"
    assert s["cwd"] in worktree_paths(repo) and branch_exists(repo, "amarre/dirty")
    # Nobody uses it now: a new session on that branch takes it up again.
    again = wt_create(made, repo, _name="dirty")
    assert again["cwd"] == s["cwd"]
    assert "unsaved.txt" in by_path(changes_ok(wt_stack, again["id"]))


def test_delete_keeps_a_worktree_with_only_a_modified_tracked_file(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="modified")
    write(Path(s["cwd"]) / "README.md", "changed\n")
    r = wt_stack.delete(f"/sessions/{s['id']}")
    made.ids.remove(s["id"])
    assert (r.status, r.json["worktree"]["removed"], r.json["worktree"].get("reason")) == (200, False, "dirty"), r
    assert Path(s["cwd"]).is_dir()


def test_delete_removes_a_clean_worktree_and_keeps_the_branch(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, _name="clean")
    write(Path(s["cwd"]) / "done.txt", "done\n")
    work = commit_all(Path(s["cwd"]), "finished")  # committed: clean
    r = wt_stack.delete(f"/sessions/{s['id']}")
    made.ids.remove(s["id"])
    assert (r.status, r.json) == (200, {"worktree": {"path": s["cwd"], "removed": True}}), r
    assert not os.path.exists(s["cwd"])
    assert s["cwd"] not in worktree_paths(repo)
    assert git(repo, "branch", "--list", "amarre/clean").lstrip("*+ ") == "amarre/clean"
    assert git(repo, "rev-parse", "refs/heads/amarre/clean") == work


def test_delete_with_worktree_remove_forces_it(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    s = wt_create(made, repo, branch="forced")
    agent_write(wt_stack, clients, s["id"], "scratch.txt", "throw away\n")
    write(Path(s["cwd"]) / "README.md", "changed too\n")
    r = wt_stack.delete(f"/sessions/{s['id']}?worktree=remove")
    made.ids.remove(s["id"])
    assert (r.status, r.json) == (200, {"worktree": {"path": s["cwd"], "removed": True}}), r
    assert not os.path.exists(s["cwd"])
    assert s["cwd"] not in worktree_paths(repo)
    assert branch_exists(repo, "forced")
    assert wt_stack.get(f"/sessions/{s['id']}").status == 404


def test_delete_of_a_plain_session_is_still_204(wt_stack, made, tmp_path):
    repo = make_repo(tmp_path)
    s = made.create(cwd=str(repo))
    write(repo / "dirty.txt", "x\n")
    r = wt_stack.delete(f"/sessions/{s['id']}")
    made.ids.remove(s["id"])
    assert (r.status, r.text) == (204, ""), r
    assert (repo / "dirty.txt").exists() and worktree_paths(repo) == [str(repo)]


# -- access control --------------------------------------------------------------------------

def test_changes_and_files_need_credentials_in_token_mode(stack_factory):
    stack = stack_factory(env={"AMARRE_AUTH": "token"},
                          instances=[command_instance("writer", [PY, "-c", WRITER])])
    for path in (f"/sessions/{UNKNOWN_ID}/changes", f"/sessions/{UNKNOWN_ID}/changes?path=a",
                 f"/sessions/{UNKNOWN_ID}/files", f"/sessions/{UNKNOWN_ID}/files?path=a"):
        assert stack.get(path).status == 401, path
    r = stack.post("/sessions", {"worktree": {"repo": "/tmp"}})
    assert r.status == 401, r


# -- CLI -------------------------------------------------------------------------------------

def test_cli_new_worktree_and_changes(wt_stack, made, clients, tmp_path):
    repo = make_repo(tmp_path)
    first = head(repo)
    write(repo / "second.txt", "2\n")
    commit_all(repo, "second")
    r = wt_stack.cli("new", "--instance", "writer", "--name", "from cli", "--worktree", str(repo),
                     "--branch", "cli/work", "--base", first)
    s = json.loads(r.stdout)
    made.ids.append(s["id"])
    assert s["worktree"] == {"repo": str(repo), "branch": "cli/work", "base": first, "baseRef": first,
                             "path": str(Path(os.path.realpath(wt_stack.dir)) / "worktrees" / repo.name / "cli" / "work")}, s
    assert s["cwd"] == s["worktree"]["path"] and s["name"] == "from cli"
    agent_write(wt_stack, clients, s["id"], "hello.txt", "hello\nworld\n")
    write(Path(s["cwd"]) / "README.md", "# test repo\nmore\n")
    table = wt_stack.cli("changes", s["id"]).stdout
    assert re.search(r"^\s*hello\.txt\s+added\s+\+2/-0\s*$", table, re.M), table
    assert re.search(r"^\s*README\.md\s+modified\s+\+1/-0\s*$", table, re.M), table
    text = wt_stack.cli("changes", s["id"], "hello.txt").stdout
    assert text.rstrip("\n") == diff_of(wt_stack, s["id"], "hello.txt")["diff"].rstrip("\n")
    assert "+hello\n+world" in text
    bad = wt_stack.cli("changes", s["id"], "README-not.md", check=False)
    assert bad.returncode == 1 and "not_found" in bad.stderr, bad
    # The default branch, and a refusal passed on.
    r = wt_stack.cli("new", "--instance", "writer", "--name", "cli2", "--worktree", str(repo))
    s2 = json.loads(r.stdout)
    made.ids.append(s2["id"])
    assert s2["worktree"]["branch"] == "amarre/cli2"
    bad = wt_stack.cli("new", "--instance", "writer", "--worktree", str(repo), "--branch", "cli/work", check=False)
    assert bad.returncode == 1 and s["id"] in bad.stderr, bad


def test_a_worktree_another_session_reuses_is_kept_at_delete(wt_stack, made, tmp_path):
    """Deleting a session whose clean worktree a second session has since reused keeps it."""
    repo = make_repo(tmp_path)
    first = wt_create(made, repo, branch="shared")
    assert wt_stack.post(f"/sessions/{first['id']}/stop").status == 200
    second = wt_create(made, repo, branch="shared")
    assert second["worktree"]["path"] == first["worktree"]["path"]
    r = wt_stack.delete(f"/sessions/{first['id']}")
    assert r.status == 200 and r.json["worktree"]["removed"] is False
    assert r.json["worktree"]["reason"] == f"in use by session {second['id']}"
    assert Path(second["worktree"]["path"]).is_dir()


def test_the_repositorys_own_branch_is_refused(wt_stack, made, tmp_path):
    """The branch checked out in the repository itself is the user's: 400, no worktree made."""
    repo = make_repo(tmp_path)
    current = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    made.bad(worktree={"repo": str(repo), "branch": current})
