"""Configuration: instance selection, environment and cwd, the session cap, start-up errors."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import wait_for, BIN_DIR, command_instance, stack_fixture

capped = stack_fixture(env={"AMARRE_MAX_SESSIONS": "2"},
                       instances=[command_instance("first", ["cat"]), command_instance("second", ["cat"])])


# -- environment and cwd (shared stack) ------------------------------------------------------

def test_environment_precedence_is_server_then_instance_then_session(stack, sessions, clients):
    s = sessions("envcwd", env={"E2E_C": "session", "E2E_D": "session", "E2E_SESSION_ONLY": "session"})
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.env"})
    env = c.recv_record("e2e.env")["env"]
    keys = ["E2E_A", "E2E_B", "E2E_C", "E2E_D", "E2E_INSTANCE_ONLY", "E2E_SESSION_ONLY"]
    assert {k: env.get(k) for k in keys} == {
        "E2E_A": "server", "E2E_B": "instance", "E2E_C": "session", "E2E_D": "session",
        "E2E_INSTANCE_ONLY": "instance", "E2E_SESSION_ONLY": "session"}


def test_session_env_does_not_leak_into_other_sessions(stack, sessions, clients):
    sessions("envcwd", env={"E2E_LEAK": "yes"})
    s = sessions("envcwd")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.env"})
    assert "E2E_LEAK" not in c.recv_record("e2e.env")["env"]


def test_session_cwd_is_the_agent_working_directory_and_is_reported(stack, sessions, clients):
    cwd = tempfile.mkdtemp(prefix="amarre-cwd-", dir="/tmp")
    try:
        s = sessions("envcwd", cwd=cwd)
        assert s["cwd"] == cwd
        assert stack.summary(s["id"])["cwd"] == cwd
        c = clients(stack.ws(s["id"]))
        c.send({"type": "e2e.env"})
        assert os.path.realpath(c.recv_record("e2e.env")["cwd"]) == os.path.realpath(cwd)
    finally:
        os.rmdir(cwd)


# -- instance selection without a "default" instance -----------------------------------------

def test_without_a_default_instance_the_first_configured_one_is_used(capped):
    assert [(i["id"], i["agent"]) for i in capped.get("/instances").json] == \
        [("first", "command"), ("second", "command")]
    s = capped.create()
    try:
        assert s["instanceId"] == "first"
    finally:
        capped.delete(f"/sessions/{s['id']}")


# -- the cap ---------------------------------------------------------------------------------

def test_session_cap_answers_429_with_the_limit(capped):
    ids = [capped.create("second")["id"] for _ in range(2)]
    try:
        r = capped.post("/sessions", {"instanceId": "first"})
        assert (r.status, r.json) == (429, {"error": "max_sessions_reached", "limit": 2})
        assert len(capped.get("/sessions").json) == 2
        # Deleting a session frees its slot once its agent is gone (a stopping agent still counts,
        # SPEC §9; DELETE answers before that). A refused create makes nothing, so it is retried.
        capped.delete(f"/sessions/{ids.pop()}")
        created = wait_for(lambda: (r := capped.post("/sessions", {"instanceId": "first"})).status == 201 and r,
                           what="the freed slot")
        ids.append(created.json["id"])
    finally:
        for sid in ids:
            capped.delete(f"/sessions/{sid}")


def test_session_cap_is_checked_before_the_instance_id(capped):
    ids = [capped.create()["id"] for _ in range(2)]
    try:
        r = capped.post("/sessions", {"instanceId": "no-such-instance"})
        assert r.status == 429, r
        assert r.json["error"] == "max_sessions_reached"
    finally:
        for sid in ids:
            capped.delete(f"/sessions/{sid}")


# -- start-up errors ---------------------------------------------------------------------------

def run_host(env_overrides: dict[str, str], timeout: float = 15) -> subprocess.CompletedProcess:
    state = tempfile.mkdtemp(prefix="amarre-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
    env.update({"AMARRE_STATE_DIR": state, "AMARRE_PORT": "1"}, **env_overrides)
    try:
        return subprocess.run([str(BIN_DIR / "amarre-host")], env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.parametrize("env,culprit", [
    ({"AMARRE_MAX_SESSIONS": "abc"}, "AMARRE_MAX_SESSIONS"),
    ({"AMARRE_MAX_SESSIONS": "-1"}, "AMARRE_MAX_SESSIONS"),
    ({"AMARRE_KILL_GRACE_MS": "soon"}, "AMARRE_KILL_GRACE_MS"),
    ({"AMARRE_INSTANCES_JSON": "{not json"}, "AMARRE_INSTANCES_JSON"),
    ({"AMARRE_INSTANCES_JSON": json.dumps([command_instance("twin", ["cat"]), command_instance("twin", ["cat"])])},
     "twin"),
    ({"AMARRE_INSTANCES_JSON": json.dumps([{"id": "weird", "agent": "no-such-agent"}])}, "weird"),
    ({"AMARRE_INSTANCES_JSON": json.dumps([{"id": "nocmd", "agent": "command"}])}, "nocmd"),
    ({"AMARRE_INSTANCES_JSON": json.dumps([{"id": "emptycmd", "agent": "command", "command": []}])}, "emptycmd"),
], ids=["max-sessions-abc", "max-sessions-negative", "grace-not-a-number", "instances-not-json",
        "duplicate-instance-id", "unknown-agent", "missing-command", "empty-command"])
def test_bad_configuration_stops_host_start_up_with_a_message_naming_the_culprit(env, culprit):
    done = run_host(env)
    assert done.returncode != 0, done
    assert culprit in done.stderr, done.stderr
