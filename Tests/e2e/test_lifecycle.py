"""Crash, delete, restart and process hygiene (protocol.md §3 "Crash", "Delete", "Restart")."""
import os
import time
import uuid

import pytest

from conftest import agent_pid, SHARED_GRACE_MS, children, fields, is_alive, proc_ppid, proc_state, wait_for


def crash_event(exit_code, signal):
    return {"type": "amarre.session_event", "event": "crashed", "exitCode": exit_code, "signal": signal}


def test_all_stdout_before_a_crash_is_delivered_before_the_crash_event(stack, sessions, clients):
    s = sessions("exiter")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.exit", "lines": 1000, "code": 1})
    code, seen = c.expect_close(timeout=30)
    lines = [r for r in seen if not r.get("type", "").startswith("amarre.")]
    assert [r["n"] for r in lines] == list(range(1000))
    events = [r for r in seen if r.get("type") == "amarre.session_event"]
    assert [fields(e, *crash_event(0, 0)) for e in events] == [crash_event(1, None)]
    assert seen.index(events[0]) > seen.index(lines[-1])
    assert code == 1011


@pytest.mark.parametrize("how,expected", [
    ({"code": 3}, (3, None)),
    ({"code": 0}, (0, None)),
    ({"signal": "SIGKILL"}, (None, "SIGKILL")),
    ({"signal": "SIGTERM"}, (None, "SIGTERM")),
], ids=["exit3", "exit0", "SIGKILL", "SIGTERM"])
def test_crash_event_carries_exit_code_or_signal_name_then_close_1011(stack, sessions, clients, how, expected):
    s = sessions("exiter")
    a, b = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    a.send({"type": "e2e.exit", **how})
    for client in (a, b):
        code, seen = client.expect_close()
        events = [fields(r, *crash_event(0, 0)) for r in seen if r.get("type") == "amarre.session_event"]
        assert events == [crash_event(*expected)]
        assert code == 1011


@pytest.mark.parametrize("how,fields", [
    ({"code": 7}, {"exitCode": 7}),
    ({"signal": "SIGKILL"}, {"signal": "SIGKILL"}),
], ids=["exit7", "SIGKILL"])
def test_crashed_session_is_listed_with_its_exit_status(stack, sessions, clients, how, fields):
    s = sessions("exiter")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.exit", **how})
    c.expect_close()
    got = stack.wait_status(s["id"], "crashed")
    assert {k: got.get(k) for k in ("exitCode", "signal") if k in got} == fields, got
    assert got["clients"] == 0
    listed = {x["id"]: x for x in stack.get("/sessions").json}
    assert listed[s["id"]]["status"] == "crashed"


def test_crash_of_one_session_leaves_the_others_running(stack, sessions, clients):
    doomed, survivor = sessions("exiter"), sessions("echo")
    d, c = clients(stack.ws(doomed["id"])), clients(stack.ws(survivor["id"]))
    d.send({"type": "e2e.exit", "signal": "SIGKILL"})
    assert d.expect_close()[0] == 1011
    c.send({"type": "e2e.still-here"})
    assert c.recv_record() == {"type": "e2e.still-here"}
    assert stack.summary(survivor["id"])["status"] == "running"
    assert stack.get("/healthz").status == 200


def test_crashed_session_can_be_deleted(stack, sessions):
    s = sessions("exiter", env={"E2E_EXIT_AT_START": "1"})
    stack.wait_status(s["id"], "crashed")
    assert stack.delete(f"/sessions/{s['id']}").status == 204
    assert stack.get(f"/sessions/{s['id']}").status == 404


def test_no_zombie_is_left_after_an_agent_crash(stack, sessions, clients):
    s = sessions("exiter")
    c = clients(stack.ws(s["id"]))
    pid = agent_pid(c)["pid"]
    assert proc_ppid(pid) == stack.host_pid or pid in stack.agent_pids()
    c.send({"type": "e2e.exit", "code": 2})
    c.expect_close()
    stack.wait_status(s["id"], "crashed")
    wait_for(lambda: proc_state(pid) is None, what=f"crashed agent {pid} to be reaped (state {proc_state(pid)})")
    wait_for(lambda: not [p for p in children(stack.host_pid) if proc_state(p) == "Z"],
             what="the host to have no zombie children")


