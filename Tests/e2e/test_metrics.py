"""`GET /metrics` (issue 15): the Prometheus text exposition of both processes, read with
prometheus_client's own parser, and every counter and gauge of the contract following a workload
this test drives (deltas against a scrape taken before it), through the real stack in token mode:
REST credentials or `AMARRE_METRICS_TOKEN` get in, nothing else does.

Series (contract, SPEC): `amarre_sessions{status}`, `amarre_clients`, `amarre_records_relayed_total`,
`amarre_record_bytes_relayed_total`, `amarre_replays_total`, `amarre_clients_dropped_slow_total`,
`amarre_spawn_failures_total`, `amarre_restarts_total`, `amarre_store_commit_seconds` and
`amarre_store_commit_records` (histograms), `amarre_push_sent_total{channel}`,
`amarre_push_failed_total{channel}`, `amarre_http_requests_total{route,method,status}`,
`amarre_relay_latency_seconds` (histogram).
"""
from __future__ import annotations

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import WSClient, agent, command_instance, stack_fixture, wait_for
from pushfakes import fakes  # noqa: F401 - the fake push services' fixture
from wsraw import TEXT, Closed

METRICS_TOKEN = "e2e-metrics-" + uuid.uuid4().hex
CLIENT_BUFFER = 1 << 20
UNKNOWN_ID = "0123456789ab"

INSTANCES = [
    command_instance("echo", agent("echo.py")),
    command_instance("exiter", agent("exiter.py")),
    command_instance("phoenix", agent("exiter.py"), restart={"policy": "on-failure", "max": 1, "windowSeconds": 600}),
    command_instance("flooder", agent("flooder.py")),
    command_instance("missing", ["/nonexistent/amarre-e2e-agent"]),
]

metrics_stack = stack_fixture(
    env={"AMARRE_AUTH": "token", "AMARRE_METRICS_TOKEN": METRICS_TOKEN, "AMARRE_MAX_SESSIONS": "20",
         "AMARRE_CLIENT_BUFFER_BYTES": str(CLIENT_BUFFER), "AMARRE_CLIENT_STALL_MS": "2000", "AMARRE_RESTART_BACKOFF_MS": "50",
         # No approval is ever notified during the test: only what it sends itself is counted.
         "AMARRE_PUSH_GRACE_MS": "600000"},
    instances=INSTANCES)

CONTRACT = {
    "amarre_sessions": "gauge",
    "amarre_clients": "gauge",
    "amarre_records_relayed": "counter",
    "amarre_record_bytes_relayed": "counter",
    "amarre_replays": "counter",
    "amarre_clients_dropped_slow": "counter",
    "amarre_spawn_failures": "counter",
    "amarre_restarts": "counter",
    "amarre_store_commit_seconds": "histogram",
    "amarre_store_commit_records": "histogram",
    "amarre_http_requests": "counter",
    "amarre_relay_latency_seconds": "histogram",
}
# Labelled by channel: a channel's series exist once something was sent on it.
PUSH_COUNTERS = {"amarre_push_sent": "counter", "amarre_push_failed": "counter"}


class Scrape:
    """One exposition, parsed: the families' types and every sample by (name, labels)."""

    def __init__(self, text: str):
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: dict[tuple[str, frozenset], float] = {}
        for family in text_string_to_metric_families(text):
            assert family.name not in self.types, f"family {family.name} twice"
            self.types[family.name] = family.type
            for s in family.samples:
                key = (s.name, frozenset(s.labels.items()))
                assert key not in self.samples, f"sample {key} twice"
                self.samples[key] = s.value

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a series not there (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for (n, labels) in self.samples if n == name]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def scrape(stack, headers: dict[str, str] | None = None) -> Scrape:
    r = stack.get("/metrics", headers=bearer(METRICS_TOKEN) if headers is None else headers)
    assert r.status == 200, r
    assert r.headers["content-type"].replace(" ", "").startswith("text/plain;version=0.0.4"), r.headers
    return Scrape(r.text)


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


@pytest.fixture(scope="module")
def token(metrics_stack) -> str:
    return metrics_stack.make_token("metrics e2e")


@pytest.fixture
def session_maker(metrics_stack, token):
    """Creates sessions with the test's token; deletes what is left of them afterwards."""
    made: list[str] = []

    def create(instance: str) -> dict:
        r = metrics_stack.post("/sessions", {"instanceId": instance}, headers=bearer(token))
        assert r.status == 201, r
        made.append(r.json["id"])
        return r.json

    yield create
    for sid in made:
        metrics_stack.delete(f"/sessions/{sid}", headers=bearer(token))


