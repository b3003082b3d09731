"""Notifications (issue 10; /work/notes/push-contract.md) end to end: real nginx + amarre-api +
amarre-host sending to local fakes (pushfakes.py) of a Web Push service that decrypts every
payload with the subscription's keys (http_ece) and checks the VAPID JWT, of Expo's push API, of
ntfy and of a webhook.

Triggers use a short grace (GRACE_MS). "Nothing was sent" is a bounded wait on the fakes for a
request that must not come (`expect_count`), after the moment it would have come; nothing sleeps
to wait for an event. Most tests share one module stack (`push_stack`) and tell their events apart
by session id; those that need another configuration, a restart or access control start their own.
"""
from __future__ import annotations

import json
import os
import stat
import time
import uuid
from typing import Any, Callable
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import (DEFAULT_TIMEOUT, PY, Stack, _start_and_yield, agent, command_instance,
                      session_maker, wait_for)
from pushfakes import (PushFakes, fakes, Received, WebPushService, b64url, encrypt_for, event_is,
                       message_is, public_point, sign_vapid, unb64url)

GRACE_MS = 300
GRACE = GRACE_MS / 1000
QUIET = 3 * GRACE  # how long a test watches for a notification that must not come
PUBLIC_URL = "https://box.tailnet.example/"
DEFAULT_SUBJECT = "mailto:amarre@localhost.localdomain"

# A scriptable agent (pi-shaped records). It reports every line it receives as
# {"type":"e2e.got","record":...}. A prompt starts a run (agent_start) and may carry
# "ask": [extension_ui_request fields...] (questions stay open until answered), "exit": N or
# "signal": "SIGKILL" (dies in the middle of the run). The run ends (agent_end) when no question
# is open, or on {"type":"e2e.end_run"} (open questions are then withdrawn by the host).
ASKER = r'''
import json, os, signal, sys
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
QUESTIONS = ("select", "confirm", "input", "editor")
open_ids, running = set(), False
for line in sys.stdin:
    try:
        cmd = json.loads(line)
    except ValueError:
        continue
    if not isinstance(cmd, dict):
        continue
    out({"type": "e2e.got", "record": cmd})
    kind = cmd.get("type")
    if kind == "prompt":
        running = True
        out({"type": "agent_start"})
        for q in cmd.get("ask", []):
            out(dict(q, type="extension_ui_request"))
            if q.get("method") in QUESTIONS:
                open_ids.add(q.get("id"))
        if "exit" in cmd:
            os._exit(int(cmd["exit"]))
        if "signal" in cmd:
            os.kill(os.getpid(), getattr(signal, cmd["signal"]))
        if not open_ids:
            running = False
            out({"type": "agent_end", "messages": []})
    elif kind == "extension_ui_response":
        open_ids.discard(cmd.get("id"))
        if running and not open_ids:
            running = False
            out({"type": "agent_end", "messages": []})
    elif kind == "e2e.end_run" and running:
        running = False
        open_ids.clear()
        out({"type": "agent_end", "messages": []})
'''

INSTANCES = [
    command_instance("asker", [PY, "-c", ASKER]),
    command_instance("echo", agent("echo.py")),
    {"id": "demo", "agent": "demo"},
]

PUSH_ROUTES = [
    ("GET", "/push/vapid"), ("POST", "/push/subscriptions"), ("DELETE", "/push/subscriptions"),
    ("POST", "/push/test"), ("GET", "/push/tokens"), ("POST", "/push/tokens"),
    ("DELETE", "/push/tokens/ExponentPushToken%5Bnone%5D"),
]


# -- helpers ---------------------------------------------------------------------------------