def test_delete_closes_every_client_with_1000_and_kills_the_agent(stack, sessions, clients):
    s = sessions("echo")
    a, b = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    assert stack.delete(f"/sessions/{s['id']}").status == 204
    for client in (a, b):
        code, seen = client.expect_close()
        assert code == 1000
        assert not [r for r in seen if r.get("event") == "crashed"], seen
    assert stack.get(f"/sessions/{s['id']}").status == 404


def test_delete_kills_the_agent_process(stack, sessions, clients):
    s = sessions("exiter")
    c = clients(stack.ws(s["id"]))
    pid = agent_pid(c)["pid"]
    assert stack.delete(f"/sessions/{s['id']}").status == 204
    wait_for(lambda: proc_state(pid) is None, what=f"agent {pid} to be killed and reaped")


def test_delete_sends_sigterm_then_sigkill_after_the_grace_to_the_whole_group(stack, sessions, clients, tmp_path):
    log = tmp_path / "term.log"
    s = sessions("term_ignorer", env={"E2E_TERM_LOG": str(log)})
    c = clients(stack.ws(s["id"]))
    info = agent_pid(c)
    pid, grandchild = info["pid"], info["grandchild"]
    assert info["pgid"] == pid, "the agent leads its own process group"
    assert os.getpgid(grandchild) == pid
    start = time.monotonic()
    assert stack.delete(f"/sessions/{s['id']}").status == 204
    wait_for(lambda: proc_state(pid) is None, timeout=10, what=f"TERM-ignoring agent {pid} to be SIGKILLed")
    elapsed = time.monotonic() - start
    wait_for(lambda: not is_alive(grandchild), timeout=10, what=f"grandchild {grandchild} to be SIGKILLed")
    assert log.exists() and "SIGTERM" in log.read_text(), "SIGTERM came first"
    # It can only die of SIGKILL, which comes after the grace (load only makes this longer).
    assert elapsed >= 0.9 * SHARED_GRACE_MS / 1000, elapsed


def test_restart_respawns_a_crashed_session_with_the_same_id_name_instance_and_options(stack, sessions, clients):
    s = sessions("envcwd", name="again", cwd="/tmp", env={"E2E_SESSION": "kept"})
    c = clients(stack.ws(s["id"]))
    first = agent_pid(c)["pid"]
    c.send({"type": "e2e.exit", "code": 5})
    assert c.expect_close()[0] == 1011
    crashed = stack.wait_status(s["id"], "crashed")
    r = stack.post(f"/sessions/{s['id']}/restart")
    assert r.status == 200, r
    again = r.json
    assert (again["id"], again.get("name"), again["instanceId"], again.get("cwd")) == \
        (s["id"], "again", "envcwd", "/tmp")
    assert again["status"] == "running"
    assert "exitCode" not in again and "signal" not in again
    assert again["spawnedAt"] >= crashed["spawnedAt"]
    c2 = clients(stack.ws(s["id"]))
    assert agent_pid(c2)["pid"] != first
    c2.send({"type": "e2e.env"})
    env = c2.recv_record("e2e.env")  # after the pid answer: not a replayed one
    assert env["cwd"] == "/tmp"
    assert env["env"].get("E2E_SESSION") == "kept"


def test_agent_stderr_lines_appear_in_the_host_log_tagged_with_the_session_id(stack, sessions, clients):
    s = sessions("stderr")
    c = clients(stack.ws(s["id"]))
    marker = f"e2e-stderr-{uuid.uuid4().hex}"
    c.send({"type": "e2e.stderr", "text": marker})
    c.recv_record("e2e.stderr")
    line = wait_for(lambda: next((ln for ln in stack.host_log().splitlines() if marker in ln), None),
                    what="the stderr line in the host log")
    assert s["id"] in line, line
