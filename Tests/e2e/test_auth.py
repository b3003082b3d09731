"""Access control (AMARRE_AUTH=token) through the real nginx: pairing, bearer tokens, cookies,
revocation, brute force, and the hardening that came with it (session env, caps, client limits,
file modes, headers, logs)."""
from __future__ import annotations

import json
import os
import re
import stat
import time
import uuid

import pytest
from websockets.exceptions import InvalidStatus

from conftest import (DEFAULT_TIMEOUT, WSClient, agent, command_instance, stack_fixture,
                      wait_for)

INSTANCES = [
    command_instance("echo", agent("echo.py")),
    command_instance("stderr", agent("stderr_writer.py")),
    command_instance("ldok", agent("echo.py"), allowSessionEnv=["LD_LIBRARY_PATH"]),
    command_instance("term_ignorer", agent("term_ignorer.py")),
]

auth_stack = stack_fixture(
    env={"AMARRE_AUTH": "token", "AMARRE_MAX_CLIENTS_PER_SESSION": "3", "AMARRE_MAX_CLIENTS": "5",
         "AMARRE_STDERR_LINE_BYTES": "64"},
    instances=INSTANCES)

SID = "0123456789ab"
PROTECTED = [
    ("GET", "/instances"), ("GET", "/sessions"), ("POST", "/sessions"), ("GET", f"/sessions/{SID}"),
    ("DELETE", f"/sessions/{SID}"), ("POST", f"/sessions/{SID}/restart"), ("GET", f"/sessions/{SID}/events"),
    ("POST", "/auth/logout"), ("GET", "/auth/device"), ("GET", "/sessions/nowhere/x"), ("GET", "/auth/nowhere"),
]
SECRETS: list[str] = []  # every token and code a test saw: none may reach a log


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pair_code(stack, name: str = "e2e phone") -> str:
    out = stack.cli("pair", "--name", name).stdout
    m = re.search(r"#pair=([a-z2-7]{26})\b", out)
    assert m, out
    assert f"{stack.origin}/#pair={m.group(1)}" in out
    SECRETS.append(m.group(1))
    return m.group(1)


def pair(stack, code: str, address: str = "100.64.0.1", name: str | None = "e2e phone"):
    body = {"code": code} if name is None else {"code": code, "name": name}
    return stack.post("/auth/pair", body, headers={"X-Forwarded-For": address})


def paired_cookie(stack, name: str = "e2e phone") -> str:
    r = pair(stack, pair_code(stack, name), address=f"100.64.1.{uuid.uuid4().int % 250}", name=None)
    assert r.status == 200, r
    value = re.match(r"amarre_auth=([^;]+)", r.headers["set-cookie"]).group(1)
    SECRETS.append(value)
    return f"amarre_auth={value}"


@pytest.fixture(scope="module")
def token(auth_stack) -> str:
    t = auth_stack.make_token("e2e script")
    SECRETS.append(t)
    return t


@pytest.fixture
def created(auth_stack, token):
    made = []

    def create(instance="echo", **fields):
        r = auth_stack.post("/sessions", {"instanceId": instance, **fields}, headers=bearer(token))
        assert r.status == 201, r
        made.append(r.json["id"])
        return r.json

    yield create
    for sid in made:
        auth_stack.delete(f"/sessions/{sid}", headers=bearer(token))


# -- what is protected ---------------------------------------------------------------------

@pytest.mark.parametrize("method,path", PROTECTED)
def test_every_rest_route_refuses_a_request_without_credentials(auth_stack, method, path):
    r = auth_stack.request(method, path)
    assert r.status == 401, r
    assert r.json == {"error": "unauthorized"}
    assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("method,path", PROTECTED[:-4])
def test_every_rest_route_refuses_a_wrong_token_and_a_wrong_cookie(auth_stack, method, path, token):
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert auth_stack.request(method, path, headers=bearer(forged)).status == 401
    assert auth_stack.request(method, path, headers={"Cookie": f"amarre_auth={forged}"}).status == 401


def test_a_bearer_token_and_a_paired_cookie_drive_every_route(auth_stack, token):
    cookie = paired_cookie(auth_stack)
    for creds in (bearer(token), {"Cookie": cookie}):
        assert auth_stack.get("/instances", headers=creds).status == 200
        r = auth_stack.post("/sessions", {"instanceId": "echo"}, headers=creds)
        assert r.status == 201, r
        sid = r.json["id"]
        assert auth_stack.get("/sessions", headers=creds).status == 200
        assert auth_stack.get(f"/sessions/{sid}", headers=creds).status == 200
        assert auth_stack.get(f"/sessions/{sid}/events", headers=creds).status == 200
        assert auth_stack.post(f"/sessions/{sid}/restart", headers=creds).status == 409
        assert auth_stack.delete(f"/sessions/{sid}", headers=creds).status == 204


