"""Issue 14, archive: stop without deleting, restart (resume) of a stopped session, the
status filter of the list, rename, delete of a stopped session, `amarre stop|rename|ls`.

The contract: /work/notes/archive-contract.md ("Stop, restart, list" and "Rename"). Waits are
on records, REST state, the fakes' logs or /proc, with deadlines; nothing sleeps."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from conftest import (REPO, agent_pid, SHARED_GRACE_MS, Stack, agent, cmdline, command_instance, is_alive, proc_state,
                      stack_fixture, wait_for)

FAKES = REPO / "Tests" / "fakes"
UNKNOWN_ID = "0123456789ab"

INSTANCES = [
    command_instance("echo", agent("echo.py")),
    command_instance("exiter", agent("exiter.py")),
    command_instance("term_ignorer", agent("term_ignorer.py")),
    {"id": "demo", "agent": "demo"},
    {"id": "claude", "agent": "claude-code"},
]
ENV = {
    "AMARRE_MAX_SESSIONS": "50",
    "AMARRE_DEMO_SPEED": "100",
    "CLAUDE_BIN": str(FAKES / "fake-claude"),
    # The fake exits on its own after this long, so a stuck test cannot leave it behind.
    "FAKE_CLAUDE_MAX_SECONDS": "120",
}
archive_stack = stack_fixture(env=ENV, instances=INSTANCES)


# -- helpers -------------------------------------------------------------------------------

@pytest.fixture
def made(archive_stack):
    """Creates sessions on the module's stack; deletes them (stopped ones too) afterwards."""
    created: list[str] = []

    def create(instance: str = "echo", **fields) -> dict:
        summary = archive_stack.create(instance, **fields)
        created.append(summary["id"])
        return summary

    yield create
    for sid in created:
        archive_stack.delete(f"/sessions/{sid}")


@pytest.fixture
def clients():
    opened = []

    def track(client):
        opened.append(client)
        return client

    yield track
    for c in opened:
        c.close()


def stop(stack: Stack, sid: str) -> dict:
    r = stack.post(f"/sessions/{sid}/stop")
    assert r.status == 200, f"POST /sessions/{sid}/stop -> {r}"
    assert r.json["id"] == sid and r.json["status"] == "stopped", r.json
    return r.json


def restart(stack: Stack, sid: str) -> dict:
    r = stack.post(f"/sessions/{sid}/restart")
    assert r.status == 200, f"POST /sessions/{sid}/restart -> {r}"
    assert r.json["id"] == sid and r.json["status"] == "running", r.json
    return r.json


def rename(stack: Stack, sid: str, body):
    return stack.request("PATCH", f"/sessions/{sid}", body)


def events(stack: Stack, sid: str) -> list[dict]:
    """The whole stored history of a session, oldest first."""
    out, after = [], 0
    while True:
        r = stack.get(f"/sessions/{sid}/events?after={after}&limit=1000")
        assert r.status == 200, r
        if not r.json:
            return out
        out += r.json
        after = r.json[-1]["_seq"]


def session_events(stack: Stack, sid: str) -> list[dict]:
    return [e for e in events(stack, sid) if e.get("type") == "amarre.session_event"]


def listed(stack: Stack, query: str = "") -> dict[str, dict]:
    r = stack.get("/sessions" + query)
    assert r.status == 200, r
    return {s["id"]: s for s in r.json}


def agents_running(stack: Stack, needle: str) -> list[int]:
    """Live processes under the host whose command line contains `needle`."""
    return [p for p in stack.agent_pids() if is_alive(p) and needle in cmdline(p)]


def wait_reaped(pids: list[int], what: str) -> None:
    """Until the agents are gone and reaped: a restart before that answers 409 (still stopping)."""
    wait_for(lambda: all(proc_state(p) is None for p in pids), what=f"{what} to be stopped and reaped")


def error_of(r) -> str | None:
    try:
        return r.json.get("error")
    except (ValueError, AttributeError):
        return None


# -- stop ------------------------------------------------------------------------------------

