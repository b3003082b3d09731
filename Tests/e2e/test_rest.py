"""REST control plane (protocol.md §2) through nginx, on the shared stack."""
import re

import pytest

from conftest import SHARED_INSTANCES

UNKNOWN_ID = "0123456789ab"


def test_healthz_reports_the_host_up(stack):
    r = stack.get("/healthz")
    assert r.status == 200
    assert r.json["ok"] is True
    assert r.json["host"] == "up"


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/healthz", None),
    ("GET", "/instances", None),
    ("GET", "/sessions", None),
    ("POST", "/sessions", {"instanceId": "echo"}),
    ("GET", f"/sessions/{UNKNOWN_ID}", None),
    ("POST", "/sessions", {"instanceId": "nope"}),
    ("POST", "/sessions", []),
])
def test_json_answers_carry_content_type_application_json(stack, method, path, body):
    r = stack.request(method, path, body)
    if r.status == 201:
        stack.delete(f"/sessions/{r.json['id']}")
    assert r.headers.get("content-type", "").split(";")[0].strip() == "application/json", r.headers


def test_instances_are_listed_in_configuration_order(stack):
    r = stack.get("/instances")
    assert r.status == 200
    assert [(i["id"], i["agent"]) for i in r.json] == [(i["id"], i["agent"]) for i in SHARED_INSTANCES]


def test_create_returns_201_and_a_running_summary(stack, sessions):
    s = sessions("echo", name="first")
    assert re.fullmatch(r"[0-9a-f]{12}", s["id"]), s
    assert s["instanceId"] == "echo"
    assert s["name"] == "first"
    assert s["status"] == "running"
    assert s["agent"] == "command"
    assert isinstance(s["spawnedAt"], int) and s["spawnedAt"] > 1_600_000_000_000
    assert s["clients"] == 0


def test_summary_omits_absent_fields_instead_of_null(stack, sessions):
    s = sessions("echo")
    for field in ("name", "exitCode", "signal", "cwd"):
        assert field not in s, s
    assert None not in s.values(), s
    assert None not in stack.summary(s["id"]).values()


def test_list_returns_sessions_in_creation_order(stack, sessions):
    ids = [sessions("echo", name=f"n{i}")["id"] for i in range(4)]
    r = stack.get("/sessions")
    assert r.status == 200
    listed = [s["id"] for s in r.json]
    assert [i for i in listed if i in ids] == ids


def test_get_returns_the_summary(stack, sessions):
    s = sessions("echo", name="getme")
    got = stack.get(f"/sessions/{s['id']}")
    assert got.status == 200
    assert {k: got.json[k] for k in ("id", "name", "instanceId", "status", "agent", "spawnedAt")} == \
        {k: s[k] for k in ("id", "name", "instanceId", "status", "agent", "spawnedAt")}


@pytest.mark.parametrize("sid", [UNKNOWN_ID, "not-an-id", "ABCDEF012345"])
def test_get_of_unknown_session_is_404_not_found(stack, sid):
    r = stack.get(f"/sessions/{sid}")
    assert (r.status, r.json) == (404, {"error": "not_found"})


def test_delete_returns_204_and_removes_the_session(stack, sessions):
    s = sessions("echo")
    r = stack.delete(f"/sessions/{s['id']}")
    assert r.status == 204
    assert r.text == ""
    assert stack.get(f"/sessions/{s['id']}").status == 404
    assert s["id"] not in [x["id"] for x in stack.get("/sessions").json]
    assert stack.raw_ws(f"/sessions/{s['id']}").handshake.status == 404


def test_delete_of_unknown_session_is_404_not_found(stack):
    r = stack.delete(f"/sessions/{UNKNOWN_ID}")
    assert (r.status, r.json) == (404, {"error": "not_found"})


def test_restart_of_running_session_is_409_already_running(stack, sessions):
    s = sessions("echo")
    r = stack.post(f"/sessions/{s['id']}/restart")
    assert (r.status, r.json) == (409, {"error": "already_running"})


def test_restart_of_unknown_session_is_404_not_found(stack):
    r = stack.post(f"/sessions/{UNKNOWN_ID}/restart")
    assert (r.status, r.json) == (404, {"error": "not_found"})


def test_unknown_instance_is_404_naming_the_instance(stack):
    r = stack.post("/sessions", {"instanceId": "no-such-instance"})
    assert r.status == 404
    assert r.json == {"error": "unknown_instance", "instanceId": "no-such-instance"}


def test_given_instance_id_selects_that_instance(stack, sessions):
    assert sessions("envcwd")["instanceId"] == "envcwd"


def test_without_instance_id_the_instance_named_default_is_used(stack, sessions):
    # "default" is the third configured instance: chosen over the first ("echo").
    assert sessions(None)["instanceId"] == "default"


def test_empty_body_means_an_empty_object(stack):
    r = stack.post("/sessions", raw=b"")
    assert r.status == 201, r
    stack.delete(f"/sessions/{r.json['id']}")
    assert r.json["instanceId"] == "default"


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null", b"true", b"{not json", b"{}{}"],
                         ids=["array", "string", "number", "null", "bool", "malformed", "two-values"])
def test_body_that_is_not_a_json_object_is_400_bad_request(stack, raw):
    r = stack.post("/sessions", raw=raw)
    assert r.status == 400, r
    assert r.json["error"] == "bad_request"
    assert isinstance(r.json.get("detail"), str) and r.json["detail"]


@pytest.mark.parametrize("body", [
    {"instanceId": 7}, {"instanceId": ["echo"]}, {"name": 1}, {"name": {"a": 1}}, {"cwd": False},
    {"env": "A=1"}, {"env": ["A=1"]}, {"env": {"A": 1}}, {"env": {"A": None}}, {"env": {"A": True}},
], ids=lambda b: "-".join(f"{k}={type(v).__name__}" for k, v in b.items()))
def test_field_of_the_wrong_type_is_400_bad_request(stack, body):
    r = stack.post("/sessions", body)
    assert r.status == 400, r
    assert r.json["error"] == "bad_request"
    assert isinstance(r.json.get("detail"), str) and r.json["detail"]


def test_spawn_failure_never_leaves_a_running_session(stack):
    r = stack.post("/sessions", {"instanceId": "missing_binary"})
    if r.status == 201:
        sid = r.json["id"]
        try:
            s = stack.wait_status(sid, "crashed")
            assert s["status"] == "crashed"
        finally:
            stack.delete(f"/sessions/{sid}")
    else:
        assert r.status >= 400 and r.status != 503, r
        assert isinstance(r.json.get("error"), str)