def test_healthz_is_open_but_tells_only_ok_and_host_without_credentials(auth_stack, token):
    r = auth_stack.get("/healthz")
    assert r.status == 200 and r.json == {"ok": True, "host": "up"}
    full = auth_stack.get("/healthz", headers=bearer(token)).json
    assert full["ok"] is True and "sessions" in full and "version" in full


def test_the_static_page_is_open_and_cannot_be_framed(auth_stack):
    for path in ("/", "/index.html", "/main.js"):
        r = auth_stack.get(path)
        assert r.status == 200, path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert r.headers["x-frame-options"] == "DENY"


def test_the_websocket_upgrade_refuses_without_credentials_and_accepts_token_or_cookie(auth_stack, created, token):
    sid = created()["id"]
    refused = auth_stack.raw_ws(f"/sessions/{sid}")
    assert refused.handshake.status == 401
    assert json.loads(refused.handshake.body) == {"error": "unauthorized"}
    # Unknown ids are not revealed without credentials either.
    assert auth_stack.raw_ws("/sessions/ffffffffffff").handshake.status == 401
    wrong = token[:-1] + ("B" if token.endswith("A") else "A")
    assert auth_stack.raw_ws(f"/sessions/{sid}", headers=bearer(wrong)).handshake.status == 401
    for headers in (bearer(token), {"Cookie": paired_cookie(auth_stack)}):
        c = WSClient(auth_stack.ws_url(sid), additional_headers=headers)
        try:
            assert c.recv_record("amarre.hello")["sessionId"] == sid
            c.send({"type": "prompt", "message": "hi"})
            assert c.recv_record()["type"] == "prompt"
        finally:
            c.close()


# -- pairing ----------------------------------------------------------------------------

def test_pairing_gives_a_long_lived_httponly_strict_cookie_and_the_code_works_once(auth_stack):
    code = pair_code(auth_stack, "Pixel")
    r = pair(auth_stack, code, name=None)
    assert r.status == 200, r
    assert r.json["kind"] == "browser" and r.json["name"] == "Pixel" and re.fullmatch(r"[0-9a-f]{16}", r.json["id"])
    cookie = r.headers["set-cookie"]
    SECRETS.append(cookie.split(";")[0].split("=", 1)[1])
    attrs = [a.strip() for a in cookie.split(";")]
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs
    assert "Secure" not in attrs  # plain http on loopback
    assert int(next(a for a in attrs if a.startswith("Max-Age=")).split("=")[1]) >= 300 * 86400
    again = pair(auth_stack, code)
    assert again.status == 401 and again.json == {"error": "invalid_code"}
    devices = json.loads(auth_stack.cli("devices").stdout)
    assert any(d["id"] == r.json["id"] and d["kind"] == "browser" and d["name"] == "Pixel" for d in devices)