def test_stop_keeps_the_history_frees_the_slot_and_the_agent_is_gone(stack_factory):
    s = stack_factory(env={"AMARRE_MAX_SESSIONS": "1"}, instances=[command_instance("exiter", agent("exiter.py"))])
    first = s.create("exiter", name="kept")
    sid = first["id"]
    c = s.ws(sid)
    try:
        info = agent_pid(c)
        c.send({"type": "e2e.note", "text": "remember me"})
        assert c.recv_record() == {"type": "e2e.received", "record": {"type": "e2e.note", "text": "remember me"}}
        assert s.post("/sessions", {"instanceId": "exiter"}).status == 429  # the cap holds while it runs

        stopped = stop(s, sid)
        assert stopped["name"] == "kept" and stopped["instanceId"] == "exiter"
        code, _ = c.expect_close()
        assert code == 1000
    finally:
        c.close()
    wait_for(lambda: proc_state(info["pid"]) is None, what=f"agent {info['pid']} to be stopped and reaped")

    # A stopped session does not count toward AMARRE_MAX_SESSIONS (one still being stopped
    # does, like a deleted one: hence the wait for its agent above).
    second = s.post("/sessions", {"instanceId": "exiter"})
    assert second.status == 201, second
    everything = listed(s)
    assert set(everything) == {sid, second.json["id"]}
    assert everything[sid]["status"] == "stopped" and everything[sid]["clients"] == 0
    assert everything[second.json["id"]]["status"] == "running"
    assert s.summary(sid)["status"] == "stopped"
    # Resuming it would go over the cap again.
    over = s.post(f"/sessions/{sid}/restart")
    assert over.status == 429 and error_of(over) == "max_sessions_reached", over
    assert s.summary(sid)["status"] == "stopped"

    # Its history is kept and read over REST (committed within the commit interval); its
    # WebSocket upgrade answers 409.
    history = wait_for(lambda: (h := [e for e in events(s, sid) if not e["type"].startswith("amarre.")])
                       and len(h) >= 2 and h, what="the history to be stored")
    assert [e["type"] for e in history] == ["e2e.pid", "e2e.received"]
    assert history[1]["record"]["text"] == "remember me"
    assert s.raw_ws_status(f"/sessions/{sid}") == 409

    again = s.post(f"/sessions/{sid}/stop")
    assert again.status == 409 and error_of(again) == "not_running", again
    assert s.post(f"/sessions/{UNKNOWN_ID}/stop").status == 404


def test_stop_closes_every_client_with_1000_and_reports_no_crash(archive_stack, made, clients):
    sid = made("echo")["id"]
    a, b = clients(archive_stack.ws(sid)), clients(archive_stack.ws(sid))
    archive_stack.wait_clients(sid, 2)
    stop(archive_stack, sid)
    for client in (a, b):
        code, seen = client.expect_close()
        assert code == 1000
        assert not [r for r in seen if r.get("event") in ("crashed", "gave_up")], seen
    summary = archive_stack.wait_clients(sid, 0)
    assert summary["status"] == "stopped"
    assert not [e for e in session_events(archive_stack, sid) if e.get("event") == "crashed"]


def test_stop_kills_an_agent_that_ignores_sigterm_and_its_group_after_the_grace(archive_stack, made, clients,
                                                                                 tmp_path):
    log = tmp_path / "term.log"
    sid = made("term_ignorer", env={"E2E_TERM_LOG": str(log)})["id"]
    c = clients(archive_stack.ws(sid))
    info = agent_pid(c)
    pid, grandchild = info["pid"], info["grandchild"]
    start = time.monotonic()
    stop(archive_stack, sid)
    wait_for(lambda: proc_state(pid) is None, what=f"TERM-ignoring agent {pid} to be SIGKILLed")
    elapsed = time.monotonic() - start
    wait_for(lambda: not is_alive(grandchild), what=f"grandchild {grandchild} to be SIGKILLed")
    assert log.exists() and "SIGTERM" in log.read_text(), "SIGTERM came first"
    assert elapsed >= 0.9 * SHARED_GRACE_MS / 1000, elapsed
    assert archive_stack.summary(sid)["status"] == "stopped"


def test_stopping_a_crashed_session_archives_it(archive_stack, made):
    sid = made("exiter", env={"E2E_EXIT_AT_START": "4"})["id"]
    archive_stack.wait_status(sid, "crashed")
    assert stop(archive_stack, sid)["status"] == "stopped"
    assert archive_stack.summary(sid)["status"] == "stopped"
    assert archive_stack.raw_ws_status(f"/sessions/{sid}") == 409


