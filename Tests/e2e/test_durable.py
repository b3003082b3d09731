"""Durable sessions through nginx: sequence numbers, replay with `since`, history over REST,
pending approvals, restart of the host or the whole stack, SIGKILL under load, automatic
restart and retention. Waits are on records, REST state or process state, with deadlines."""
from __future__ import annotations

import json
import signal
import time

import pytest

from conftest import (DEFAULT_TIMEOUT, Stack, agent, command_instance, is_alive,
                      wait_for)

INSTANCES = [
    command_instance("echo", agent("echo.py")),
    command_instance("flooder", agent("flooder.py")),
    command_instance("exiter", agent("exiter.py")),
    {"id": "demo", "agent": "demo"},
]


@pytest.fixture
def durable(request):
    made: list[Stack] = []

    def make(env: dict[str, str] | None = None, instances: list[dict] | None = None) -> Stack:
        s = Stack(env={"AMARRE_MAX_SESSIONS": "50", "AMARRE_DEMO_SPEED": "20", **(env or {})},
                         instances=instances or INSTANCES, label=f"{request.node.name}#{len(made)}")
        made.append(s)
        return s.start()

    yield make
    problems = []
    for s in made:
        problems += s.stop()
        s.remove()
    assert not problems, problems


class SeqClient:
    """Reads records as the server sent them, `_seq` included (conftest's client strips `_`
    fields for the byte-for-byte tests)."""

    def __init__(self, stack: Stack, path: str):
        self.inner = stack.ws(path)
        self.last_text = ""

    def next(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        text = self.inner.ws.recv(timeout=timeout)
        assert isinstance(text, str)
        self.last_text = text
        return json.loads(text)

    def recv(self, type: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The next record of `type` (others skipped), or without a type the next agent record
        (amarre.* skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            rec = self.next(max(0.01, deadline - time.monotonic()))
            t = rec.get("type", "")
            if type is not None and t == type:
                return rec
            if type is None and not t.startswith("amarre."):
                return rec

    def send(self, record) -> None:
        self.inner.send(record)

    def close(self) -> None:
        self.inner.close()

    def expect_close(self):
        return self.inner.expect_close()


def flood_records(ws: SeqClient) -> list[dict]:
    """Reads until the flooder's done record; returns every record seen (amarre.* included)."""
    out = []
    while True:
        rec = ws.next()
        out.append(rec)
        if rec.get("type") == "e2e.flood_done":
            return out


def seqs(records: list[dict]) -> list[int]:
    return [r["_seq"] for r in records if "_seq" in r]


def events(stack: Stack, sid: str, after: int = 0) -> list[dict]:
    out = []
    while True:
        r = stack.get(f"/sessions/{sid}/events?after={after}&limit=1000")
        assert r.status == 200, r
        page = r.json
        if not page:
            return out
        out += page
        after = page[-1]["_seq"]


def test_every_record_carries_a_strictly_increasing_seq_and_is_otherwise_unchanged(durable):
    s = durable()
    sid = s.create("echo")["id"]
    ws = SeqClient(s, sid)
    hello = ws.recv("amarre.hello")
    assert hello["sessionId"] == sid and hello["seq"] == 0 and hello["instanceId"] == "echo"
    texts = []
    for i in range(5):
        ws.send('{"n": %d, "nested": {"_seq": "agent"}}' % i)
        ws.recv()
        texts.append(ws.last_text)
    assert texts == ['{"_seq":%d,"n": %d, "nested": {"_seq": "agent"}}' % (i + 1, i) for i in range(5)]
    assert s.summary(sid)["lastSeq"] == 5
    ws.close()


def test_reconnect_with_since_during_a_flood_loses_and_duplicates_nothing(durable):
    s = durable(env={"AMARRE_CLIENT_BUFFER_BYTES": str(64 << 20)})
    sid = s.create("flooder")["id"]
    first = SeqClient(s, sid)
    first.recv("amarre.hello")
    total = 20000
    first.send({"type": "e2e.flood", "count": total, "size": 100})
    seen = [first.recv() for _ in range(3000)]
    first.close()  # mid-flood: the agent keeps writing while nobody is connected
    last = seen[-1]["_seq"]
    second = SeqClient(s, sid + f"?since={last}")
    hello = second.recv("amarre.hello")
    assert hello["seq"] >= last
    rest = flood_records(second)
    second.close()
    all_records = seen + rest
    numbers = seqs(all_records)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a gap or a duplicate"
    flood = [r["seq"] for r in all_records if r.get("type") == "e2e.flood"]
    assert flood == list(range(total))


def flood_unwatched_then_replay(s: Stack, count: int, size: int) -> list[dict]:
    """Starts a flood, leaves before it is read, waits until it is recorded, then replays it
    from the start; returns what the replay delivered."""
    sid = s.create("flooder")["id"]
    ws = SeqClient(s, sid)
    ws.recv("amarre.hello")
    ws.send({"type": "e2e.flood", "count": count, "size": size})
    ws.close()
    # The records and the done record, whoever reads them.
    wait_for(lambda: s.summary(sid)["lastSeq"] >= count + 1, what="the flood to be recorded")
    late = SeqClient(s, sid + "?since=0")
    late.recv("amarre.hello")
    replayed = flood_records(late)
    late.close()
    return replayed


def test_records_written_while_nobody_was_connected_are_replayed(durable):
    replayed = flood_unwatched_then_replay(durable(), 500, 10)
    assert [r["seq"] for r in replayed if r.get("type") == "e2e.flood"] == list(range(500))
    assert seqs(replayed) == list(range(1, len(replayed) + 1))


def test_history_is_paged_over_rest(durable):
    s = durable()
    sid = s.create("flooder")["id"]
    ws = SeqClient(s, sid)
    ws.recv("amarre.hello")
    ws.send({"type": "e2e.flood", "count": 250, "size": 10})
    flood_records(ws)
    ws.close()
    # The REST history trails the relay by up to one commit interval.
    wait_for(lambda: len(s.get(f"/sessions/{sid}/events?after=0&limit=1000").json) == 251, what="the whole history")
    page = s.get(f"/sessions/{sid}/events?after=0&limit=100").json
    assert seqs(page) == list(range(1, 101))
    assert seqs(s.get(f"/sessions/{sid}/events?after=100&limit=100").json) == list(range(101, 201))
    assert seqs(s.get(f"/sessions/{sid}/events?before=11&limit=3").json) == [8, 9, 10]
    assert len(s.get(f"/sessions/{sid}/events?after=0&limit=5000").json) == 251
    assert len(s.get(f"/sessions/{sid}/events").json) == 100
    bad = s.get(f"/sessions/{sid}/events?limit=zero")
    assert bad.status == 400 and bad.json["error"] == "bad_request"
    assert s.get("/sessions/0123456789ab/events").status == 404


def test_a_pending_approval_is_seen_by_a_late_client_and_cleared_for_everyone_when_answered(durable):
    s = durable()
    sid = s.create("demo")["id"]
    a = SeqClient(s, sid)
    a.recv("amarre.hello")
    a.send({"type": "prompt", "message": "please run ls"})
    request = a.recv("extension_ui_request", timeout=20)
    assert request["method"] == "confirm"
    assert s.summary(sid)["pendingRequests"] == [request["id"]]

    b = SeqClient(s, sid + "?since=0")
    b.recv("amarre.hello")
    replayed = b.recv("extension_ui_request")
    assert replayed["id"] == request["id"] and replayed["_seq"] == request["_seq"]

    a.send({"type": "extension_ui_response", "id": request["id"], "confirmed": True})
    resolved = b.recv("amarre.request_resolved")
    assert resolved["id"] == request["id"] and resolved["response"]["confirmed"] is True
    assert s.summary(sid)["pendingRequests"] == []

    b.send({"type": "extension_ui_response", "id": request["id"], "confirmed": False})
    late = b.recv("amarre.error")
    assert late["error"] == "already_answered" and late["id"] == request["id"]
    a.recv("agent_end", timeout=20)
    a.close()
    b.close()


def test_restarting_the_whole_stack_keeps_sessions_and_history(durable):
    s = durable()
    live = s.create("echo", name="kept", cwd="/tmp")
    crashed = s.create("exiter", name="broken")
    ws = SeqClient(s, live["id"])
    ws.recv("amarre.hello")
    for i in range(3):
        ws.send({"n": i})
        ws.recv()
    ws.close()
    c = SeqClient(s, crashed["id"])
    c.recv("amarre.hello")
    c.send({"type": "e2e.exit", "lines": 1, "code": 7})
    c.expect_close()
    s.wait_status(crashed["id"], "crashed")

    s.restart()

    listed = {x["id"]: x for x in s.get("/sessions").json}
    assert list(listed) == [live["id"], crashed["id"]]
    assert listed[live["id"]]["status"] == "running" and listed[live["id"]]["name"] == "kept"
    assert listed[live["id"]]["cwd"] == "/tmp"
    assert listed[crashed["id"]]["status"] == "crashed" and listed[crashed["id"]]["exitCode"] == 7
    again = SeqClient(s, live["id"] + "?since=0")
    again.recv("amarre.hello")
    history = [again.recv() for _ in range(3)]
    assert [r["n"] for r in history] == [0, 1, 2]
    restored = again.recv("amarre.session_event")
    assert restored["event"] == "restored"
    again.send({"n": 3})
    after = again.recv()
    assert after["n"] == 3 and after["_seq"] == restored["_seq"] + 1
    again.close()


def test_sigkill_of_the_host_under_load_loses_only_the_end_of_the_log(durable):
    s = durable(env={"AMARRE_CLIENT_BUFFER_BYTES": str(64 << 20)})
    sid = s.create("flooder")["id"]
    ws = SeqClient(s, sid)
    ws.recv("amarre.hello")
    ws.send({"type": "e2e.flood", "count": 200000, "size": 100})
    seen = [ws.recv() for _ in range(2000)]
    agents = s.agent_pids()
    assert agents
    s.kill_host(signal.SIGKILL)
    wait_for(lambda: not any(is_alive(p) for p in agents), what="the agents to die with the host")

    s.restart_host()
    summary = s.summary(sid)
    assert summary["status"] == "running"
    # The REST history trails the relay by up to one commit interval.
    logged = wait_for(lambda: (e := events(s, sid)) and e[-1].get("event") == "restored" and e,
                      what="the restored event in the history")
    numbers = seqs(logged[:-1])
    assert numbers == list(range(1, len(numbers) + 1)), "the log has a hole"
    # Numbers the relay handed out but the store lost with the host are never handed out again.
    assert logged[-1]["_seq"] > seen[-1]["_seq"]
    # What was committed is what was relayed (the log is a prefix of what clients saw, then
    # the restart); only the records of the last commit interval may be missing.
    kept = [r for r in logged if r.get("type") == "e2e.flood"]
    assert kept, "nothing of the flood was committed"
    overlap = min(len(kept), len(seen))
    assert kept[:overlap] == seen[:overlap]
    assert logged[-1]["type"] == "amarre.session_event" and logged[-1]["event"] == "restored"


def test_a_sigkill_right_after_the_first_records_never_reuses_their_numbers(durable):
    """A new session's first numbers reach clients only once their reservation is in the
    database: a host killed at once (inside the commit interval) hands none of them out again."""
    s = durable(env={"AMARRE_COMMIT_INTERVAL_MS": "5000"})
    sid = s.create("echo")["id"]
    ws = SeqClient(s, sid)
    ws.recv("amarre.hello")
    ws.send({"type": "e2e.hello", "n": 1})
    seen = ws.recv()
    s.kill_host(signal.SIGKILL)
    s.restart_host()
    after = SeqClient(s, sid)
    hello = after.recv("amarre.hello")
    assert hello["seq"] > seen["_seq"], (hello, seen)
    after.send({"type": "e2e.hello", "n": 2})
    assert after.recv()["_seq"] > seen["_seq"]


def test_automatic_restart_gives_up_after_its_limit(durable):
    instances = [command_instance("crashy", agent("exiter.py"), env={"E2E_EXIT_AT_START": "4"},
                                  restart={"policy": "on-failure", "max": 2, "windowSeconds": 60})]
    s = durable(env={"AMARRE_RESTART_BACKOFF_MS": "50"}, instances=instances)
    sid = s.create("crashy")["id"]

    def session_events():
        return [r.get("event") for r in events(s, sid) if r.get("type") == "amarre.session_event"]

    wait_for(lambda: "gave_up" in session_events(), timeout=20, what="gave_up")
    assert session_events() == ["crashed", "restarting", "restarted", "crashed", "restarting",
                                "restarted", "crashed", "gave_up"]
    assert s.summary(sid)["status"] == "crashed"


def test_retention_drops_the_oldest_records_and_an_old_since_gets_a_gap_notice(durable):
    s = durable(env={"AMARRE_RETAIN_RECORDS": "50"})
    sid = s.create("flooder")["id"]
    ws = SeqClient(s, sid)
    ws.recv("amarre.hello")
    ws.send({"type": "e2e.flood", "count": 200, "size": 10})
    flood_records(ws)
    ws.close()
    wait_for(lambda: (e := s.get(f"/sessions/{sid}/events?after=0&limit=1000").json) and len(e) == 50,
             what="retention to keep 50 records")
    late = SeqClient(s, sid + "?since=0")
    late.recv("amarre.hello")
    gap = late.recv("amarre.replay_gap")
    assert gap == {"type": "amarre.replay_gap", "from": 1, "to": 151}
    first = late.recv()
    assert first["_seq"] == 152
    late.close()


def test_a_session_that_cannot_be_spawned_again_after_a_restart_comes_back_crashed(durable, tmp_path):
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\nexec cat\n")
    script.chmod(0o755)
    s = durable(instances=[command_instance("vanishing", [str(script)])])
    sid = s.create("vanishing")["id"]
    script.unlink()  # the agent's program is gone when the stack comes back

    s.restart()

    summary = s.summary(sid)
    assert summary["status"] == "crashed"
    history = wait_for(lambda: [e for e in events(s, sid) if e.get("event") == "restore_failed"],
                       what="restore_failed in the history")
    assert "not found" in history[0]["detail"]
    assert s.post(f"/sessions/{sid}/restart").json["error"] == "spawn_failed"


def test_a_replay_larger_than_the_client_buffer_is_paced_not_dropped(durable):
    # 3000 records of 5 KB: about twice the default 8 MiB client buffer.
    replayed = flood_unwatched_then_replay(durable(env={"AMARRE_CLIENT_BUFFER_BYTES": str(8 << 20)}), 3000, 5000)
    assert [r["seq"] for r in replayed if r.get("type") == "e2e.flood"] == list(range(3000))


def test_agents_inherit_no_descriptor_of_the_host(durable):
    probe = ["python3", "-c", "import json, os; print(json.dumps({'type': 'e2e.fds', "
             "'fds': sorted(int(f) for f in os.listdir('/proc/self/fd'))}), flush=True); input()"]
    s = durable(instances=[command_instance("probe", probe)])
    sid = s.create("probe")["id"]
    ws = SeqClient(s, sid + "?since=0")
    ws.recv("amarre.hello")
    fds = ws.recv("e2e.fds")["fds"]
    ws.close()
    # stdin, stdout, stderr, and the descriptor listdir itself opened.
    assert fds[:3] == [0, 1, 2] and len(fds) <= 4, fds
