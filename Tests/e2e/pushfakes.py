"""Fake push services for the notification tests (issue 10), each a small HTTP server on a free
127.0.0.1 port, in a thread, recording every request it gets.

- `WebPushService`: a Web Push endpoint (RFC 8030) for subscriptions it makes itself (a P-256
  key pair and a 16-byte auth secret each). Every POST is checked as a browser's push service
  would: the headers of the contract, the VAPID JWT (RFC 8292: ES256 signature with the `k`
  key, `aud` = the endpoint's origin, `exp` in the future and at most 24 h ahead, `sub`), and
  the aes128gcm body (RFC 8291) is *decrypted* with the subscription's private key and auth
  secret by an independent implementation (PyPI's `http_ece`). What was wrong is kept in
  `Received.problems`; a strict service (the default) fails the next `wait`/`expect_count`.
  A subscription answers 201 unless told otherwise (`respond(410)`, `respond(500, times=1)`).
- `ExpoService`: Expo's push API: records the JSON array of messages and answers
  `{"data":[...]}` in the same order, `DeviceNotRegistered` for the tokens in `not_registered`.
- `HookService`: ntfy or a webhook: records method, path, headers and body, answers 200.

Waiting is on a `threading.Condition` with a deadline (`wait`), and "nothing was sent" is a
bounded wait for a request that must not come (`expect_count`), never a blind sleep.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

DEFAULT_TIMEOUT = 10.0
MAX_VAPID_LIFETIME = 24 * 3600  # RFC 8292 §2: exp no more than 24 hours from the request
CLOCK_SKEW = 60  # seconds of leeway on exp


# -- base64url -------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    """base64url without padding, as browsers and the VAPID spec write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed P-256 point of a key."""
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# -- what a fake received --------------------------------------------------------------------

@dataclass
class Received:
    """One request as a fake saw it. `headers` has lower-case names."""
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived
    status: int = 0  # what the fake answered
    problems: list[str] = field(default_factory=list)
    # JSON services: the parsed body (webhook) or the decrypted payload (web push).
    event: Any = None
    # Web push only.
    subscription: "Subscription | None" = None
    claims: dict | None = None  # the VAPID JWT's payload
    vapid_key: str | None = None  # the `k` parameter (base64url)
    salt: bytes | None = None
    record_size: int | None = None
    sender_key: bytes | None = None  # the keyid of the aes128gcm header (the server's ephemeral key)
    plaintext: bytes | None = None
    # Expo only.
    messages: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        shown = self.event if self.event is not None else (self.messages or self.body[:200])
        extra = f" problems={self.problems}" if self.problems else ""
        return f"<{self.method} {self.path} -> {self.status} {shown!r}{extra}>"


Where = Callable[[Received], bool]


def event_is(**fields: Any) -> Where:
    """Matches a request whose JSON event (web push payload, webhook body) has these fields."""
    def match(r: Received) -> bool:
        return isinstance(r.event, dict) and all(r.event.get(k) == v for k, v in fields.items())
    return match


def message_is(**data: Any) -> Callable[[dict], bool]:
    """Matches an Expo message whose `data` has these fields."""
    def match(m: dict) -> bool:
        d = m.get("data") if isinstance(m, dict) else None
        return isinstance(d, dict) and all(d.get(k) == v for k, v in data.items())
    return match


# -- the HTTP server -------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a pooled client expects
    timeout = 30  # an idle kept-alive connection ends eventually

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        fake: FakeService = self.server.fake  # type: ignore[attr-defined]
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        rec = Received(self.command, self.path, headers, body, time.monotonic())
        try:
            status, resp_headers, resp_body = fake.handle(rec)
        except Exception as e:  # a bug in the fake must show, not hang the sender
            rec.problems.append(f"the fake failed: {e!r}")
            status, resp_headers, resp_body = 500, {}, b""
        rec.status = status
        try:
            self.send_response(status)
            for k, v in resp_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp_body)))
            self.end_headers()
            self.wfile.write(resp_body)
            self.wfile.flush()
        finally:
            fake._record(rec)

    do_POST = do_PUT = do_GET = do_DELETE = _serve


class FakeService:
    """An HTTP server on a free loopback port that records what it gets; `handle` answers."""

    name = "fake"

    def __init__(self, strict: bool = True):
        self.strict = strict
        self.cond = threading.Condition()
        self.received: list[Received] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"{self.name}-{self.port}", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, rec: Received) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def _record(self, rec: Received) -> None:
        with self.cond:
            self.received.append(rec)
            self.cond.notify_all()

    # -- waiting ---------------------------------------------------------------------------

    def matching(self, where: Where | None = None) -> list[Received]:
        with self.cond:
            return [r for r in self.received if where is None or where(r)]

    def count(self, where: Where | None = None) -> int:
        return len(self.matching(where))

    def check(self) -> None:
        """Fails if any request so far was malformed (strict services only)."""
        if not self.strict:
            return
        with self.cond:
            bad = [r for r in self.received if r.problems]
        if bad:
            raise AssertionError(f"{self.name} got {len(bad)} malformed request(s): "
                                 + "; ".join(f"{r.method} {r.path}: {r.problems}" for r in bad[:5]))

    def wait(self, n: int = 1, where: Where | None = None, timeout: float = DEFAULT_TIMEOUT,
             what: str = "requests") -> list[Received]:
        """Waits until at least `n` matching requests arrived; returns all that match, in order."""
        with self.cond:
            ok = self.cond.wait_for(lambda: len([r for r in self.received if where is None or where(r)]) >= n,
                                    timeout)
            got = [r for r in self.received if where is None or where(r)]
            everything = list(self.received)
        self.check()
        if not ok:
            raise AssertionError(f"{self.name}: timed out after {timeout}s waiting for {n} {what}, "
                                 f"got {len(got)}: {got[-5:]}; everything received: {everything[-10:]}")
        return got

    def expect_count(self, n: int, where: Where | None = None, within: float = 1.0,
                     what: str = "requests") -> list[Received]:
        """Asserts that exactly `n` matching requests arrive, and no more within `within` seconds:
        a bounded wait for a request that must not come."""
        with self.cond:
            more = self.cond.wait_for(lambda: len([r for r in self.received if where is None or where(r)]) > n,
                                      within)
            got = [r for r in self.received if where is None or where(r)]
        self.check()
        if more or len(got) != n:
            raise AssertionError(f"{self.name}: expected exactly {n} {what}, got {len(got)}: {got}")
        return got


# -- Web Push --------------------------------------------------------------------------------

class Subscription:
    """A browser's push subscription on the fake service: its keys, and what it answers."""

    def __init__(self, service: "WebPushService", path: str):
        self.service = service
        self.path = path
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.p256dh = public_point(self.private_key)
        self.auth = os.urandom(16)
        self.default: tuple[int, dict[str, str]] = (201, {})
        self.scripted: deque[tuple[int, dict[str, str]]] = deque()

    @property
    def endpoint(self) -> str:
        return self.service.url(self.path)

    def rotate_keys(self) -> None:
        """New keys for the same endpoint (a browser that subscribed again): from now on only
        pushes encrypted for the new keys decrypt."""
        with self.service.cond:
            self.private_key = ec.generate_private_key(ec.SECP256R1())
            self.p256dh = public_point(self.private_key)
            self.auth = os.urandom(16)

    def to_json(self) -> dict:
        """The browser's PushSubscription.toJSON()."""
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(self.p256dh), "auth": b64url(self.auth)}}

    def respond(self, status: int, times: int | None = None, headers: dict[str, str] | None = None) -> None:
        """Answer `status` to the next `times` requests (then the default again), or to every
        request from now on when `times` is None."""
        with self.service.cond:
            if times is None:
                self.default = (status, dict(headers or {}))
                self.scripted.clear()
            else:
                self.scripted.extend([(status, dict(headers or {}))] * times)

    def _next_answer(self) -> tuple[int, dict[str, str]]:
        with self.service.cond:
            return self.scripted.popleft() if self.scripted else self.default

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")

    def _mine(self, where: Where | None) -> Where:
        return lambda r: r.subscription is self and (where is None or where(r))

    def wait(self, n: int = 1, where: Where | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[Received]:
        return self.service.wait(n, self._mine(where), timeout, what=f"pushes to {self.path}")

    def expect_count(self, n: int, where: Where | None = None, within: float = 1.0) -> list[Received]:
        return self.service.expect_count(n, self._mine(where), within, what=f"pushes to {self.path}")

    def count(self, where: Where | None = None) -> int:
        return self.service.count(self._mine(where))

    def __repr__(self) -> str:
        return f"<Subscription {self.endpoint}>"


def parse_vapid_authorization(value: str) -> tuple[str | None, str | None]:
    """(`t`, `k`) of an `Authorization: vapid t=<jwt>, k=<key>` header (any order and spacing)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "vapid":
        return None, None
    params = {}
    for part in rest.split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            params[k.strip().lower()] = v.strip()
    return params.get("t"), params.get("k")


def verify_vapid(authorization: str | None, audience: str, now: float | None = None
                 ) -> tuple[dict | None, str | None, list[str]]:
    """Checks a VAPID Authorization header (RFC 8292) for a push service at `audience`.
    Returns (claims, k, problems)."""
    problems: list[str] = []
    if not authorization:
        return None, None, ["no Authorization header"]
    token, k = parse_vapid_authorization(authorization)
    if not token or not k:
        return None, k, [f"Authorization is not 'vapid t=..., k=...': {authorization[:80]!r}"]
    try:
        key_bytes = unb64url(k)
        if len(key_bytes) != 65 or key_bytes[0] != 4:
            raise ValueError(f"{len(key_bytes)} bytes")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
    except Exception as e:
        return None, k, [f"k is not a 65-byte uncompressed P-256 point: {e}"]
    parts = token.split(".")
    if len(parts) != 3:
        return None, k, ["the JWT does not have three parts"]
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except Exception as e:
        return None, k, [f"the JWT does not decode: {e}"]
    if header.get("alg") != "ES256":
        problems.append(f"JWT alg is {header.get('alg')!r}, not ES256")
    if header.get("typ") not in (None, "JWT"):
        problems.append(f"JWT typ is {header.get('typ')!r}")
    if len(signature) != 64:
        problems.append(f"the ES256 signature is {len(signature)} bytes, not 64 (r||s)")
    else:
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            problems.append("the JWT's signature does not verify with k")
    if not isinstance(claims, dict):
        return None, k, problems + ["the JWT's payload is not an object"]
    if claims.get("aud") != audience:
        problems.append(f"aud is {claims.get('aud')!r}, not {audience!r}")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        problems.append(f"exp is not an integer: {exp!r}")
    elif exp <= now - CLOCK_SKEW:
        problems.append(f"exp is in the past ({exp - now:.0f}s)")
    elif exp > now + MAX_VAPID_LIFETIME + CLOCK_SKEW:
        problems.append(f"exp is more than 24 h ahead ({exp - now:.0f}s)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        problems.append(f"sub is not a mailto: or https: URL: {sub!r}")
    return claims, k, problems


class WebPushService(FakeService):
    """A push service holding subscriptions that decrypts and verifies every push it gets."""

    name = "webpush"

    def __init__(self, strict: bool = True):
        super().__init__(strict)
        self.subscriptions: dict[str, Subscription] = {}

    def subscription(self) -> Subscription:
        """A new subscription, as a browser's PushManager.subscribe() would give."""
        sub = Subscription(self, f"/wp/{uuid.uuid4().hex}")
        with self.cond:
            self.subscriptions[sub.path] = sub
        return sub

    def events(self, where: Where | None = None) -> list[dict]:
        return [r.event for r in self.matching(where)]

    def handle(self, rec: Received) -> tuple[int, dict[str, str], bytes]:
        with self.cond:
            sub = self.subscriptions.get(urlsplit(rec.path).path)
        rec.subscription = sub
        if rec.method != "POST":
            rec.problems.append(f"method {rec.method}, not POST")
            return 405, {}, b""
        if sub is None:
            return 404, {}, b"no such subscription"
        h = rec.headers
        if h.get("content-encoding", "").lower() != "aes128gcm":
            rec.problems.append(f"Content-Encoding is {h.get('content-encoding')!r}, not aes128gcm")
        if h.get("content-type", "").split(";")[0].strip().lower() != "application/octet-stream":
            rec.problems.append(f"Content-Type is {h.get('content-type')!r}, not application/octet-stream")
        ttl = h.get("ttl", "")
        if not ttl.isdigit():
            rec.problems.append(f"TTL is {ttl!r}, not a number of seconds")
        if h.get("urgency", "normal") not in ("very-low", "low", "normal", "high"):
            rec.problems.append(f"Urgency is {h.get('urgency')!r}")
        rec.claims, rec.vapid_key, vapid_problems = verify_vapid(h.get("authorization"), self.origin)
        rec.problems += vapid_problems
        body = rec.body
        if len(body) < 21 + 65 + 17:
            rec.problems.append(f"the body is {len(body)} bytes: too short for an aes128gcm record")
        else:
            rec.salt = body[:16]
            rec.record_size = int.from_bytes(body[16:20], "big")
            idlen = body[20]
            rec.sender_key = body[21:21 + idlen]
            if idlen != 65 or rec.sender_key[0] != 4:
                rec.problems.append(f"keyid is {idlen} bytes, not the sender's 65-byte public key")
            if rec.record_size != 4096:
                rec.problems.append(f"record size {rec.record_size}, not 4096")
            if len(body) - 21 - idlen > rec.record_size:
                rec.problems.append("more than one record (RFC 8291 §4: a single record)")
            try:
                rec.plaintext = sub.decrypt(body)
            except Exception as e:
                rec.problems.append(f"does not decrypt with the subscription's keys: {e!r}")
            else:
                try:
                    rec.event = json.loads(rec.plaintext)
                except ValueError:
                    rec.problems.append(f"the plaintext is not JSON: {rec.plaintext[:100]!r}")
        if rec.problems:
            # As a push service: 401/403 for a bad VAPID header, 400 for a bad body.
            return (401 if vapid_problems else 400), {}, "; ".join(rec.problems).encode()
        status, headers = sub._next_answer()
        headers = {"Location": f"{self.origin}/message/{uuid.uuid4().hex}", **headers} if status == 201 else headers
        return status, headers, b""


# -- Expo ------------------------------------------------------------------------------------

class ExpoService(FakeService):
    """Expo's push API (POST a JSON array of messages; answers {"data":[ticket per message]})."""

    name = "expo"
    path = "/--/api/v2/push/send"

    def __init__(self, strict: bool = True):
        super().__init__(strict)
        self.not_registered: set[str] = set()

    @property
    def endpoint(self) -> str:
        return self.url(self.path)

    def handle(self, rec: Received) -> tuple[int, dict[str, str], bytes]:
        if rec.method != "POST":
            rec.problems.append(f"method {rec.method}, not POST")
            return 405, {}, b""
        if not rec.headers.get("content-type", "").lower().startswith("application/json"):
            rec.problems.append(f"Content-Type is {rec.headers.get('content-type')!r}")
        try:
            body = json.loads(rec.body)
        except ValueError:
            rec.problems.append("the body is not JSON")
            return 400, {}, b""
        if not isinstance(body, list):
            rec.problems.append("the body is not a JSON array of messages")
            body = [body]
        rec.messages = body
        with self.cond:
            gone = set(self.not_registered)
        tickets = []
        for m in body:
            to = m.get("to") if isinstance(m, dict) else None
            if not isinstance(to, str):
                rec.problems.append(f"a message without a string `to`: {m!r}")
            if to in gone:
                tickets.append({"status": "error", "message": f"\"{to}\" is not a registered push notification recipient",
                                "details": {"error": "DeviceNotRegistered"}})
            else:
                tickets.append({"status": "ok", "id": str(uuid.uuid4())})
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": tickets}).encode()

    def messages(self, where: Callable[[dict], bool] | None = None) -> list[dict]:
        return [m for r in self.matching() for m in r.messages if where is None or where(m)]

    def wait_messages(self, n: int = 1, where: Callable[[dict], bool] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        """Waits until at least `n` matching messages (over any number of requests) arrived."""
        with self.cond:
            def have() -> list[dict]:
                return [m for r in self.received for m in r.messages if where is None or where(m)]
            ok = self.cond.wait_for(lambda: len(have()) >= n, timeout)
            got = have()
        self.check()
        if not ok:
            raise AssertionError(f"expo: timed out after {timeout}s waiting for {n} messages, got {got}")
        return got

    def expect_messages(self, n: int, where: Callable[[dict], bool] | None = None, within: float = 1.0) -> list[dict]:
        with self.cond:
            def have() -> list[dict]:
                return [m for r in self.received for m in r.messages if where is None or where(m)]
            more = self.cond.wait_for(lambda: len(have()) > n, within)
            got = have()
        self.check()
        if more or len(got) != n:
            raise AssertionError(f"expo: expected exactly {n} messages, got {len(got)}: {got}")
        return got


# -- ntfy and webhooks ----------------------------------------------------------------------

class HookService(FakeService):
    """ntfy or a webhook receiver: records everything, answers 200 (a JSON body is kept in `event`)."""

    def __init__(self, name: str, strict: bool = True):
        self.name = name
        super().__init__(strict)

    def handle(self, rec: Received) -> tuple[int, dict[str, str], bytes]:
        try:
            rec.event = json.loads(rec.body) if rec.body else None
        except ValueError:
            rec.event = None
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": uuid.uuid4().hex[:12]}).encode()


# -- all of them -----------------------------------------------------------------------------

class PushFakes:
    """The four fakes a stack's notifications go to; `env()` points a stack at them."""

    NTFY_PATH = "/amarre-e2e"
    WEBHOOK_PATH = "/hooks/amarre"
    NTFY_TOKEN = "tk_e2e_ntfy_0123456789"

    def __init__(self) -> None:
        self.webpush = WebPushService()
        self.expo = ExpoService()
        self.ntfy = HookService("ntfy")
        self.webhook = HookService("webhook")

    def env(self, ntfy_token: bool = True) -> dict[str, str]:
        env = {
            "AMARRE_EXPO_PUSH_URL": self.expo.endpoint,
            "AMARRE_NTFY_URL": self.ntfy.url(self.NTFY_PATH),
            "AMARRE_WEBHOOK_URL": self.webhook.url(self.WEBHOOK_PATH),
        }
        if ntfy_token:
            env["AMARRE_NTFY_TOKEN"] = self.NTFY_TOKEN
        return env

    def stop(self) -> None:
        for f in (self.webpush, self.expo, self.ntfy, self.webhook):
            f.stop()


# -- the other side, for self-tests: what an application server sends ------------------------

def sign_vapid(private_key: ec.EllipticCurvePrivateKey, claims: dict) -> str:
    """An ES256 JWT (header.payload.r||s), signed independently of py_vapid."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    der = private_key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{header}.{payload}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def encrypt_for(subscription: dict, plaintext: bytes) -> bytes:
    """An aes128gcm body for a PushSubscription JSON, with http_ece's encrypt (RFC 8291)."""
    sender = ec.generate_private_key(ec.SECP256R1())
    return http_ece.encrypt(plaintext, salt=os.urandom(16), private_key=sender,
                            dh=unb64url(subscription["keys"]["p256dh"]),
                            auth_secret=unb64url(subscription["keys"]["auth"]), version="aes128gcm")


@pytest.fixture(scope="module")
def fakes():
    """The fake push services, one set per test module."""
    f = PushFakes()
    yield f
    f.stop()