# -- restart ---------------------------------------------------------------------------------

def demo_turn(client, text: str) -> list[dict]:
    client.send({"type": "prompt", "message": text})
    return client.recv_until("agent_end", timeout=20)


def test_restart_of_a_stopped_demo_session_runs_it_again_and_keeps_the_history(archive_stack, made, clients):
    sid = made("demo", name="demo archive")["id"]
    c = clients(archive_stack.ws(sid))
    first = demo_turn(c, "Hello before the stop")
    assert any(r.get("type") == "message_end" and r["message"]["role"] == "assistant" for r in first)
    demo_pids = agents_running(archive_stack, "amarre-demo-agent")
    assert demo_pids
    stop(archive_stack, sid)
    assert c.expect_close()[0] == 1000
    wait_reaped(demo_pids, "the demo agent")
    last_before = archive_stack.summary(sid)["lastSeq"]

    again = restart(archive_stack, sid)
    assert again["name"] == "demo archive" and again["instanceId"] == "demo"
    restarted = wait_for(lambda: [e for e in session_events(archive_stack, sid) if e.get("event") == "restarted"],
                         what="the restarted event in the log")
    assert restarted[-1].get("by") == "request", restarted
    assert restarted[-1]["_seq"] > last_before

    c2 = clients(archive_stack.ws(sid))
    hello = c2.recv_record("amarre.hello")
    assert hello["status"] == "running" and hello["seq"] >= last_before
    second = demo_turn(c2, "Hello after the restart")
    assert any(r.get("type") == "message_end" and r["message"]["role"] == "assistant" for r in second)
    def users():
        return ["".join(p.get("text", "") for p in e["message"]["content"]) for e in events(archive_stack, sid)
                if e.get("type") == "message_end" and e["message"]["role"] == "user"]
    wait_for(lambda: len(users()) >= 2, what="the second turn to be stored")
    assert users() == ["Hello before the stop", "Hello after the restart"]
    history = events(archive_stack, sid)
    seqs = [e["_seq"] for e in history]
    assert seqs == sorted(set(seqs)), "one strictly increasing sequence across the restart"

    busy = archive_stack.post(f"/sessions/{sid}/restart")
    assert busy.status == 409 and error_of(busy) == "already_running", busy


def test_restart_of_a_stopped_claude_session_resumes_the_conversation(archive_stack, made, clients, tmp_path):
    log = tmp_path / "claude.log"
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"sessionId": "sess-archive-claude", "replies": []}))
    sid = made("claude", env={"FAKE_CLAUDE_LOG": str(log), "FAKE_CLAUDE_SCENARIO": str(scenario)})["id"]

    def argv() -> list[list[str]]:
        if not log.exists():
            return []
        return [e["argv"] for e in map(json.loads, log.read_text().splitlines()) if "argv" in e]

    c = clients(archive_stack.ws(sid))
    c.send({"type": "prompt", "message": "remember the word pelican"})
    first = c.recv_until("agent_end", timeout=20)
    assert [r for r in first if r.get("type") == "system"][0]["session_id"] == "sess-archive-claude"
    assert "--resume" not in wait_for(argv, what="the fake's argv")[0]
    fakes = wait_for(lambda: agents_running(archive_stack, "fake-claude"), what="the fake claude process")

    stop(archive_stack, sid)
    assert c.expect_close()[0] == 1000
    wait_reaped(fakes, "the fake claude")
    assert len(argv()) == 1, "not respawned by the stop"

    restart(archive_stack, sid)
    second_argv = wait_for(lambda: len(argv()) == 2 and argv()[1], what="the fake's second start")
    assert second_argv[second_argv.index("--resume") + 1] == "sess-archive-claude"

    c2 = clients(archive_stack.ws(sid))
    c2.send({"type": "prompt", "message": "what was the word"})
    records = c2.recv_until("agent_end", timeout=20)
    assert [r for r in records if r.get("type") == "system"][0]["session_id"] == "sess-archive-claude"
    answers = ["".join(p.get("text", "") for p in r["message"]["content"] if p.get("type") == "text")
               for r in records if r.get("type") == "message_end" and r["message"]["role"] == "assistant"]
    assert answers == ["You said: what was the word"]
    # Both turns are in the one history.
    wait_for(lambda: "what was the word" in json.dumps(events(archive_stack, sid)), what="the second turn stored")
    assert "remember the word pelican" in json.dumps(events(archive_stack, sid))