def test_the_cookie_is_secure_when_the_front_was_https(auth_stack):
    r = auth_stack.post("/auth/pair", {"code": pair_code(auth_stack)},
                        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "100.64.2.1"})
    assert r.status == 200, r
    SECRETS.append(r.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    assert "Secure" in [a.strip() for a in r.headers["set-cookie"].split(";")]


def test_brute_force_gets_429_after_five_failures_a_minute_from_one_address(auth_stack):
    address = f"100.64.3.{uuid.uuid4().int % 250}"
    for _ in range(5):
        r = pair(auth_stack, "a" * 26, address=address)
        assert r.status == 401 and r.json == {"error": "invalid_code"}, r
    blocked = pair(auth_stack, "a" * 26, address=address)
    assert blocked.status == 429, blocked
    assert blocked.json["error"] == "too_many_attempts"
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    # Even the right code is refused from that address for now; another address pairs.
    code = pair_code(auth_stack)
    assert pair(auth_stack, code, address=address).status == 429
    assert pair(auth_stack, code, address="100.64.4.1").status == 200


def test_a_pairing_request_needs_a_code(auth_stack):
    for body in (b"", b"[]", b'{"name":"x"}', b'{"code":1}'):
        r = auth_stack.request("POST", "/auth/pair", raw=body, headers={"Content-Type": "application/json"})
        assert r.status == 400, (body, r)


# -- the owner's commands ---------------------------------------------------------------

def test_token_create_prints_the_token_alone_and_devices_lists_it(auth_stack):
    r = auth_stack.cli("token", "create", "--name", "ci runner")
    token = r.stdout.strip()
    SECRETS.append(token)
    assert r.stdout == token + "\n"
    assert re.fullmatch(r"amr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    devices = json.loads(auth_stack.cli("devices").stdout)
    mine = [d for d in devices if d["name"] == "ci runner"]
    assert len(mine) == 1 and mine[0]["kind"] == "token"
    assert set(mine[0]) >= {"id", "name", "kind", "createdAt"}
    assert token.split("_")[1] == mine[0]["id"]
    assert auth_stack.get("/sessions", headers=bearer(token)).status == 200
    # lastSeenAt follows use.
    assert wait_for(lambda: next(d for d in auth_stack.control({"listDevices": {}})["devices"]["list"]
                                 if d["id"] == mine[0]["id"]).get("lastSeenAt"), what="lastSeenAt")


def test_the_cli_sends_its_token_from_the_environment_and_never_in_the_url(auth_stack, token):
    assert auth_stack.cli("ls", env={"AMARRE_TOKEN": token}).returncode == 0
    refused = auth_stack.cli("ls", env={"AMARRE_TOKEN": ""}, check=False)
    assert refused.returncode == 1
    assert "amarre token create" in refused.stderr


def test_the_control_socket_is_the_owners_only(auth_stack):
    mode = stat.S_IMODE(os.stat(auth_stack.control_socket).st_mode)
    assert mode == 0o600


# -- revocation -------------------------------------------------------------------------

def test_revocation_closes_the_devices_sockets_within_a_second_and_refuses_its_next_request(auth_stack, created):
    victim = auth_stack.make_token("victim")
    other = auth_stack.make_token("bystander")
    SECRETS.extend([victim, other])
    sid = created()["id"]
    c = WSClient(auth_stack.ws_url(sid), additional_headers=bearer(victim))
    bystander = WSClient(auth_stack.ws_url(sid), additional_headers=bearer(other))
    try:
        c.recv_record("amarre.hello")
        bystander.recv_record("amarre.hello")
        victim_id = victim.split("_")[1]
        started = time.monotonic()
        assert auth_stack.cli("revoke", victim_id).returncode == 0
        code, _ = c.expect_close(timeout=DEFAULT_TIMEOUT)
        assert code == 1008
        assert c.ws.close_reason == "revoked"
        assert time.monotonic() - started < 1.0
        assert auth_stack.get("/sessions", headers=bearer(victim)).status == 401
        with pytest.raises(InvalidStatus):
            WSClient(auth_stack.ws_url(sid), additional_headers=bearer(victim))
        # The other device is untouched.
        bystander.send({"type": "prompt", "message": "still here"})
        assert bystander.recv_record()["message"] == "still here"
    finally:
        c.close()
        bystander.close()
    assert auth_stack.cli("revoke", victim_id, check=False).returncode == 1


def test_logout_revokes_the_calling_browser(auth_stack, created):
    cookie = paired_cookie(auth_stack, "to log out")
    sid = created()["id"]
    c = WSClient(auth_stack.ws_url(sid), additional_headers={"Cookie": cookie})
    try:
        c.recv_record("amarre.hello")
        me = auth_stack.get("/auth/device", headers={"Cookie": cookie})
        assert me.status == 200 and me.json["auth"] == "token" and me.json["device"]["name"] == "to log out"
        r = auth_stack.post("/auth/logout", headers={"Cookie": cookie, "Origin": auth_stack.origin})
        assert r.status == 204
        assert "Max-Age=0" in r.headers["set-cookie"]
        code, _ = c.expect_close()
        assert code == 1008
        assert auth_stack.get("/sessions", headers={"Cookie": cookie}).status == 401
    finally:
        c.close()


# -- hardening --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["AMARRE_ALLOW_TOOLS", "AMARRE_PI_GATE", "LD_PRELOAD", "LD_LIBRARY_PATH", "NODE_OPTIONS",
                                  "BASH_ENV", "ENV", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT"])
def test_a_session_env_cannot_weaken_its_instance(auth_stack, token, name):
    r = auth_stack.post("/sessions", {"instanceId": "echo", "env": {name: "*"}}, headers=bearer(token))
    assert r.status == 400, r
    assert name in r.json["detail"] and "allowSessionEnv" in r.json["detail"]


def test_an_instance_may_allow_a_denied_variable(auth_stack, created):
    created("ldok", env={"LD_LIBRARY_PATH": "/opt/lib"})


@pytest.mark.parametrize("body,detail", [
    ({"name": "x" * 201}, "name"),
    ({"cwd": "/" + "a" * 4096}, "cwd"),
    ({"env": {f"E2E_{i}": "v" for i in range(257)}}, "env"),
    ({"env": {f"E2E_{i}": "v" * 1024 for i in range(65)}}, "env"),
])
def test_names_cwds_and_envs_are_capped(auth_stack, token, body, detail):
    r = auth_stack.post("/sessions", {"instanceId": "echo", **body}, headers=bearer(token))
    assert r.status == 400, r
    assert detail in r.json["detail"]


def test_the_largest_allowed_name_and_env_pass(auth_stack, created):
    s = created(name="n" * 200, env={f"E2E_{i}": "v" for i in range(256)})
    assert s["name"] == "n" * 200


def test_clients_are_limited_per_session_and_in_all(auth_stack, created, token):
    a, b = created()["id"], created()["id"]
    opened = []
    try:
        for _ in range(3):
            opened.append(WSClient(auth_stack.ws_url(a), additional_headers=bearer(token)))
        refused = auth_stack.raw_ws(f"/sessions/{a}", headers=bearer(token))
        assert refused.handshake.status == 503
        assert json.loads(refused.handshake.body) == {"error": "too_many_clients"}
        for _ in range(2):
            opened.append(WSClient(auth_stack.ws_url(b), additional_headers=bearer(token)))
        assert auth_stack.raw_ws(f"/sessions/{b}", headers=bearer(token)).handshake.status == 503
        opened.pop().close()
        wait_for(lambda: auth_stack.raw_ws_status(f"/sessions/{b}", bearer(token)) == 101, what="a freed slot")
    finally:
        for c in opened:
            c.close()


def test_state_files_are_the_owners_only(auth_stack, token):
    d = auth_stack.dir
    assert auth_stack.get("/sessions", headers=bearer(token)).status == 200
    for path, mode in [(d, 0o700), (d / "run", 0o700), (d / "sockets", 0o700), (d / "devices.json", 0o600),
                       (d / "amarre.sqlite", 0o600), (d / "run" / "control.sock", 0o600)]:
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path
    for extra in ("amarre.sqlite-wal", "amarre.sqlite-shm"):
        if (d / extra).exists():
            assert stat.S_IMODE(os.stat(d / extra).st_mode) == 0o600, extra


def test_long_agent_stderr_lines_are_cut_not_dropped_and_control_characters_escaped(auth_stack, created, token):
    sid = created("stderr")["id"]
    c = WSClient(auth_stack.ws_url(sid), additional_headers=bearer(token))
    try:
        c.recv_record("amarre.hello")
        marker = f"cut{uuid.uuid4().hex[:8]}"
        c.send({"type": "e2e.stderr", "text": marker + "\x1b[31m" + "x" * 200})
        c.recv_record("e2e.stderr")
        forged = f"esc{uuid.uuid4().hex[:8]}"
        c.send({"type": "e2e.stderr", "text": forged + "\r2026-01-01T00:00:00Z error amarre.host : forged"})
        c.recv_record("e2e.stderr")
    finally:
        c.close()
    log = wait_for(lambda: (lambda t: t if forged in t else None)(auth_stack.host_log()),
                   what="stderr lines in the host log")
    line = next(l for l in log.splitlines() if marker in l)
    assert "\\x1b[31m" in line and "\x1b" not in line
    assert "line.cut_bytes=" in line
    assert re.search(r"line\.cut_bytes=(\d+)", line).group(1) == str(len(marker) + 5 + 200 - 64)
    assert not any(l.startswith("2026-01-01T00:00:00Z") for l in log.splitlines())


def test_no_secret_reaches_nginx_or_amarre_logs(auth_stack):
    # Runs last in this module (pytest keeps file order): everything above has been logged.
    assert SECRETS, "the tests above recorded the secrets they used"
    logs = {f.name: f.read_text(errors="replace") for f in auth_stack.log_dir.glob("*.log")}
    assert "nginx-access.log" in logs and "host.log" in logs and "api.log" in logs
    for name, text in logs.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret appears in {name}"
            # The secret half of a token alone neither.
            if secret.startswith("amr_"):
                assert secret.split("_", 2)[2] not in text, f"a token secret appears in {name}"


def test_sessions_still_being_stopped_count_toward_the_session_limit(stack_factory):
    s = stack_factory(env={"AMARRE_MAX_SESSIONS": "1", "AMARRE_KILL_GRACE_MS": "3000"}, instances=INSTANCES)
    first = s.create("term_ignorer")
    # Once it answers, the agent ignores SIGTERM (a delete sent before could kill it at once).
    c = s.ws(first["id"])
    try:
        c.send({"type": "e2e.pid"})
        c.recv_record("e2e.pid")
    finally:
        c.close()
    assert s.delete(f"/sessions/{first['id']}").status == 204
    # Its agent ignores SIGTERM and holds the slot until the SIGKILL after the grace.
    refused = s.post("/sessions", {"instanceId": "echo"})
    assert refused.status == 429 and refused.json["error"] == "max_sessions_reached", refused
    created = wait_for(lambda: (r := s.post("/sessions", {"instanceId": "echo"})).status == 201 and r,
                       timeout=15, what="the slot to be freed once the agent is gone")
    s.delete(f"/sessions/{created.json['id']}")