def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_id(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def confirm(rid: str, title: str = "Run bash?", message: str = "ls -la /tmp") -> dict:
    return {"id": rid, "method": "confirm", "title": title, "message": message}


def select(rid: str, title: str, options: tuple[str, ...] = ("Allow once", "Deny")) -> dict:
    return {"id": rid, "method": "select", "title": title, "options": list(options)}


def awaiting(sid: str, rid: str | None = None) -> Callable[[Received], bool]:
    return event_is(trigger="awaiting_input", sessionId=sid, **({"requestId": rid} if rid else {}))


def trigger(sid: str, name: str) -> Callable[[Received], bool]:
    return event_is(trigger=name, sessionId=sid)


def of_session(sid: str) -> Callable[[Received], bool]:
    return event_is(sessionId=sid)


def ntfy_about(sid: str, title: str | None = None) -> Callable[[Received], bool]:
    """An ntfy request whose click link opens this session (and, if given, with this title)."""
    return lambda r: (r.headers.get("click", "").endswith(f"#/s/{sid}")
                      and (title is None or r.headers.get("title") == title))


def expo_about(sid: str, trigger_name: str | None = None, to: str | None = None) -> Callable[[dict], bool]:
    data = message_is(sessionId=sid, **({"trigger": trigger_name} if trigger_name else {}))
    return lambda m: data(m) and (to is None or m.get("to") == to)


def collapse(text: str) -> str:
    return " ".join(text.split())


class Client:
    """A session WebSocket client that keeps every record it reads, `amarre.*` included."""

    def __init__(self, stack: Stack, sid: str, headers: dict[str, str] | None = None):
        kw = {"additional_headers": headers} if headers else {}
        self.inner = stack.ws(sid, **kw)
        self.ws = self.inner.ws  # conftest's `clients` fixture closes what has a `.ws`
        self.seen: list[dict] = []  # every record read, in order
        self._returned: set[int] = set()  # indices in `seen` that `until` already returned
        self.until("amarre.hello")

    def send(self, record: Any) -> None:
        self.inner.send(record)

    def presence(self, visible: bool) -> None:
        self.send({"type": "amarre.presence", "visible": visible})

    def prompt(self, message: str = "go", **extra: Any) -> None:
        self.send({"type": "prompt", "message": message, **extra})

    def answer(self, rid: str, **answer: Any) -> None:
        self.send({"type": "extension_ui_response", "id": rid, **answer})

    def until(self, type: str, where: Callable[[dict], bool] | None = None,
              timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> dict:
        """The first record of `type` with these fields (and `where`) not returned before: among
        the records already read (two streams' order is not fixed: an agent's reaction may be
        sequenced before the server record that caused it), else reading on, with a deadline."""
        def matches(rec: Any) -> bool:
            return (isinstance(rec, dict) and rec.get("type") == type
                    and all(rec.get(k) == v for k, v in fields.items()) and (where is None or where(rec)))

        for i, rec in enumerate(self.seen):
            if i not in self._returned and matches(rec):
                self._returned.add(i)
                return rec
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {type} {fields} within {timeout}s; last records: {self.seen[-5:]}")
            try:
                text = self.ws.recv(timeout=remaining)
            except TimeoutError:
                continue
            rec = json.loads(text)
            self.seen.append(rec)
            if matches(rec):
                self._returned.add(len(self.seen) - 1)
                return rec

    def agent_got(self, type: str, **fields: Any) -> dict:
        """Waits until the agent reports having received a record of `type` with these fields."""
        return self.until("e2e.got", where=lambda r: isinstance(r.get("record"), dict)
                          and r["record"].get("type") == type
                          and all(r["record"].get(k) == v for k, v in fields.items()))["record"]

    def close(self) -> None:
        self.inner.close()


def run_once(stack: Stack, sid: str, headers: dict[str, str] | None = None) -> None:
    """One run (agent_start … agent_end) with nobody looking: a `done` event."""
    c = Client(stack, sid, headers)
    try:
        c.presence(False)
        c.prompt()
        c.until("agent_end")
    finally:
        c.close()


def wait_stored(stack: Stack, sid: str, type: str, **fields: Any) -> dict:
    """Waits until a record is in the session's stored history (GET …/events reads the store), so
    that a SIGKILLed host finds it when it comes back."""
    def find() -> dict | None:
        r = stack.get(f"/sessions/{sid}/events?after=0&limit=1000")
        return next((x for x in (r.json if r.status == 200 else []) if x.get("type") == type
                     and all(x.get(k) == v for k, v in fields.items())), None)
    return wait_for(find, what=f"a stored {type} {fields} in session {sid}")


def push_env(fakes: PushFakes, **extra: str) -> dict[str, str]:
    return {"AMARRE_PUSH_GRACE_MS": str(GRACE_MS), "AMARRE_DEMO_SPEED": "100", **fakes.env(), **extra}


def answer_url(sid: str, rid: str) -> str:
    return f"/sessions/{sid}/requests/{quote(rid, safe='')}"


def expo_token() -> str:
    return f"ExponentPushToken[e2e{uuid.uuid4().hex[:18]}]"


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def push_stack(request, fakes):
    yield from _start_and_yield(Stack(env=push_env(fakes, AMARRE_PUBLIC_URL=PUBLIC_URL), instances=INSTANCES,
                                      label=request.node.name))


@pytest.fixture(scope="module")
def main_sub(push_stack, fakes):
    """A subscription registered on push_stack for the whole module: every event reaches it."""
    sub = fakes.webpush.subscription()
    r = push_stack.post("/push/subscriptions", sub.to_json())
    assert r.status == 201, r
    return sub


@pytest.fixture
def asker(push_stack):
    """Creates sessions of the scriptable agent on push_stack; deletes them after the test."""
    yield from session_maker(push_stack, "asker")


@pytest.fixture
def subscribe(fakes):
    """`subscribe(stack, headers=None)`: a new fake subscription, registered (201); unregistered
    after the test."""
    made: list[tuple[Stack, Any, dict | None]] = []

    def make(stack: Stack, headers: dict[str, str] | None = None):
        sub = fakes.webpush.subscription()
        r = stack.post("/push/subscriptions", sub.to_json(), headers=headers)
        assert r.status == 201, r
        assert r.json == {"endpoint": sub.endpoint}
        made.append((stack, sub, headers))
        return sub

    yield make
    for stack, sub, headers in made:
        if not stack.stopped:
            try:
                stack.request("DELETE", "/push/subscriptions", {"endpoint": sub.endpoint}, headers=headers)
            except OSError:
                pass


@pytest.fixture
def register_token():
    """`register_token(stack, headers=None)`: a new Expo token, registered (201); deleted after."""
    made: list[tuple[Stack, str, dict | None]] = []

    def make(stack: Stack, headers: dict[str, str] | None = None) -> str:
        token = expo_token()
        r = stack.post("/push/tokens", {"token": token}, headers=headers)
        assert r.status == 201, r
        assert r.json == {"token": token}
        made.append((stack, token, headers))
        return token

    yield make
    for stack, token, headers in made:
        if not stack.stopped:
            try:
                stack.delete(f"/push/tokens/{quote(token, safe='')}", headers=headers)
            except OSError:
                pass


# -- the fake push service itself, independently of amarre -----------------------------------

def test_the_fake_push_service_decrypts_and_verifies_what_pywebpush_sends():
    """Self-test: pywebpush (its own aes128gcm via http_ece and its own VAPID via py_vapid)
    sends to a fake subscription; the fake decrypts the payload and accepts the JWT."""
    import pywebpush
    from py_vapid import Vapid
    service = WebPushService()
    try:
        sub = service.subscription()
        vapid = Vapid()
        vapid.generate_keys()
        payload = {"trigger": "awaiting_input", "title": "é ✓", "body": "Run bash? ls"}
        r = pywebpush.webpush(sub.to_json(), json.dumps(payload), vapid_private_key=vapid,
                              vapid_claims={"sub": "mailto:e2e@example.com"}, ttl=86400,
                              headers={"Content-Type": "application/octet-stream", "Urgency": "high"})
        assert r.status_code == 201
        [got] = sub.wait(1)
        assert got.event == payload and not got.problems
        assert got.vapid_key == b64url(public_point(vapid.public_key))
        assert got.claims["aud"] == service.origin and got.claims["sub"] == "mailto:e2e@example.com"
        assert got.headers["ttl"] == "86400" and got.headers["urgency"] == "high"
        # The rendered PushSubscription is the browser's shape.
        j = sub.to_json()
        assert set(j) == {"endpoint", "expirationTime", "keys"} and j["expirationTime"] is None
        assert len(unb64url(j["keys"]["p256dh"])) == 65 and len(unb64url(j["keys"]["auth"])) == 16
        assert "=" not in j["keys"]["p256dh"] + j["keys"]["auth"]
    finally:
        service.stop()


def _post(service: WebPushService, path: str, body: bytes, headers: dict[str, str]) -> int:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=DEFAULT_TIMEOUT)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_the_fake_push_service_accepts_http_ece_with_a_hand_signed_jwt_and_flags_forgeries():
    """Self-test: a body from http_ece.encrypt and a JWT signed here (not py_vapid) are accepted;
    a JWT signed by another key, for another audience, expiring too late or already expired,
    and a body encrypted for other keys are each flagged (401/400)."""
    service = WebPushService(strict=False)
    try:
        sub = service.subscription()
        other = service.subscription()
        vapid = ec.generate_private_key(ec.SECP256R1())
        k = b64url(public_point(vapid))
        now = int(time.time())
        good = {"aud": service.origin, "exp": now + 12 * 3600, "sub": "mailto:e2e@example.com"}

        def send(claims: dict, signer=vapid, target=sub, plaintext: bytes = b'{"ok":true}',
                 auth_format: str = "vapid t={t}, k={k}") -> Received:
            before = target.count()
            status = _post(service, target.path, encrypt_for(sub.to_json(), plaintext), {
                "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream", "TTL": "60",
                "Authorization": auth_format.format(t=sign_vapid(signer, claims), k=k)})
            [got] = target.wait(before + 1)[before:]
            assert got.status == status
            return got

        ok = send(good)
        assert ok.status == 201 and ok.event == {"ok": True} and not ok.problems
        assert send(good, auth_format="vapid k={k},t={t}").status == 201  # any order and spacing
        assert "signature" in " ".join(send(good, signer=ec.generate_private_key(ec.SECP256R1())).problems)
        assert send({**good, "aud": "https://fcm.googleapis.com"}).status == 401
        assert send({**good, "exp": now + 25 * 3600}).status == 401
        assert send({**good, "exp": now - 3600}).status == 401
        assert send({k_: v for k_, v in good.items() if k_ != "sub"}).status == 401
        wrong_keys = send(good, target=other)  # encrypted for `sub`'s keys, posted to `other`
        assert wrong_keys.status == 400 and any("decrypt" in p for p in wrong_keys.problems)
    finally:
        service.stop()


# -- REST: VAPID key, subscriptions, Expo tokens, the switch ---------------------------------

def test_the_vapid_public_key_is_a_65_byte_p256_point_and_stays_the_same(push_stack):
    """GET /push/vapid gives {"publicKey"}: base64url (no padding) of an uncompressed P-256 point,
    the same on every call (browsers bind their subscriptions to it)."""
    r = push_stack.get("/push/vapid")
    assert r.status == 200, r
    assert r.headers["content-type"].split(";")[0] == "application/json"
    key = r.json["publicKey"]
    assert "=" not in key and "+" not in key and "/" not in key
    raw = unb64url(key)
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # on the curve
    assert push_stack.get("/push/vapid").json == {"publicKey": key}


def test_subscriptions_are_stored_replaced_by_endpoint_deleted_and_reached_by_push_test(push_stack, fakes, subscribe):
    """POST /push/subscriptions → 201 {"endpoint"}; re-posting an endpoint with new keys replaces
    it (the next push decrypts with the new keys, and arrives once); DELETE with {"endpoint"} →
    204, also for an unknown endpoint; POST /push/test → 200 {"sent":N} with trigger "test"."""
    sub = subscribe(push_stack)
    sub.rotate_keys()
    again = push_stack.post("/push/subscriptions", sub.to_json())
    assert again.status == 201 and again.json == {"endpoint": sub.endpoint}
    gone = fakes.webpush.subscription()
    assert push_stack.post("/push/subscriptions", gone.to_json()).status == 201
    r = push_stack.request("DELETE", "/push/subscriptions", {"endpoint": gone.endpoint})
    assert r.status == 204, r
    r = push_stack.request("DELETE", "/push/subscriptions", {"endpoint": gone.endpoint})
    assert r.status == 204, r

    r = push_stack.post("/push/test")
    assert r.status == 200, r
    assert isinstance(r.json["sent"], int) and r.json["sent"] >= 1
    [test] = sub.wait(1, event_is(trigger="test"))
    assert test.event["title"] == "amarre" and test.event["body"] == "Notifications work."
    sub.expect_count(1, event_is(trigger="test"), within=QUIET)  # replaced, not added twice
    gone.expect_count(0, within=0)


@pytest.mark.parametrize("body", [
    {"keys": {"p256dh": "BA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},                          # no endpoint
    {"endpoint": 7, "keys": {"p256dh": "BA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
    {"endpoint": "http://127.0.0.1:9/x"},                                                  # no keys
    {"endpoint": "http://127.0.0.1:9/x", "keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}},      # no p256dh
    {"endpoint": "http://127.0.0.1:9/x", "keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},  # 3 bytes
    {"endpoint": "http://127.0.0.1:9/x", "keys": {"p256dh": "GOOD", "auth": "AAAA"}},      # auth of 3 bytes
    [],
    "not json",
], ids=["no-endpoint", "endpoint-not-string", "no-keys", "no-p256dh", "short-p256dh", "short-auth", "array", "not-json"])
def test_a_malformed_subscription_gets_400(push_stack, fakes, body):
    """A subscription without a usable endpoint or keys (p256dh a 65-byte point, auth 16 bytes)
    gets 400 {"error":"bad_request","detail"}."""
    if isinstance(body, dict) and body.get("keys", {}).get("p256dh") == "GOOD":
        body = {**body, "keys": {**body["keys"], "p256dh": fakes.webpush.subscription().to_json()["keys"]["p256dh"]}}
    if body == "not json":
        r = push_stack.request("POST", "/push/subscriptions", raw=b"{nope", headers={"Content-Type": "application/json"})
    else:
        r = push_stack.post("/push/subscriptions", body)
    assert r.status == 400, r
    assert r.json["error"] == "bad_request" and r.json.get("detail")


@pytest.mark.parametrize("endpoint,accepted", [
    ("https://push.example.net/wp/e2e", True),
    ("http://127.0.0.1:9/wp/e2e", True),
    ("http://127.8.9.10:9/wp/e2e", True),
    ("http://localhost:9/wp/e2e", True),
    ("http://[::1]:9/wp/e2e", True),
    ("http://push.example.net/wp/e2e", False),
    ("http://10.0.0.1/wp/e2e", False),
    ("http://192.168.1.2:8080/wp/e2e", False),
    ("http://[::2]/wp/e2e", False),
    ("http://localhost.example.net/wp/e2e", False),
    ("http://127.0.0.1.example.net/wp/e2e", False),
    ("ftp://127.0.0.1/wp/e2e", False),
    ("file:///tmp/wp", False),
    ("127.0.0.1/wp/e2e", False),
    ("", False),
])
def test_endpoints_must_be_https_or_http_on_a_loopback_address(push_stack, fakes, endpoint, accepted):
    """https anywhere, or http on 127.0.0.0/8, [::1] or localhost: 201; anything else (plain http
    elsewhere, look-alike host names, other schemes): 400 bad_request."""
    body = {**fakes.webpush.subscription().to_json(), "endpoint": endpoint}
    r = push_stack.post("/push/subscriptions", body)
    try:
        if accepted:
            assert r.status == 201, r
        else:
            assert r.status == 400, r
            assert r.json["error"] == "bad_request" and r.json.get("detail")
    finally:
        if r.status == 201:
            assert push_stack.request("DELETE", "/push/subscriptions", {"endpoint": endpoint}).status == 204


def test_expo_tokens_are_validated_listed_and_deleted(push_stack):
    """GET/POST/DELETE /push/tokens as the original's §13: ExponentPushToken[…] and
    ExpoPushToken[…] are accepted (201 {"token"}; once in the list however often posted),
    anything else is 400; DELETE /push/tokens/<token> (percent-encoded or not) → 204."""
    a = expo_token()
    b = f"ExpoPushToken[e2e{uuid.uuid4().hex[:12]}]"
    for t in (a, b, a):
        r = push_stack.post("/push/tokens", {"token": t})
        assert r.status == 201, r
        assert r.json == {"token": t}
    listed = push_stack.get("/push/tokens")
    assert listed.status == 200, listed
    assert listed.json["tokens"].count(a) == 1 and listed.json["tokens"].count(b) == 1
    for bad in ({"token": "foo"}, {"token": ""}, {"token": "ExponentPushToken"}, {"token": "ExponentPushToken[abc"},
                {"token": "xExponentPushToken[abc]"}, {"token": 5}, {}, []):
        r = push_stack.post("/push/tokens", bad)
        assert r.status == 400, (bad, r)
    assert push_stack.request("POST", "/push/tokens", raw=b"{nope",
                              headers={"Content-Type": "application/json"}).status == 400
    assert push_stack.delete(f"/push/tokens/{quote(a, safe='')}").status == 204
    assert push_stack.delete(f"/push/tokens/{b}").status == 204  # brackets as typed in a shell
    remaining = push_stack.get("/push/tokens").json["tokens"]
    assert a not in remaining and b not in remaining


def test_push_off_answers_503_on_every_push_route_and_sends_nothing(stack_factory, fakes):
    """AMARRE_PUSH=0: every push route answers 503 {"error":"push_disabled"}; an unanswered
    question and a finished run with nobody looking reach no channel; answering over REST still
    works."""
    s = stack_factory(env=push_env(fakes, AMARRE_PUSH="0"), instances=INSTANCES)
    sub = fakes.webpush.subscription().to_json()
    bodies = {("POST", "/push/subscriptions"): sub, ("DELETE", "/push/subscriptions"): {"endpoint": sub["endpoint"]},
              ("POST", "/push/tokens"): {"token": expo_token()}}
    for method, path in PUSH_ROUTES:
        r = s.request(method, path, bodies.get((method, path)))
        assert r.status == 503, (method, path, r)
        assert r.json["error"] == "push_disabled", (method, path, r)
    sid = s.create("asker", name="quiet")["id"]
    c = Client(s, sid)
    try:
        c.presence(False)
        rid = new_id()
        c.prompt(ask=[confirm(rid)])
        c.until("extension_ui_request", id=rid)
        fakes.webhook.expect_count(0, of_session(sid), within=QUIET)
        r = s.post(answer_url(sid, rid), {"confirmed": True})
        assert r.status == 200 and r.json == {"id": rid, "resolved": True}, r
        c.until("agent_end")
        fakes.webhook.expect_count(0, of_session(sid), within=GRACE)
        assert fakes.ntfy.count(ntfy_about(sid)) == 0
        assert fakes.expo.messages(expo_about(sid)) == []
        assert fakes.webpush.count(of_session(sid)) == 0
    finally:
        c.close()


# -- awaiting_input ---------------------------------------------------------------------------

def test_awaiting_input_reaches_every_channel_once_after_the_grace(push_stack, fakes, main_sub, asker, register_token):
    """A question nobody looks at is notified once, AMARRE_PUSH_GRACE_MS after it was asked: the
    webhook gets the event JSON; the Web Push payload decrypts to the same JSON, with TTL 86400,
    Urgency high and a VAPID JWT for the push service's origin signed with GET /push/vapid's key;
    ntfy gets the body with Title/Click/Priority/Tags and the bearer token; Expo gets the §13
    message (data.amarre "1"); the session's clients get amarre.push_sent, also stored."""
    token = register_token(push_stack)
    vapid = push_stack.get("/push/vapid").json["publicKey"]
    sid = asker(name="build box")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(False)
        rid = new_id()
        c.prompt(ask=[confirm(rid, "Run bash?", "ls -la /tmp")])
        c.until("extension_ui_request", id=rid)
        asked = time.monotonic()
        url = f"{PUBLIC_URL}#/s/{sid}"
        expected = {"trigger": "awaiting_input", "sessionId": sid, "sessionName": "build box", "requestId": rid,
                    "title": "build box: approval needed", "body": "Run bash? ls -la /tmp", "url": url}

        [hook] = fakes.webhook.wait(1, awaiting(sid))
        assert hook.event == expected
        assert hook.method == "POST" and hook.path == PushFakes.WEBHOOK_PATH
        assert hook.headers["content-type"].split(";")[0] == "application/json"
        assert hook.at - asked >= 0.7 * GRACE, "sent before the grace was over"

        [push] = main_sub.wait(1, awaiting(sid))
        assert push.event == expected
        assert push.headers["ttl"] == "86400" and push.headers["urgency"] == "high"
        assert push.vapid_key == vapid
        assert push.claims["aud"] == fakes.webpush.origin
        assert push.claims["sub"].startswith(PUBLIC_URL.rstrip("/"))
        assert push.claims["exp"] > time.time() + 3600

        [note] = fakes.ntfy.wait(1, ntfy_about(sid, expected["title"]))
        assert note.method == "POST" and note.path == PushFakes.NTFY_PATH
        assert note.text == expected["body"]
        assert note.headers["title"] == expected["title"] and note.headers["click"] == url
        assert note.headers["priority"] == "high" and note.headers["tags"] == "amarre"
        assert note.headers["authorization"] == f"Bearer {PushFakes.NTFY_TOKEN}"

        mine = fakes.expo.wait_messages(1, expo_about(sid, "awaiting_input", to=token))
        [m] = mine
        assert (m["title"], m["body"], m["sound"], m["priority"]) == (expected["title"], expected["body"], "default", "high")
        assert m["data"]["amarre"] == "1"
        assert {k: m["data"].get(k) for k in ("trigger", "sessionId", "requestId", "url")} == {
            "trigger": "awaiting_input", "sessionId": sid, "requestId": rid, "url": url}
        sent_to = fakes.expo.messages(expo_about(sid, "awaiting_input"))
        sent = c.until("amarre.push_sent", requestId=rid)
        assert sent["trigger"] == "awaiting_input" and sent["tokens"] == len(sent_to)
        wait_for(lambda: any(r.get("type") == "amarre.push_sent" and r.get("requestId") == rid
                             for r in push_stack.get(f"/sessions/{sid}/events?after=0&limit=1000").json),
                 what="amarre.push_sent in the stored history")

        # Once: no repeat while the question stays open.
        fakes.webhook.expect_count(1, awaiting(sid), within=QUIET)
        main_sub.expect_count(1, awaiting(sid), within=0)
        fakes.ntfy.expect_count(1, ntfy_about(sid, expected["title"]), within=0)
        fakes.expo.expect_messages(len(sent_to), expo_about(sid, "awaiting_input"), within=0)
    finally:
        c.close()


def test_the_body_is_the_first_line_of_the_title_and_at_most_100_characters_of_the_rest(push_stack, fakes, asker):
    """One notification per question: the body is the title's first line, a space, and at most
    100 characters of the rest of the title or the message, whitespace collapsed."""
    sid = asker(name="bodies")["id"]
    r1, r2, r3 = new_id(), new_id(), new_id()
    long_message = "echo " + "\n  ".join(f"word{i:03d}" for i in range(60))
    c = Client(push_stack, sid)
    try:
        c.presence(False)
        c.prompt(ask=[select(r1, "Run bash?\nrm -rf   build\n\t&& make"),
                      confirm(r2, "Allow bash?", long_message),
                      {"id": r3, "method": "input", "title": "Commit message", "placeholder": "feat: ..."}])
        c.until("extension_ui_request", id=r3)
        events = {r.event["requestId"]: r.event for r in fakes.webhook.wait(3, awaiting(sid))}
        assert set(events) == {r1, r2, r3}
        assert all(e["title"] == "bodies: approval needed" for e in events.values())
        assert events[r1]["body"] == "Run bash? rm -rf build && make"
        body = events[r2]["body"]
        assert body.startswith("Allow bash? ")
        summary = body[len("Allow bash? "):].rstrip("…").rstrip()
        assert 50 <= len(summary) <= 100, body
        assert collapse(long_message).startswith(summary), body
        assert events[r3]["body"].rstrip() == "Commit message"
    finally:
        c.close()


def test_a_demo_agent_approval_is_notified_and_answered_over_rest(push_stack, fakes, clients):
    """The demo agent's permission gate ("please run ls" → confirm "Run bash?") is notified;
    POST /sessions/<id>/requests/<requestId> {"confirmed":true} lets the tool run to agent_end,
    and the finished run (nobody looking) is notified as done."""
    sid = push_stack.create("demo", name="demo box")["id"]
    try:
        c = clients(Client(push_stack, sid))
        c.presence(False)
        c.prompt("please run ls")
        request = c.until("extension_ui_request", method="confirm")
        [hook] = fakes.webhook.wait(1, awaiting(sid, request["id"]))
        assert hook.event["title"] == "demo box: approval needed"
        assert hook.event["body"].startswith("Run bash? ") and "ls" in hook.event["body"]
        r = push_stack.post(answer_url(sid, request["id"]), {"confirmed": True})
        assert r.status == 200 and r.json == {"id": request["id"], "resolved": True}, r
        resolved = c.until("amarre.request_resolved", id=request["id"])
        assert resolved["response"]["confirmed"] is True
        c.until("agent_end", timeout=20)
        [done] = fakes.webhook.wait(1, trigger(sid, "done"))
        assert done.event["title"] == "demo box: done"
    finally:
        push_stack.delete(f"/sessions/{sid}")


def test_a_visible_client_holds_the_notification_until_it_says_hidden(push_stack, fakes, main_sub, asker):
    """While one client of the session last said {"type":"amarre.presence","visible":true},
    nothing is sent (another hidden client does not matter); when it says visible:false the
    open question is notified, once."""
    sid = asker(name="watched")["id"]
    a, b = Client(push_stack, sid), Client(push_stack, sid)
    try:
        a.presence(True)
        b.presence(False)
        rid = new_id()
        a.prompt(ask=[confirm(rid)])
        a.until("extension_ui_request", id=rid)
        b.until("extension_ui_request", id=rid)
        fakes.webhook.expect_count(0, of_session(sid), within=QUIET)
        assert main_sub.count(of_session(sid)) == 0
        a.presence(False)
        fakes.webhook.wait(1, awaiting(sid, rid))
        main_sub.wait(1, awaiting(sid, rid))
        # Answer; the run's end (nobody looking) is a later event that bounds "once".
        assert push_stack.post(answer_url(sid, rid), {"confirmed": True}).status == 200
        fakes.webhook.wait(1, trigger(sid, "done"))
        fakes.webhook.expect_count(1, awaiting(sid), within=GRACE)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("how", ["websocket", "rest"])
def test_an_answer_within_the_grace_cancels_the_notification(push_stack, fakes, main_sub, asker, how):
    """A question answered before the grace is over (over the WebSocket, or over POST
    /sessions/<id>/requests/<requestId>) is never notified; the run's end is (nobody looking)."""
    sid = asker(name=f"answered {how}")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(False)
        rid = new_id()
        c.prompt(ask=[confirm(rid)])
        c.until("extension_ui_request", id=rid)
        if how == "websocket":
            c.answer(rid, confirmed=True)
        else:
            assert push_stack.post(answer_url(sid, rid), {"confirmed": True}).status == 200
        c.until("agent_end")
        fakes.webhook.wait(1, trigger(sid, "done"))
        fakes.webhook.expect_count(0, awaiting(sid), within=QUIET)
        assert main_sub.count(awaiting(sid)) == 0
        assert fakes.ntfy.count(ntfy_about(sid, f"answered {how}: approval needed")) == 0
    finally:
        c.close()


def test_withdrawn_questions_and_notify_requests_are_never_notified(push_stack, fakes, asker):
    """A question still open when its run ends is withdrawn, not notified; a fire-and-forget
    `notify` request arms nothing (a defect of the original)."""
    sid = asker(name="withdrawn")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(False)
        rid = new_id()
        c.prompt(ask=[confirm(rid)])
        c.until("extension_ui_request", id=rid)
        c.send({"type": "e2e.end_run"})
        c.until("amarre.request_withdrawn", id=rid)
        c.until("agent_end")
        c.prompt(ask=[{"id": new_id("n"), "method": "notify", "message": "FYI"}])
        c.until("agent_end")
        fakes.webhook.wait(2, trigger(sid, "done"))
        fakes.webhook.expect_count(0, awaiting(sid), within=QUIET)
    finally:
        c.close()


def test_a_quiet_client_without_presence_is_not_looking(push_stack, fakes, asker):
    """A client that never sent presence and has sent nothing for the grace does not count as
    looking: its open question is notified, and so is the run's end after a REST answer."""
    sid = asker(name="quiet")["id"]
    c = Client(push_stack, sid)
    try:
        rid = new_id()
        c.prompt(ask=[confirm(rid)])
        c.until("extension_ui_request", id=rid)
        fakes.webhook.wait(1, awaiting(sid, rid))
        assert push_stack.post(answer_url(sid, rid), {"confirmed": True}).status == 200
        c.until("agent_end")
        fakes.webhook.wait(1, trigger(sid, "done"))
    finally:
        c.close()


def test_a_client_without_presence_counts_as_looking_within_the_grace_after_its_last_message(stack_factory, fakes):
    """A client that never sent presence but keeps sending messages (each within the grace of the
    previous one) counts as looking: nothing is notified, for the question nor for the run's end
    right after its own answer. (A stack with a 1 s grace, so the pacing has a wide margin.)"""
    grace = 1.0
    s = stack_factory(env=push_env(fakes, AMARRE_PUSH_GRACE_MS="1000"), instances=INSTANCES)
    sid = s.create("asker", name="chatty")["id"]
    c = Client(s, sid)
    rid = new_id()
    c.prompt(ask=[confirm(rid)])
    c.until("extension_ui_request", id=rid)
    until = time.monotonic() + 3 * grace
    while time.monotonic() < until:
        c.send({"type": "e2e.ping"})
        fakes.webhook.expect_count(0, of_session(sid), within=0.15)  # the pace of the messages
    c.answer(rid, confirmed=True)
    c.until("agent_end")
    c.close()
    s.wait_clients(sid, 0)
    # A later event on the same session bounds the wait for what must not have come.
    d = Client(s, sid)
    d.presence(False)
    d.prompt()
    d.until("agent_end")
    d.close()
    fakes.webhook.wait(1, trigger(sid, "done"))
    fakes.webhook.expect_count(1, of_session(sid), within=grace / 2)


# -- done and crashed -------------------------------------------------------------------------

def test_done_is_sent_when_a_run_ends_with_nobody_looking_and_not_while_someone_is(push_stack, fakes, main_sub, asker,
                                                                                    register_token):
    """A run that ends while a client is visible sends nothing; the next one, ended while hidden,
    sends one `done` (Urgency normal, ntfy Priority default, Expo priority default)."""
    token = register_token(push_stack)
    sid = asker(name="runner")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(True)
        c.prompt()
        c.until("agent_end")
        c.presence(False)
        c.prompt()
        c.until("agent_end")
        [done] = fakes.webhook.wait(1, trigger(sid, "done"))
        assert done.event == {"trigger": "done", "sessionId": sid, "sessionName": "runner", "title": "runner: done",
                              "body": "The agent finished its run.", "url": f"{PUBLIC_URL}#/s/{sid}"}
        [push] = main_sub.wait(1, trigger(sid, "done"))
        assert push.event == done.event and push.headers["urgency"] == "normal"
        [note] = fakes.ntfy.wait(1, ntfy_about(sid, "runner: done"))
        assert note.headers["priority"] == "default" and note.text == "The agent finished its run."
        [m] = fakes.expo.wait_messages(1, expo_about(sid, "done", to=token))
        assert m["priority"] == "default" and m["data"]["amarre"] == "1" and "requestId" not in m["data"]
        fakes.webhook.expect_count(1, trigger(sid, "done"), within=GRACE)
    finally:
        c.close()


@pytest.mark.parametrize("death,body", [({"exit": 3}, "The agent exited (code 3)"),
                                        ({"signal": "SIGKILL"}, "The agent exited (signal SIGKILL)")],
                         ids=["code", "signal"])
def test_crashed_is_sent_once_when_the_agent_dies_during_a_run(push_stack, fakes, main_sub, asker, death, body):
    """An agent that exits in the middle of a run, nobody looking: one `crashed` with the exit
    code or signal in the body, Urgency high, ntfy Priority high."""
    sid = asker(name="fragile")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(False)
        c.prompt(**death)
        c.until("amarre.session_event", event="crashed")
        [crash] = fakes.webhook.wait(1, trigger(sid, "crashed"))
        assert crash.event == {"trigger": "crashed", "sessionId": sid, "sessionName": "fragile",
                               "title": "fragile: crashed", "body": body, "url": f"{PUBLIC_URL}#/s/{sid}"}
        [push] = main_sub.wait(1, trigger(sid, "crashed"))
        assert push.event == crash.event and push.headers["urgency"] == "high"
        [note] = fakes.ntfy.wait(1, ntfy_about(sid, "fragile: crashed"))
        assert note.headers["priority"] == "high"
        fakes.webhook.expect_count(1, of_session(sid), within=GRACE)
    finally:
        c.close()


def test_a_crash_under_a_visible_client_and_a_deleted_session_send_nothing(push_stack, fakes, asker):
    """A crash while a client is visible is not notified; deleting a session with an open
    question (and a hidden client) is neither a crash nor a question to notify."""
    watched, deleted, later = asker(name="watched crash")["id"], asker(name="deleted")["id"], asker(name="later")["id"]
    a = Client(push_stack, watched)
    a.presence(True)
    a.prompt(exit=3)
    a.until("amarre.session_event", event="crashed")
    a.close()
    b = Client(push_stack, deleted)
    b.presence(False)
    rid = new_id()
    b.prompt(ask=[confirm(rid)])
    b.until("extension_ui_request", id=rid)
    assert push_stack.delete(f"/sessions/{deleted}").status == 204
    b.close()
    c = Client(push_stack, later)
    c.presence(False)
    c.prompt(exit=4)
    c.until("amarre.session_event", event="crashed")
    c.close()
    fakes.webhook.wait(1, trigger(later, "crashed"))
    fakes.webhook.expect_count(0, lambda r: isinstance(r.event, dict) and r.event.get("sessionId") in (watched, deleted),
                               within=QUIET)


# -- answering over REST ---------------------------------------------------------------------

def test_an_answer_over_rest_resolves_the_request_for_every_client_and_reaches_the_agent(push_stack, asker):
    """POST /sessions/<id>/requests/<requestId> with {"confirmed"}, {"value"} or {"cancelled"}
    → 200 {"id","resolved":true}; every client gets amarre.request_resolved with that answer; the
    agent gets the extension_ui_response; pendingRequests empties."""
    sid = asker(name="rest answers")["id"]
    a, b = Client(push_stack, sid), Client(push_stack, sid)
    try:
        a.presence(True)
        b.presence(True)
        r1, r2, r3 = new_id(), new_id(), new_id()
        a.prompt(ask=[confirm(r1), select(r2, "Pick a branch", ("main", "develop")),
                      {"id": r3, "method": "input", "title": "Commit message"}])
        for c in (a, b):
            c.until("extension_ui_request", id=r3)
        assert sorted(push_stack.summary(sid)["pendingRequests"]) == sorted([r1, r2, r3])
        for rid, answer in ((r1, {"confirmed": True}), (r2, {"value": "develop"}), (r3, {"cancelled": True})):
            r = push_stack.post(answer_url(sid, rid), answer)
            assert r.status == 200, (rid, r)
            assert r.json == {"id": rid, "resolved": True}
            for c in (a, b):
                resolved = c.until("amarre.request_resolved", id=rid)
                assert {k: resolved["response"].get(k) for k in answer} == answer
            got = a.agent_got("extension_ui_response", id=rid)
            assert {k: got.get(k) for k in answer} == answer
        a.until("agent_end")
        assert push_stack.summary(sid)["pendingRequests"] == []
    finally:
        a.close()
        b.close()


def test_only_the_first_answer_counts_and_unknown_requests_get_404(push_stack, asker):
    """Bad bodies get 400 and do not use up the request; the first answer wins (REST or
    WebSocket), a later one gets 409 {"error":"already_answered"} over REST or amarre.error over
    the WebSocket and never reaches the agent; unknown sessions and request ids (also another
    session's) get 404."""
    sid, other = asker(name="first wins")["id"], asker(name="other")["id"]
    c = Client(push_stack, sid)
    try:
        c.presence(True)
        r1, r2 = new_id(), new_id()
        c.prompt(ask=[confirm(r1), confirm(r2)])
        c.until("extension_ui_request", id=r2)
        for bad in ({}, {"confirmed": "yes"}, {"value": 5}, []):
            r = push_stack.post(answer_url(sid, r1), bad)
            assert r.status == 400, (bad, r)
            assert r.json["error"] == "bad_request"
        assert push_stack.request("POST", answer_url(sid, r1), raw=b"{nope",
                                  headers={"Content-Type": "application/json"}).status == 400
        assert push_stack.post(answer_url(sid, r1), {"confirmed": False}).status == 200
        again = push_stack.post(answer_url(sid, r1), {"confirmed": True})
        assert again.status == 409 and again.json["error"] == "already_answered", again
        c.answer(r1, confirmed=True)
        late = c.until("amarre.error", id=r1)
        assert late["error"] == "already_answered"
        c.answer(r2, confirmed=True)
        c.until("amarre.request_resolved", id=r2)
        assert push_stack.post(answer_url(sid, r2), {"confirmed": False}).status == 409
        for path in (answer_url(sid, "never-asked"), answer_url("0123456789ab", r1), answer_url(other, r2)):
            r = push_stack.post(path, {"confirmed": True})
            assert r.status == 404 and r.json["error"] == "not_found", (path, r)
        c.until("agent_end")
        c.send({"type": "e2e.marker"})
        c.agent_got("e2e.marker")
        answers = [r["record"] for r in c.seen if r.get("type") == "e2e.got"
                   and r["record"].get("type") == "extension_ui_response"]
        assert [(x["id"], x.get("confirmed")) for x in answers] == [(r1, False), (r2, True)]
    finally:
        c.close()


# -- delivery: gone subscriptions, retries, Expo tokens ---------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_calls_gone_is_removed(push_stack, fakes, main_sub, asker, subscribe, status):
    """404/410 from the push service removes the subscription at once (no retry): the next event
    reaches the other subscriptions and not it. Each push has its own salt and sender key."""
    gone = subscribe(push_stack)
    gone.respond(status)
    first, second = asker(name="first")["id"], asker(name="second")["id"]
    run_once(push_stack, first)
    gone.wait(1, trigger(first, "done"))
    [p1] = main_sub.wait(1, trigger(first, "done"))
    # The host has taken the service's answer in once the subscription left its registry.
    wait_for(lambda: gone.endpoint not in (push_stack.dir / "push.json").read_text(), what="the gone subscription removed")
    run_once(push_stack, second)
    [p2] = main_sub.wait(1, trigger(second, "done"))
    gone.expect_count(1, within=QUIET)
    assert p1.salt != p2.salt and p1.sender_key != p2.sender_key


@pytest.mark.parametrize("status,headers", [(500, {}), (503, {}), (429, {"Retry-After": "1"})], ids=["500", "503", "429"])
def test_a_busy_or_failing_push_service_is_retried_with_backoff(push_stack, fakes, asker, subscribe, status, headers):
    """429 and 5xx are retried after a backoff (about a second for the first retry) and the
    subscription is kept: the retry carries the same event, and the next event reaches it."""
    flaky = subscribe(push_stack)
    flaky.respond(status, times=1, headers=headers)
    first, second = asker(name="retried")["id"], asker(name="after")["id"]
    run_once(push_stack, first)
    tries = flaky.wait(2, trigger(first, "done"))
    assert [t.status for t in tries] == [status, 201]
    assert tries[0].event == tries[1].event
    assert tries[1].at - tries[0].at >= 0.8, "retried without a backoff"
    run_once(push_stack, second)
    flaky.wait(1, trigger(second, "done"))
    flaky.expect_count(2, trigger(first, "done"), within=0)


def test_retries_stop_after_three(push_stack, fakes, asker, subscribe):
    """A push service that keeps failing gets the first attempt and three retries, spaced by a
    growing backoff (1 s, 2 s, 4 s); the subscription is kept for later events."""
    broken = subscribe(push_stack)
    broken.respond(500)
    first, second = asker(name="doomed")["id"], asker(name="recovered")["id"]
    run_once(push_stack, first)
    tries = broken.wait(4, trigger(first, "done"), timeout=30)
    gaps = [b.at - a.at for a, b in zip(tries, tries[1:])]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0 and gaps[2] >= 2.0, gaps
    broken.respond(201)
    run_once(push_stack, second)
    broken.wait(1, trigger(second, "done"))
    broken.expect_count(4, trigger(first, "done"), within=GRACE)


def test_expo_device_not_registered_removes_the_token(push_stack, fakes, asker, register_token):
    """A DeviceNotRegistered ticket removes that token (GET /push/tokens no longer lists it, the
    next event does not go to it); the other token stays."""
    kept, gone = register_token(push_stack), register_token(push_stack)
    fakes.expo.not_registered.add(gone)
    first, second = asker(name="expo one")["id"], asker(name="expo two")["id"]
    run_once(push_stack, first)
    fakes.expo.wait_messages(1, expo_about(first, "done", to=gone))
    fakes.expo.wait_messages(1, expo_about(first, "done", to=kept))
    wait_for(lambda: gone not in push_stack.get("/push/tokens").json["tokens"], what="the gone token to be removed")
    assert kept in push_stack.get("/push/tokens").json["tokens"]
    run_once(push_stack, second)
    fakes.expo.wait_messages(1, expo_about(second, "done", to=kept))
    fakes.expo.expect_messages(0, expo_about(second, to=gone), within=GRACE)


# -- restarts ----------------------------------------------------------------------------------

def test_subscriptions_tokens_and_the_vapid_key_survive_restarts_in_private_files(stack_factory, fakes, subscribe,
                                                                                   register_token):
    """vapid.json and push.json are 0600 in the state directory; after a SIGKILLed host comes back,
    and after the whole stack restarts, the key is the same, the token is listed, and a new
    event reaches the subscription (signed with the same key) and the token."""
    s = stack_factory(env=push_env(fakes), instances=INSTANCES)
    key = s.get("/push/vapid").json["publicKey"]
    sub = subscribe(s)
    token = register_token(s)
    for name in ("vapid.json", "push.json"):
        path = s.dir / name
        assert path.exists(), f"{name} not in the state directory"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
    for restart in ("host", "stack"):
        if restart == "host":
            s.kill_host()
            s.restart_host()
        else:
            s.restart()
        assert s.get("/push/vapid").json == {"publicKey": key}, restart
        assert token in s.get("/push/tokens").json["tokens"], restart
        sid = s.create("asker", name=f"after {restart}")["id"]
        run_once(s, sid)
        [push] = sub.wait(1, trigger(sid, "done"))
        assert push.vapid_key == key
        fakes.expo.wait_messages(1, expo_about(sid, "done", to=token))


def test_approvals_across_a_host_restart_are_never_notified_twice_nor_stale(stack_factory, fakes, subscribe):
    """A host SIGKILLed with an approval open takes the agent with it (until agents outlive the
    host, issue 12): the restored session has no open question, so nothing about the dead one is
    sent after the restart, and one notified before is not notified again. Notifications work on
    after the restart: a new approval is notified once."""
    s = stack_factory(env=push_env(fakes), instances=INSTANCES)
    sub = subscribe(s)
    notified, held = s.create("asker", name="notified")["id"], s.create("asker", name="held")["id"]
    qa, qb = new_id(), new_id()
    a = Client(s, notified)
    a.presence(False)
    a.prompt(ask=[confirm(qa)])
    fakes.webhook.wait(1, awaiting(notified, qa))
    b = Client(s, held)
    b.presence(True)
    b.prompt(ask=[confirm(qb)])
    b.until("extension_ui_request", id=qb)
    fakes.webhook.expect_count(0, of_session(held), within=QUIET)
    wait_stored(s, held, "extension_ui_request", id=qb)
    wait_stored(s, notified, "extension_ui_request", id=qa)

    s.kill_host()
    a.close()
    b.close()
    s.restart_host()

    assert s.summary(held)["pendingRequests"] == []
    qc = new_id()
    c = Client(s, held)
    c.presence(False)
    c.prompt(ask=[confirm(qc)])
    [hook] = fakes.webhook.wait(1, awaiting(held, qc), timeout=20)
    assert hook.event["title"] == "held: approval needed"
    sub.wait(1, awaiting(held, qc))
    c.close()
    fakes.webhook.expect_count(0, awaiting(held, qb), within=QUIET)
    assert fakes.webhook.count(awaiting(notified)) == 1


def test_a_session_that_cannot_be_restored_is_notified_as_crashed(stack_factory, fakes):
    """A running session whose agent cannot be spawned again when the host comes back
    (restore_failed) is notified with trigger "crashed"."""
    s = stack_factory(env=push_env(fakes), instances=INSTANCES)
    sid = s.create("asker", name="unrestorable")["id"]
    run_once(s, sid)
    wait_stored(s, sid, "agent_end")
    s.kill_host()
    s.instances = [dict(i, command=["/nonexistent/amarre-e2e-agent"]) if i["id"] == "asker" else i
                   for i in INSTANCES]
    s.restart_host()
    [crash] = fakes.webhook.wait(1, trigger(sid, "crashed"), timeout=20)
    assert crash.event["title"] == "unrestorable: crashed"
    fakes.webhook.expect_count(1, trigger(sid, "crashed"), within=QUIET)


# -- access control ----------------------------------------------------------------------------

def test_subscriptions_belong_to_their_device_and_go_with_it(stack_factory, fakes, subscribe):
    """AMARRE_AUTH=token: push routes and REST answers need credentials; POST /push/test reaches
    only the caller's subscriptions; events reach every device's; revoking a device removes its
    subscriptions."""
    s = stack_factory(env={**push_env(fakes), "AMARRE_AUTH": "token"}, instances=INSTANCES)
    t1, t2 = s.make_token("phone one"), s.make_token("phone two")
    for method, path in PUSH_ROUTES + [("POST", "/sessions/0123456789ab/requests/q")]:
        r = s.request(method, path)
        assert r.status == 401, (method, path, r)
    s1, s2 = subscribe(s, bearer(t1)), subscribe(s, bearer(t2))
    test = event_is(trigger="test")

    r = s.post("/push/test", headers=bearer(t1))
    assert r.status == 200 and r.json == {"sent": 1}, r
    s1.wait(1, test)
    s2.expect_count(0, test, within=QUIET)
    r = s.post("/push/test", headers=bearer(t2))
    assert r.status == 200 and r.json == {"sent": 1}, r
    s2.wait(1, test)
    s1.expect_count(1, test, within=0)

    r = s.post("/sessions", {"instanceId": "asker", "name": "owned"}, headers=bearer(t1))
    assert r.status == 201, r
    before = r.json["id"]
    run_once(s, before, bearer(t1))
    s1.wait(1, trigger(before, "done"))
    s2.wait(1, trigger(before, "done"))

    s.cli("revoke", t2.split("_")[1])
    assert s.get("/push/tokens", headers=bearer(t2)).status == 401
    after = s.post("/sessions", {"instanceId": "asker", "name": "owned"}, headers=bearer(t1)).json["id"]
    run_once(s, after, bearer(t1))
    s1.wait(1, trigger(after, "done"))
    s2.expect_count(0, trigger(after, "done"), within=QUIET)
    assert s.post("/push/test", headers=bearer(t1)).json == {"sent": 1}


# -- presence is the host's -------------------------------------------------------------------

def test_amarre_frames_from_clients_are_never_forwarded_to_the_agent(push_stack, clients):
    """{"type":"amarre.presence"} (and any amarre.* frame) from a client is consumed by the host:
    an echo agent never sees it, and presence gets no answer."""
    sid = push_stack.create("echo")["id"]
    try:
        c = clients(Client(push_stack, sid))
        c.presence(True)
        c.presence(False)
        c.send({"type": "amarre.presence", "visible": True, "extra": 1})
        c.send({"type": "e2e.marker", "n": 1})
        assert c.until("e2e.marker")["n"] == 1
        # Nothing between the hello and the marker's echo: no echo (it would come back as
        # amarre.raw, an agent may not claim amarre.* types) and no answer.
        assert c.seen[1:-1] == [], c.seen
        mark = len(c.seen)
        c.send({"type": "amarre.anything", "x": 1})
        c.send({"type": "e2e.marker", "n": 2})
        assert c.until("e2e.marker")["n"] == 2
        between = c.seen[mark:-1]
        # An unknown amarre.* frame may get an amarre.error, but is not forwarded either.
        assert [r for r in between if r.get("type") != "amarre.error"] == [], between
    finally:
        push_stack.delete(f"/sessions/{sid}")


# -- privacy -----------------------------------------------------------------------------------

def test_detail_none_says_only_who_needs_you_and_links_default_to_the_host(stack_factory, fakes, subscribe,
                                                                           register_token):
    """AMARRE_PUSH_DETAIL=none: the body is "<session name or id> needs you" and no channel sees
    the question's text; without AMARRE_PUBLIC_URL links are http://<host>:<port>/#/s/<id> and
    the VAPID subject is mailto:amarre@localhost.localdomain."""
    s = stack_factory(env=push_env(fakes, AMARRE_PUSH_DETAIL="none"), instances=INSTANCES)
    sub = subscribe(s)
    token = register_token(s)
    secret = f"hunter2-{uuid.uuid4().hex[:8]}"
    named, unnamed = s.create("asker", name="secretive")["id"], s.create("asker")["id"]
    for sid in (named, unnamed):
        c = Client(s, sid)
        c.presence(False)
        c.prompt(ask=[confirm(new_id(), f"Run {secret}?", f"curl -H 'token: {secret}'")])
        c.until("extension_ui_request")
        c.close()
    for sid, who in ((named, "secretive"), (unnamed, unnamed)):
        [hook] = fakes.webhook.wait(1, awaiting(sid))
        assert hook.event["body"] == f"{who} needs you"
        assert hook.event["title"] == f"{who}: approval needed"
        assert hook.event["url"] == f"{s.origin}/#/s/{sid}"
        [push] = sub.wait(1, awaiting(sid))
        assert push.event == hook.event and push.claims["sub"] == DEFAULT_SUBJECT
        [note] = fakes.ntfy.wait(1, ntfy_about(sid))
        [m] = fakes.expo.wait_messages(1, expo_about(sid, "awaiting_input", to=token))
        seen = [hook.text, push.plaintext.decode(), note.text, json.dumps(note.headers), json.dumps(m)]
        assert not [x for x in seen if secret in x], seen