def test_stopped_sessions_stay_stopped_across_a_stack_restart(stack_factory):
    s = stack_factory(env={"AMARRE_MAX_SESSIONS": "10"}, instances=[command_instance("echo", agent("echo.py"))])
    running = s.create("echo", name="comes back")["id"]
    archived = s.create("echo", name="stays archived")["id"]
    c = s.ws(archived)
    try:
        c.send({"type": "e2e.note", "n": 1})
        assert c.recv_record() == {"type": "e2e.note", "n": 1}
    finally:
        c.close()
    stop(s, archived)
    wait_for(lambda: len(agents_running(s, "echo.py")) == 1, what="one echo agent left")
    kept = wait_for(lambda: [e for e in events(s, archived) if e.get("type") == "e2e.note"], what="the note stored")

    s.restart()

    s.wait_status(running, "running")
    wait_for(lambda: any(e.get("event") == "restored" for e in session_events(s, running)),
             what="the running session to be restored")
    assert s.summary(archived)["status"] == "stopped"
    assert [(x["name"], x["status"]) for x in listed(s).values()] == [("comes back", "running"),
                                                                      ("stays archived", "stopped")]
    # Never respawned: only the running session's agent runs, and nothing was added to the
    # stopped one's log.
    wait_for(lambda: agents_running(s, "echo.py"), what="the restored session's agent")
    assert len(agents_running(s, "echo.py")) == 1
    assert [e for e in events(s, archived) if e.get("type") == "e2e.note"] == kept
    assert not [e for e in session_events(s, archived) if e.get("event") in ("restored", "restarted")]
    assert s.raw_ws_status(f"/sessions/{archived}") == 409
    # It can still be resumed afterwards.
    restart(s, archived)
    wait_for(lambda: len(agents_running(s, "echo.py")) == 2, what="both agents")


# -- the list's status filter ---------------------------------------------------------------

def test_the_list_filters_by_status(archive_stack, made):
    running = made("echo")["id"]
    crashed = made("exiter", env={"E2E_EXIT_AT_START": "3"})["id"]
    stopped = made("echo")["id"]
    archive_stack.wait_status(crashed, "crashed")
    stop(archive_stack, stopped)
    mine = {running: "running", crashed: "crashed", stopped: "stopped"}
    everything = listed(archive_stack)
    assert {sid: everything[sid]["status"] for sid in mine} == mine
    for status in ("running", "crashed", "stopped"):
        got = listed(archive_stack, f"?status={status}")
        assert {s["status"] for s in got.values()} == {status}, got
        assert {sid for sid in mine if sid in got} == {sid for sid, st in mine.items() if st == status}
    # Creation order is kept within a filter too.
    order = [sid for sid in everything if sid in mine]
    assert order == [running, crashed, stopped]
    for bad in ("paused", "RUNNING", "running,stopped", "all"):
        r = archive_stack.get(f"/sessions?status={bad}")
        assert r.status == 400, (bad, r)
        assert r.headers.get("content-type", "").startswith("application/json")


# -- rename ----------------------------------------------------------------------------------

def test_rename_is_seen_by_every_connected_client_and_in_the_summary(archive_stack, made, clients):
    sid = made("echo", name="before")["id"]
    a, b = clients(archive_stack.ws(sid)), clients(archive_stack.ws(sid))
    for client in (a, b):
        client.recv_record("amarre.hello")
    r = rename(archive_stack, sid, {"name": "release notes"})
    assert r.status == 200, r
    assert r.json["id"] == sid and r.json["name"] == "release notes" and r.json["status"] == "running"
    seqs = []
    for client in (a, b):
        event = client.recv_record("amarre.session_event")
        assert {k: event[k] for k in ("type", "event", "name")} == {
            "type": "amarre.session_event", "event": "renamed", "name": "release notes"}
        seqs.append(event["_seq"])
    assert seqs[0] == seqs[1]
    assert archive_stack.summary(sid)["name"] == "release notes"
    assert listed(archive_stack)[sid]["name"] == "release notes"

    # "" removes the name: absent from the summary, null in the event.
    r = rename(archive_stack, sid, {"name": ""})
    assert r.status == 200, r
    assert "name" not in r.json, r.json
    for client in (a, b):
        event = client.recv_record("amarre.session_event")
        assert event["event"] == "renamed" and event["name"] is None and event["_seq"] > seqs[0]
    assert "name" not in archive_stack.summary(sid)
    assert "name" not in listed(archive_stack)[sid]
    def logged():
        return [(e["event"], e["name"]) for e in session_events(archive_stack, sid) if e.get("event") == "renamed"]
    wait_for(lambda: len(logged()) >= 2, what="both renames in the log")
    assert logged() == [("renamed", "release notes"), ("renamed", None)]
    # The agent saw none of it.
    a.send({"type": "e2e.after"})
    assert a.recv_record() == {"type": "e2e.after"}