def client(stack, sid: str, token: str, since: int | None = None) -> WSClient:
    url = stack.ws_url(sid) + (f"?since={since}" if since is not None else "")
    c = WSClient(url, additional_headers=bearer(token))
    hello = c.recv_record("amarre.hello")
    assert hello["sessionId"] == sid, hello
    return c


# -- access ----------------------------------------------------------------------------------------

def test_metrics_need_rest_credentials_or_the_metrics_token(metrics_stack, token):
    r = metrics_stack.get("/metrics")
    assert (r.status, r.json) == (401, {"error": "unauthorized"}), r
    assert r.headers.get("www-authenticate") == "Bearer"
    r = metrics_stack.get("/metrics", headers=bearer(METRICS_TOKEN + "x"))
    assert r.status == 401, r
    r = metrics_stack.get("/metrics", headers=bearer("amr_0000000000000000_" + "A" * 43))
    assert r.status == 401, r
    scrape(metrics_stack)  # AMARRE_METRICS_TOKEN
    scrape(metrics_stack, bearer(token))  # a device token of the REST plane
    # The metrics token opens /metrics only.
    for path in ("/sessions", "/instances", "/auth/device"):
        r = metrics_stack.get(path, headers=bearer(METRICS_TOKEN))
        assert r.status == 401, (path, r)


def test_the_exposition_has_every_series_of_the_contract_with_its_type(metrics_stack):
    """From the first scrape on, before anything happened: a counter that is not there until its
    first event cannot be told from a broken exporter (`absent()` alerts, `rate()` over a restart)."""
    s = scrape(metrics_stack)
    missing = {name for name in CONTRACT if name not in s.types}
    assert not missing, f"series missing from a fresh stack's exposition: {sorted(missing)}\n{s.text}"
    for name, kind in CONTRACT.items():
        assert s.types[name] == kind, (name, s.types[name])
    assert sorted(l["status"] for l in s.labels_of("amarre_sessions")) == ["crashed", "running", "stopped"]
    for name, kind in PUSH_COUNTERS.items():
        if name in s.types:
            assert s.types[name] == kind, (name, s.types[name])


# -- the workload -----------------------------------------------------------------------------------

def test_records_clients_replays_and_commits_follow_what_the_test_sent(metrics_stack, token, session_maker):
    stack = metrics_stack
    before = scrape(stack)
    a = session_maker("echo")["id"]
    b = session_maker("echo")["id"]
    after_create = scrape(stack)
    assert delta(before, after_create, "amarre_sessions", status="running") == 2
    assert delta(before, after_create, "amarre_http_requests_total", route="/sessions", method="POST", status="201") == 2
    assert delta(before, after_create, "amarre_records_relayed_total") == 0, "creating publishes no record"

    c = client(stack, a, token)
    try:
        assert delta(before, scrape(stack), "amarre_clients") == 1
        n, frames = 25, []
        for i in range(n):
            c.send({"type": "e2e.metric", "i": i, "pad": "é" * i})
        for i in range(n):
            rec = c.recv_record("e2e.metric")
            assert rec["i"] == i
            frames.append(c.last_text.encode())
        # Every record of the session came through this client, so the deltas are exact.
        s = wait_for(lambda: (x := scrape(stack)).value("amarre_store_commit_records_sum")
                     - before.value("amarre_store_commit_records_sum") >= n and x, what="the records to be committed")
        assert delta(before, s, "amarre_records_relayed_total") == n
        assert delta(before, s, "amarre_record_bytes_relayed_total") == sum(len(f) for f in frames)
        assert delta(before, s, "amarre_store_commit_records_sum") == n
        commits = delta(before, s, "amarre_store_commit_records_count")
        assert 1 <= commits <= n
        assert delta(before, s, "amarre_store_commit_seconds_count") == commits
        assert delta(before, s, "amarre_store_commit_seconds_sum") > 0
        reads = delta(before, s, "amarre_relay_latency_seconds_count")
        assert 1 <= reads <= n, reads
        assert delta(before, s, "amarre_relay_latency_seconds_sum") > 0
        assert delta(before, s, "amarre_replays_total") == 0

        # A client that reconnects with `since` gets a replay.
        replayer = client(stack, a, token, since=0)
        try:
            got = replayer.recv_until("e2e.metric")
            for _ in range(n - 1):
                replayer.recv_record("e2e.metric")
            assert got[-1]["i"] == 0
            s = scrape(stack)
            assert delta(before, s, "amarre_replays_total") == 1
            assert delta(before, s, "amarre_clients") == 2
            assert delta(before, s, "amarre_records_relayed_total") == n, "a replay publishes nothing"
        finally:
            replayer.close()
        # A connection without `since` (or with the last seq) is no replay.
        client(stack, b, token).close()
        client(stack, a, token, since=n).close()
        assert delta(before, scrape(stack), "amarre_replays_total") == 1
    finally:
        c.close()
    wait_for(lambda: scrape(stack).value("amarre_clients") == before.value("amarre_clients"), what="clients gone")

    r = stack.delete(f"/sessions/{b}", headers=bearer(token))
    assert r.status == 204, r
    s = scrape(stack)
    assert delta(before, s, "amarre_sessions", status="running") == 1
    assert delta(before, s, "amarre_http_requests_total", route="/sessions/{id}", method="DELETE", status="204") == 1


