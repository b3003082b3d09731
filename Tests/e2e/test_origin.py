"""Origin checks on state-changing REST calls and WebSocket upgrades (shared stack, which
allows https://phone.example and http://tablet.example:8080 besides its own origin)."""
import pytest

FOREIGN = ["http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1.evil.example", "null"]
ALLOWED = ["https://phone.example", "http://tablet.example:8080"]


def origins(stack):
    """(label, Origin header or None, allowed?) for every case."""
    return ([("none", None, True), ("own", stack.origin, True)] +
            [(f"allowed:{o}", o, True) for o in ALLOWED] + [(f"foreign:{o}", o, False) for o in FOREIGN])


CASES = ["none", "own"] + [f"allowed:{o}" for o in ALLOWED] + [f"foreign:{o}" for o in FOREIGN]


def case(stack, label):
    return next((o, ok) for lbl, o, ok in origins(stack) if lbl == label)


def hdrs(origin):
    return {} if origin is None else {"Origin": origin}


@pytest.mark.parametrize("label", CASES)
def test_post_sessions_is_403_for_a_foreign_origin_only(stack, label):
    origin, ok = case(stack, label)
    r = stack.post("/sessions", {"instanceId": "echo"}, headers=hdrs(origin))
    if r.status == 201:
        stack.delete(f"/sessions/{r.json['id']}")
    if ok:
        assert r.status == 201, r
    else:
        assert (r.status, r.json) == (403, {"error": "forbidden_origin"})


@pytest.mark.parametrize("label", CASES)
def test_delete_session_is_403_for_a_foreign_origin_only(stack, sessions, label):
    origin, ok = case(stack, label)
    s = sessions("echo")
    r = stack.delete(f"/sessions/{s['id']}", headers=hdrs(origin))
    if ok:
        assert r.status == 204, r
    else:
        assert (r.status, r.json) == (403, {"error": "forbidden_origin"})
        assert stack.summary(s["id"])["status"] == "running"


@pytest.mark.parametrize("label", CASES)
def test_websocket_upgrade_is_403_for_a_foreign_origin_only(stack, sessions, label):
    origin, ok = case(stack, label)
    s = sessions("echo")
    ws = stack.raw_ws(f"/sessions/{s['id']}", origin=origin)
    try:
        assert ws.handshake.status == (101 if ok else 403), ws.handshake
    finally:
        ws.close_socket()


def test_reads_are_allowed_from_any_origin(stack):
    assert stack.get("/sessions", headers={"Origin": "http://evil.example"}).status == 200


# -- DNS rebinding: a name that resolves to this machine is not one amarre is served under --

def test_a_rebound_host_name_can_neither_read_nor_drive_sessions(stack):
    s = stack.create("cat")
    evil = f"evil.example:{stack.port}"
    page = {"Host": evil, "Origin": f"http://{evil}"}
    for method, path in [("GET", "/sessions"), ("GET", f"/sessions/{s['id']}/events"), ("POST", "/sessions"),
                         ("DELETE", f"/sessions/{s['id']}")]:
        r = stack.request(method, path, headers=page)
        assert r.status == 403 and r.json["error"] == "forbidden_host", (method, path, r)
    upgrade = stack.request("GET", f"/sessions/{s['id']}", headers={
        **page, "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
    assert upgrade.status == 403
    assert stack.summary(s["id"])["status"] == "running"
    stack.delete(f"/sessions/{s['id']}")


def test_tailnet_names_and_ip_literals_are_served(stack):
    for host in [f"box.tail1234.ts.net:{stack.port}", f"127.0.0.1:{stack.port}", f"localhost:{stack.port}"]:
        r = stack.get("/sessions", headers={"Host": host, "Origin": f"http://{host}"})
        assert r.status == 200, (host, r)