def test_rename_validates_the_name(archive_stack, made):
    sid = made("echo", name="valid")["id"]
    for body in ({}, {"name": 5}, {"name": None}, {"name": ["x"]}, {"name": "x" * 201}, [], "name"):
        r = rename(archive_stack, sid, body)
        assert r.status == 400, (body, r)
        assert archive_stack.summary(sid)["name"] == "valid"
    assert rename(archive_stack, sid, {"name": "x" * 200}).status == 200
    assert rename(archive_stack, sid, {"name": "é" * 200}).status == 200  # characters, not bytes
    assert archive_stack.summary(sid)["name"] == "é" * 200
    assert rename(archive_stack, UNKNOWN_ID, {"name": "nobody"}).status == 404


def test_a_stopped_session_can_be_renamed(archive_stack, made):
    sid = made("echo", name="old name")["id"]
    stop(archive_stack, sid)
    r = rename(archive_stack, sid, {"name": "archived name"})
    assert r.status == 200, r
    assert r.json["name"] == "archived name" and r.json["status"] == "stopped"
    assert archive_stack.summary(sid)["name"] == "archived name"
    assert listed(archive_stack, "?status=stopped")[sid]["name"] == "archived name"
    renamed = wait_for(lambda: [e for e in session_events(archive_stack, sid) if e.get("event") == "renamed"],
                       what="the rename in the log")
    assert [e["name"] for e in renamed] == ["archived name"] and isinstance(renamed[0]["_seq"], int)


# -- delete ----------------------------------------------------------------------------------

def test_delete_of_a_stopped_session_removes_it_and_its_history(archive_stack, made):
    sid = made("echo")["id"]
    c = archive_stack.ws(sid)
    try:
        c.send({"type": "e2e.note"})
        c.recv_record()
    finally:
        c.close()
    stop(archive_stack, sid)
    wait_for(lambda: events(archive_stack, sid), what="the history to be stored")
    assert archive_stack.delete(f"/sessions/{sid}").status == 204
    assert archive_stack.get(f"/sessions/{sid}").status == 404
    assert archive_stack.get(f"/sessions/{sid}/events").status == 404
    assert sid not in listed(archive_stack) and sid not in listed(archive_stack, "?status=stopped")
    assert archive_stack.post(f"/sessions/{sid}/restart").status == 404


# -- scripts/amarre -------------------------------------------------------------------------

def test_cli_stop_rename_and_ls_by_status(archive_stack, made):
    sid = made("echo", name="cli target")["id"]
    out = archive_stack.cli("stop", sid)
    summary = json.loads(out.stdout)
    assert summary["id"] == sid and summary["status"] == "stopped"
    assert archive_stack.summary(sid)["status"] == "stopped"

    out = archive_stack.cli("rename", sid, "renamed from the cli")
    assert json.loads(out.stdout)["name"] == "renamed from the cli"
    assert archive_stack.summary(sid)["name"] == "renamed from the cli"

    stopped = json.loads(archive_stack.cli("ls", "--status", "stopped").stdout)
    assert sid in [s["id"] for s in stopped] and {s["status"] for s in stopped} == {"stopped"}
    running = json.loads(archive_stack.cli("ls", "--status", "running").stdout)
    assert sid not in [s["id"] for s in running]

    again = archive_stack.cli("stop", sid, check=False)
    assert again.returncode == 1 and "409" in again.stderr, again