def test_spawn_failures_crashes_and_restarts_are_counted(metrics_stack, token, session_maker):
    stack, auth = metrics_stack, bearer(token)
    before = scrape(stack)
    r = stack.post("/sessions", {"instanceId": "missing"}, headers=auth)
    assert (r.status, r.json["error"]) == (500, "spawn_failed"), r
    s = scrape(stack)
    assert delta(before, s, "amarre_spawn_failures_total") == 1
    assert delta(before, s, "amarre_http_requests_total", route="/sessions", method="POST", status="500") == 1
    assert delta(before, s, "amarre_sessions", status="running") == 0

    # A crash: crashed, not running.
    crasher = session_maker("exiter")["id"]
    c = client(stack, crasher, token)
    c.send({"type": "e2e.exit", "lines": 0, "code": 3})
    c.expect_close()
    c.close()
    stack_status = lambda sid: stack.get(f"/sessions/{sid}", headers=auth).json["status"]  # noqa: E731
    wait_for(lambda: stack_status(crasher) == "crashed", what="the crash")
    s = scrape(stack)
    assert delta(before, s, "amarre_sessions", status="crashed") == 1
    assert delta(before, s, "amarre_sessions", status="running") == 0
    assert delta(before, s, "amarre_restarts_total") == 0

    # Restarted on request: one restart, running again.
    r = stack.post(f"/sessions/{crasher}/restart", headers=auth)
    assert r.status == 200, r
    s = scrape(stack)
    assert delta(before, s, "amarre_restarts_total") == 1
    assert delta(before, s, "amarre_sessions", status="crashed") == 0
    assert delta(before, s, "amarre_sessions", status="running") == 1

    # Stopped: stopped, not running.
    r = stack.post(f"/sessions/{crasher}/stop", headers=auth)
    assert r.status == 200, r
    s = scrape(stack)
    assert delta(before, s, "amarre_sessions", status="stopped") == 1
    assert delta(before, s, "amarre_sessions", status="running") == 0

    # Restarted automatically (the instance's policy allows one), then crashed for good.
    phoenix = session_maker("phoenix")["id"]
    c = client(stack, phoenix, token)
    c.send({"type": "e2e.exit", "lines": 0, "code": 1})
    c.expect_close()
    c.close()
    wait_for(lambda: scrape(stack).value("amarre_restarts_total") - before.value("amarre_restarts_total") == 2,
             what="the automatic restart")
    wait_for(lambda: stack_status(phoenix) == "running", what="phoenix running again")
    c = client(stack, phoenix, token)
    c.send({"type": "e2e.exit", "lines": 0, "code": 1})
    c.expect_close()
    c.close()
    wait_for(lambda: stack_status(phoenix) == "crashed", what="phoenix crashed for good")
    s = scrape(stack)
    assert delta(before, s, "amarre_restarts_total") == 2
    assert delta(before, s, "amarre_sessions", status="crashed") == 1
    assert delta(before, s, "amarre_sessions", status="stopped") == 1
    assert delta(before, s, "amarre_spawn_failures_total") == 1


def test_rest_requests_are_counted_by_route_template_method_and_status(metrics_stack, token, session_maker):
    stack, auth = metrics_stack, bearer(token)
    sid = session_maker("echo")["id"]
    before = scrape(stack)
    for _ in range(3):
        assert stack.get(f"/sessions/{UNKNOWN_ID}", headers=auth).status == 404
    assert stack.get(f"/sessions/{sid}", headers=auth).status == 200
    assert stack.get(f"/sessions/{UNKNOWN_ID}/nope", headers=auth).status == 404
    assert stack.request("PUT", "/sessions", headers=auth).status == 405
    assert stack.get("/sessions").status == 401
    r = stack.post(f"/sessions/{sid}/prompt", {"message": "hi"}, headers=auth)
    assert r.status == 202, r
    s = scrape(stack)
    counted = lambda route, method, status: delta(before, s, "amarre_http_requests_total",  # noqa: E731
                                                  route=route, method=method, status=str(status))
    assert counted("/sessions/{id}", "GET", 404) == 3
    assert counted("/sessions/{id}", "GET", 200) == 1
    assert counted("unmatched", "GET", 404) == 1
    assert counted("/sessions", "PUT", 405) == 1, "a method the path does not take is counted under its pattern"
    assert counted("/sessions", "GET", 401) == 1
    assert counted("/sessions/{id}/prompt", "POST", 202) == 1
    assert counted("/metrics", "GET", 200) == 1, "the scrape before this one"
    # Routes are templates: no session id, request id or token ever becomes a label.
    for labels in s.labels_of("amarre_http_requests_total"):
        assert set(labels) == {"route", "method", "status"}, labels
        assert sid not in labels["route"] and UNKNOWN_ID not in labels["route"], labels


def test_push_sends_and_failures_are_counted_per_channel(metrics_stack, token, fakes):  # noqa: F811
    stack, auth = metrics_stack, bearer(token)
    good, refusing = fakes.webpush.subscription(), fakes.webpush.subscription()
    refusing.respond(400)
    for sub in (good, refusing):
        r = stack.post("/push/subscriptions", sub.to_json(), headers=auth)
        assert r.status == 201, r
    before = scrape(stack)
    try:
        r = stack.post("/push/test", headers=auth)
        assert (r.status, r.json) == (200, {"sent": 2}), r
        good.wait(1)
        refusing.wait(1)
        # Each subscription's outcome is counted when its push service has answered.
        s = wait_for(lambda: (x := scrape(stack)) and delta(before, x, "amarre_push_failed_total", channel="webpush") >= 1
                     and delta(before, x, "amarre_push_sent_total", channel="webpush") >= 1 and x,
                     what="both outcomes to be counted")
        assert delta(before, s, "amarre_push_sent_total", channel="webpush") == 1
        assert delta(before, s, "amarre_push_failed_total", channel="webpush") == 1
        assert s.types.get("amarre_push_sent") == "counter" and s.types.get("amarre_push_failed") == "counter"
    finally:
        for sub in (good, refusing):
            stack.request("DELETE", "/push/subscriptions", {"endpoint": sub.endpoint}, headers=auth)


def test_a_client_dropped_for_being_slow_is_counted(metrics_stack, token, session_maker):
    """A client that asks for a flood and never reads: its queue makes no progress for
    AMARRE_CLIENT_STALL_MS, so it is closed with 1013, and counted. (No fast reader beside it: on a loaded machine a reader in
    Python can fall behind by a megabyte too.)"""
    stack = metrics_stack
    sid = session_maker("flooder")["id"]
    before = scrape(stack)
    count, size = 2000, 16 * 1024  # 32 MiB: far past the client's buffer plus the sockets' own
    slow = stack.raw_ws(f"/sessions/{sid}", rcvbuf=4096, headers=bearer(token))
    try:
        assert slow.handshake.status == 101
        wait_for(lambda: scrape(stack).value("amarre_clients") - before.value("amarre_clients") == 1, what="the client")
        slow.send_text(json.dumps({"type": "e2e.flood", "count": count, "size": size}))
        s = wait_for(lambda: (x := scrape(stack)) and delta(before, x, "amarre_records_relayed_total") == count + 1 and x,
                     what="the flood to be relayed", timeout=60)
        s = wait_for(lambda: (x := scrape(stack)) and x.value("amarre_clients") == before.value("amarre_clients") and x,
                     what="the client to be dropped", timeout=30)
        assert delta(before, s, "amarre_clients_dropped_slow_total") == 1
        code = None
        try:
            while True:
                f = slow.recv_message(timeout=30)
                if f.opcode != TEXT:
                    code = f.close_code
                    break
        except Closed:
            code = "closed without a close frame"
        assert code == 1013
    finally:
        slow.close_socket()
