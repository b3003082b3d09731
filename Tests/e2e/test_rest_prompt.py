"""REST for scripts (issue 13): POST /sessions/<id>/prompt and /abort, GET /sessions/<id>/requests,
through nginx, with access control off and on (a bearer token; 401 without).

The agent (`PISH`, inline) is pi-shaped: it reports every stdin line it reads
(`e2e.stdin`: the line, its length and SHA-256), answers a prompt, steer or follow_up with a run
(`agent_start` … `agent_end`, the assistant saying "echo: <message>"), asks a confirm for
"ask …" prompts and holds "hold" runs until an abort. So a test compares what a REST prompt
wrote to the agent's stdin with what a WebSocket prompt writes, byte for byte.
Waits are on records with deadlines; nothing sleeps to wait."""
from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, Callable
from urllib.parse import quote

import pytest

from conftest import (DEFAULT_TIMEOUT, PY, Response, Stack, WSClient, command_instance,
                      wait_for)

PISH = r'''
import hashlib, json, os, sys

def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()

def user(cmd):
    images = list(cmd.get("images") or [])
    if len(json.dumps(images)) > 65536:
        # Big images are not echoed in the records (three 4 MiB records at once would outrun a
        # WebSocket client's queue): a stand-in says how many there were.
        images = [{"type": "image", "omitted": True} for _ in images]
    content = [{"type": "text", "text": cmd.get("message", "")}] + images
    return {"role": "user", "content": content}

def assistant(text, reason="stop", error=None):
    m = {"role": "assistant", "content": [{"type": "text", "text": text}], "stopReason": reason}
    if error:
        m["errorMessage"] = error
    return m

def end(messages):
    out({"type": "turn_end"})
    out({"type": "agent_end", "messages": messages})

run = None   # {"messages": [...], "ask": request id | None, "hold": bool}
asked = 0
for raw in sys.stdin.buffer:
    line = raw.rstrip(b"\n")
    if not line.strip():
        continue
    report = {"type": "e2e.stdin", "bytes": len(line), "sha256": hashlib.sha256(line).hexdigest()}
    if len(line) <= 65536:
        report["line"] = line.decode("utf-8", "replace")
    try:
        cmd = json.loads(line)
    except ValueError:
        out(report)
        continue
    report["canonical"] = hashlib.sha256(json.dumps(cmd, sort_keys=True, separators=(",", ":"),
                                                    ensure_ascii=False).encode()).hexdigest()
    out(report)
    if not isinstance(cmd, dict):
        continue
    kind = cmd.get("type")
    if kind in ("prompt", "steer", "follow_up"):
        out({"type": "response", "command": kind, "success": True})
        if run is not None:
            out({"type": "queue_update", "steering": [], "followUp": []})
            continue
        message = cmd.get("message", "")
        if message == "crash":
            os._exit(3)
        out({"type": "agent_start"})
        out({"type": "turn_start"})
        u = user(cmd)
        out({"type": "message_start", "message": u})
        out({"type": "message_end", "message": u})
        if message.startswith("ask"):
            # One question per "?" in the message (at least one); the run ends when all are answered.
            run = {"messages": [u], "ask": [], "hold": False}
            for _ in range(max(1, message.count("?"))):
                asked += 1
                rid = "ask-%d-%d" % (os.getpid(), asked)
                run["ask"].append(rid)
                out({"type": "tool_execution_start", "toolCallId": "call-" + rid, "toolName": "bash",
                     "args": {"command": message}})
                out({"type": "extension_ui_request", "id": rid, "method": "confirm", "title": "Run bash?",
                     "message": message, "toolName": "bash"})
        elif message == "hold":
            run = {"messages": [u], "ask": None, "hold": True}
            out({"type": "message_start", "message": assistant("")})
        elif message == "fail":
            a = assistant("half an answer", "error", "the model is overloaded")
            out({"type": "message_start", "message": a})
            out({"type": "message_end", "message": a})
            end([u, a])
        else:
            images = len(cmd.get("images") or [])
            text = "echo: " + message + (" (%d images)" % images if images else "")
            a = assistant(text)
            out({"type": "message_start", "message": a})
            out({"type": "message_end", "message": a})
            end([u, a])
    elif kind == "abort":
        out({"type": "response", "command": "abort", "success": True})
        if run is not None:
            a = assistant("stopped", "aborted", "Request was aborted")
            out({"type": "message_end", "message": a})
            end(run["messages"] + [a])
            run = None
    elif kind == "extension_ui_response" and run is not None and cmd.get("id") in (run["ask"] or []):
        allowed = cmd.get("confirmed") is True
        run["ask"].remove(cmd["id"])
        out({"type": "tool_execution_end", "toolCallId": "call-" + cmd["id"], "toolName": "bash",
             "result": {"content": [{"type": "text", "text": "ran" if allowed else "denied"}]},
             "isError": not allowed})
        if not run["ask"]:
            a = assistant(("allowed" if allowed else "denied") + (" for the session" if cmd.get("scope") == "session" else ""))
            out({"type": "message_start", "message": a})
            out({"type": "message_end", "message": a})
            end(run["messages"] + [a])
            run = None
'''

INSTANCES = [command_instance("pish", [PY, "-c", PISH])]
ENV = {"AMARRE_MAX_SESSIONS": "100"}

# A 1x1 PNG and the first bytes of the other kinds (the server passes images through as given).
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f6e7c50000000049454e44ae426082")).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 16).decode()
UNKNOWN = "0123456789ab"


class Api:
    """A stack and the credentials its requests carry (none in none mode, a bearer token in token mode)."""

    def __init__(self, stack: Stack, mode: str):
        self.stack = stack
        self.mode = mode
        self.headers: dict[str, str] = {}
        if mode == "token":
            self.headers = {"Authorization": f"Bearer {stack.make_token('rest-prompt')}"}
        self.created: list[str] = []

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.stack.request(method, path, body, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def create(self, **fields: Any) -> str:
        r = self.post("/sessions", {"instanceId": "pish", **fields})
        assert r.status == 201, r
        self.created.append(r.json["id"])
        return r.json["id"]

    def summary(self, sid: str) -> dict:
        r = self.get(f"/sessions/{sid}")
        assert r.status == 200, r
        return r.json

    def connect(self, sid: str) -> "Watcher":
        return Watcher(self, sid)

    def cleanup(self) -> None:
        for sid in self.created:
            self.request("DELETE", f"/sessions/{sid}")


class Watcher:
    """A WebSocket client of a session that keeps every record (`_seq` included)."""

    def __init__(self, api: Api, sid: str):
        self.client = WSClient(api.stack.ws_url(sid), additional_headers=api.headers)
        self.seen: list[dict] = []
        self.hello = self._recv(time.monotonic() + DEFAULT_TIMEOUT)
        assert self.hello["type"] == "amarre.hello", self.hello

    def _recv(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching record in time; last seen: {[r.get('type') for r in self.seen[-12:]]}")
        try:
            text = self.client.ws.recv(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no matching record in time; last seen: {[r.get('type') for r in self.seen[-12:]]}") from None
        record = json.loads(text)
        self.seen.append(record)
        return record

    def until(self, match: str | Callable[[dict], bool], timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> list[dict]:
        """Every record up to and including the first that matches (a type and fields, or a predicate)."""
        if isinstance(match, str):
            kind = match
            match = lambda r: r.get("type") == kind and all(r.get(k) == v for k, v in fields.items())  # noqa: E731
        deadline = time.monotonic() + timeout
        out = []
        while True:
            record = self._recv(deadline)
            out.append(record)
            if match(record):
                return out

    def stdin_line(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The agent's report of the next line it read."""
        return self.until("e2e.stdin", timeout)[-1]

    def send(self, record: Any) -> None:
        self.client.send(record)

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module", params=["none", "token"])
def api(request, stack_factory_module):
    stack = stack_factory_module(env={**ENV, "AMARRE_AUTH": request.param}, instances=INSTANCES)
    return Api(stack, request.param)


@pytest.fixture(scope="module")
def stack_factory_module(request):
    """Module-scoped stacks (one per access-control mode)."""
    made: list[Stack] = []

    def make(env: dict[str, str], instances: list[dict]) -> Stack:
        s = Stack(env=env, instances=instances, label=f"{request.node.name}#{len(made)}")
        made.append(s)
        return s.start()

    yield make
    problems = []
    for s in made:
        problems += s.stop()
        s.remove()
    assert not problems, "stack teardown: " + "; ".join(problems)


@pytest.fixture
def rest(api):
    yield api
    api.cleanup()
    api.created.clear()


@pytest.fixture
def watchers():
    opened: list[Watcher] = []
    yield opened
    for w in opened:
        w.close()


def watch(rest: Api, watchers: list, sid: str) -> Watcher:
    w = rest.connect(sid)
    watchers.append(w)
    return w


def prompt_path(sid: str) -> str:
    return f"/sessions/{sid}/prompt"


def answer_path(sid: str, rid: str) -> str:
    return f"/sessions/{sid}/requests/{quote(rid, safe='')}"


def canonical(value: Any) -> str:
    """What PISH reports for a line: the SHA-256 of its JSON with sorted keys."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def the_run(records: list[dict]) -> list[str]:
    return [r["type"] for r in records if r.get("type") in ("agent_start", "message_end", "agent_end")]


# -- POST /sessions/<id>/prompt --------------------------------------------------------------

@pytest.mark.parametrize("mode", ["prompt", "steer", "follow_up"])
@pytest.mark.parametrize("images", [None, [{"type": "image", "data": PNG, "mimeType": "image/png"},
                                           {"type": "image", "data": JPEG, "mimeType": "image/jpeg"}]],
                         ids=["text", "images"])
def test_a_rest_prompt_reaches_the_agent_as_a_websocket_prompt_does(rest, watchers, mode, images):
    """202 {"sessionId","afterSeq","id"}: afterSeq is the last seq before the prompt was written,
    every record of the run comes after it; the agent's stdin gets the same line a WebSocket
    client's {"id","type":mode,"message","images"?} gives it (images passed through), with the
    id amarre-api gave the command (the agent's response carries it)."""
    sid = rest.create()
    w = watch(rest, watchers, sid)
    body: dict[str, Any] = {"message": f"hello from {mode} ✓ \"quoted\"\nsecond line"}
    if images is not None:
        body["images"] = images
    if mode != "prompt" or images is None:
        body["mode"] = mode  # a prompt with images goes without: "prompt" is the default

    r = rest.post(prompt_path(sid), body)
    assert r.status == 202, r
    assert r.headers.get("content-type", "").split(";")[0] == "application/json"
    command_id = r.json["id"]
    assert command_id.startswith("amarre-rest-")
    assert r.json == {"sessionId": sid, "afterSeq": w.hello["seq"], "id": command_id}
    after = r.json["afterSeq"]
    records = w.until("agent_end")
    assert all(rec["_seq"] > after for rec in records), records
    via_rest = next(rec for rec in records if rec["type"] == "e2e.stdin")
    assert the_run(records) == ["agent_start", "message_end", "message_end", "agent_end"]
    reply = records[-1]["messages"][-1]["content"][0]["text"]
    assert reply == "echo: " + body["message"] + (" (2 images)" if images else "")
    user = records[-1]["messages"][0]
    assert user["content"][1:] == (images or [])

    # The same prompt from a WebSocket client.
    ws_prompt: dict[str, Any] = {"id": command_id, "type": mode, "message": body["message"]}
    if images is not None:
        ws_prompt["images"] = images
    w.send(ws_prompt)
    via_ws = w.stdin_line()
    assert json.loads(via_rest["line"]) == json.loads(via_ws["line"]) == ws_prompt
    w.until("agent_end")


def test_after_seq_counts_what_came_before(rest, watchers):
    """A second prompt's afterSeq is the first run's last record, and its records follow it."""
    sid = rest.create()
    w = watch(rest, watchers, sid)
    first = rest.post(prompt_path(sid), {"message": "one"})
    assert first.status == 202, first
    end = w.until("agent_end")[-1]
    second = rest.post(prompt_path(sid), {"message": "two", "mode": "prompt"})
    assert second.status == 202, second
    assert second.json["afterSeq"] == end["_seq"] > first.json["afterSeq"]
    records = w.until("agent_end")
    assert records[0]["_seq"] == end["_seq"] + 1
    assert records[-1]["messages"][-1]["content"][0]["text"] == "echo: two"
    # The events route agrees: everything after afterSeq is this run.
    stored = wait_for(lambda: (e := rest.get(f"/sessions/{sid}/events?after={second.json['afterSeq']}").json)
                      and e[-1]["type"] == "agent_end" and e, what="the run in the store")
    assert [rec["_seq"] for rec in stored] == [rec["_seq"] for rec in records]


def test_a_prompt_with_an_image_over_one_mebibyte_is_taken(rest, watchers):
    """The prompt route takes bodies up to 16 MiB (nginx and amarre-api); other routes 1 MiB."""
    sid = rest.create()
    w = watch(rest, watchers, sid)
    big = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (3 * 4096)).decode()  # ~4 MiB of base64
    body = {"message": "big", "images": [{"type": "image", "data": big, "mimeType": "image/png"}]}
    raw = json.dumps(body).encode()
    assert len(raw) > 4 << 20
    r = rest.post(prompt_path(sid), raw=raw)
    assert r.status == 202, r
    seen = w.stdin_line(timeout=30)
    assert seen["bytes"] > len(big)
    assert seen["canonical"] == canonical({"id": r.json["id"], "type": "prompt", **body})
    assert w.until("agent_end", timeout=30)[-1]["messages"][-1]["content"][0]["text"] == "echo: big (1 images)"
    # Elsewhere 1 MiB is the limit.
    assert rest.request("PATCH", f"/sessions/{sid}", raw=json.dumps({"name": "x" * (2 << 20)}).encode()).status == 413
    # And 16 MiB here.
    huge = json.dumps({"message": "x" * (17 << 20)}).encode()
    assert rest.post(prompt_path(sid), raw=huge, timeout=60).status == 413


@pytest.mark.parametrize("body", [
    {}, {"message": 5}, {"message": None}, [], "prompt", {"message": "x", "mode": "shout"},
    {"message": "x", "mode": 1}, {"message": "x", "images": "no"}, {"message": "x", "images": [5]},
    {"message": "x", "images": {"type": "image"}},
], ids=repr)
def test_bad_prompt_bodies_get_400_and_reach_no_agent(rest, watchers, body):
    sid = rest.create()
    w = watch(rest, watchers, sid)
    r = rest.post(prompt_path(sid), body)
    assert r.status == 400, (body, r)
    assert r.json["error"] == "bad_request"
    bad_json = rest.post(prompt_path(sid), raw=b'{"message":', headers={"Content-Type": "application/json"})
    assert bad_json.status == 400 and bad_json.json["error"] == "bad_request"
    # The agent got nothing: the next line it reads is the good prompt.
    good = rest.post(prompt_path(sid), {"message": "good"})
    assert good.status == 202
    assert json.loads(w.stdin_line()["line"]) == {"id": good.json["id"], "type": "prompt", "message": "good"}
    w.until("agent_end")


def test_prompt_and_abort_on_unknown_stopped_and_crashed_sessions(rest, watchers):
    for path in (f"/sessions/{UNKNOWN}/prompt", f"/sessions/{UNKNOWN}/abort", "/sessions/not-an-id/prompt",
                 f"/sessions/{UNKNOWN}/requests"):
        r = rest.get(path) if path.endswith("requests") else rest.post(path, {"message": "x"})
        assert r.status == 404, (path, r)
        assert r.json["error"] == "not_found"

    stopped = rest.create()
    assert rest.post(f"/sessions/{stopped}/stop").status == 200
    for path in (prompt_path(stopped), f"/sessions/{stopped}/abort"):
        r = rest.post(path, {"message": "x"})
        assert r.status == 409 and r.json["error"] == "not_running", (path, r)

    crashed = rest.create()
    w = watch(rest, watchers, crashed)
    assert rest.post(prompt_path(crashed), {"message": "crash"}).status == 202
    w.until("amarre.session_event", event="crashed")
    wait_for(lambda: rest.summary(crashed)["status"] == "crashed", what="the crash in the summary")
    for path in (prompt_path(crashed), f"/sessions/{crashed}/abort"):
        r = rest.post(path, {"message": "x"})
        assert r.status == 409 and r.json["error"] == "not_running", (path, r)


def test_other_methods_get_405(rest):
    sid = rest.create()
    for method, path, allowed in (("GET", prompt_path(sid), "POST"), ("GET", f"/sessions/{sid}/abort", "POST"),
                                  ("DELETE", f"/sessions/{sid}/requests", "GET")):
        r = rest.request(method, path)
        assert r.status == 405, (method, path, r)
        assert allowed in r.headers.get("allow", ""), r.headers


# -- POST /sessions/<id>/abort -----------------------------------------------------------------

def test_abort_stops_the_run_going_on(rest, watchers):
    sid = rest.create()
    w = watch(rest, watchers, sid)
    assert rest.post(prompt_path(sid), {"message": "hold"}).status == 202
    w.until(lambda r: r.get("type") == "message_start" and r["message"]["role"] == "assistant")
    r = rest.post(f"/sessions/{sid}/abort")
    assert r.status == 202, r
    assert r.json == {"sessionId": sid, "afterSeq": w.seen[-1]["_seq"]}
    records = w.until("agent_end")
    assert json.loads(next(x for x in records if x["type"] == "e2e.stdin")["line"]) == {"type": "abort"}
    assert records[-1]["messages"][-1]["stopReason"] == "aborted"
    assert all(x["_seq"] > r.json["afterSeq"] for x in records)
    # Idle: the agent still gets it (and answers as pi does).
    idle = rest.post(f"/sessions/{sid}/abort")
    assert idle.status == 202
    assert json.loads(w.stdin_line()["line"]) == {"type": "abort"}


# -- GET /sessions/<id>/requests -------------------------------------------------------------

def test_open_requests_are_listed_until_answered(rest, watchers):
    sid, other = rest.create(), rest.create()
    w, wo = watch(rest, watchers, sid), watch(rest, watchers, other)
    assert rest.get(f"/sessions/{sid}/requests").json == {"requests": []}

    assert rest.post(prompt_path(sid), {"message": "ask first"}).status == 202
    first = w.until("extension_ui_request")[-1]
    assert rest.post(prompt_path(other), {"message": "ask other"}).status == 202
    asked_other = wo.until("extension_ui_request")[-1]
    listed = rest.get(f"/sessions/{sid}/requests")
    assert listed.status == 200, listed
    assert listed.headers.get("content-type", "").split(";")[0] == "application/json"
    assert listed.json == {"requests": [first]}, listed  # as published, _seq included
    assert first["toolName"] == "bash"
    assert rest.get(f"/sessions/{other}/requests").json == {"requests": [asked_other]}

    # An answer from REST closes it for every client and the agent gets it.
    r = rest.post(answer_path(sid, first["id"]), {"confirmed": False})
    assert r.status == 200 and r.json == {"id": first["id"], "resolved": True}, r
    w.until("amarre.request_resolved", id=first["id"])
    records = w.until("agent_end")
    got = json.loads(next(x for x in records if x["type"] == "e2e.stdin")["line"])
    assert got["type"] == "extension_ui_response" and got["id"] == first["id"] and got["confirmed"] is False
    assert rest.get(f"/sessions/{sid}/requests").json == {"requests": []}
    assert rest.post(answer_path(sid, first["id"]), {"confirmed": True}).status == 409

    # "scope":"session" passes through to the agent.
    again = rest.post(answer_path(other, asked_other["id"]), {"confirmed": True, "scope": "session"})
    assert again.status == 200, again
    records = wo.until("agent_end")
    answer = [json.loads(x["line"]) for x in records if x["type"] == "e2e.stdin"
              and json.loads(x["line"]).get("type") == "extension_ui_response"]
    assert answer == [{"type": "extension_ui_response", "id": asked_other["id"], "confirmed": True, "scope": "session"}]
    assert records[-1]["messages"][-1]["content"][0]["text"] == "allowed for the session"
    assert rest.get(f"/sessions/{other}/requests").json == {"requests": []}


def test_requests_are_listed_oldest_first(rest, watchers):
    sid = rest.create()
    w = watch(rest, watchers, sid)
    assert rest.post(prompt_path(sid), {"message": "ask: this? and that? and more?"}).status == 202
    asked = [r for r in w.until(lambda r: len([x for x in w.seen if x.get("type") == "extension_ui_request"]) == 3)
             if r.get("type") == "extension_ui_request"]
    listed = rest.get(f"/sessions/{sid}/requests").json["requests"]
    assert listed == asked
    assert [r["_seq"] for r in listed] == sorted(r["_seq"] for r in listed)
    # The middle one answered: the others stay, in order.
    assert rest.post(answer_path(sid, asked[1]["id"]), {"confirmed": True}).status == 200
    w.until("amarre.request_resolved", id=asked[1]["id"])
    assert rest.get(f"/sessions/{sid}/requests").json["requests"] == [asked[0], asked[2]]
    for r in (asked[0], asked[2]):
        assert rest.post(answer_path(sid, r["id"]), {"confirmed": True}).status == 200
    w.until("agent_end")
    assert rest.get(f"/sessions/{sid}/requests").json == {"requests": []}


def test_a_request_answered_over_the_websocket_is_no_longer_listed(rest, watchers):
    sid = rest.create()
    w = watch(rest, watchers, sid)
    assert rest.post(prompt_path(sid), {"message": "ask?"}).status == 202
    asked = w.until("extension_ui_request")[-1]
    assert rest.get(f"/sessions/{sid}/requests").json["requests"] == [asked]
    w.send({"type": "extension_ui_response", "id": asked["id"], "confirmed": True})
    w.until("amarre.request_resolved", id=asked["id"])
    assert rest.get(f"/sessions/{sid}/requests").json == {"requests": []}
    w.until("agent_end")


def test_a_request_withdrawn_when_its_run_is_aborted_is_no_longer_listed(rest, watchers):
    """The run ends (abort) with the question open: the host withdraws it."""
    sid = rest.create()
    w = watch(rest, watchers, sid)
    assert rest.post(prompt_path(sid), {"message": "ask?"}).status == 202
    asked = w.until("extension_ui_request")[-1]
    assert rest.post(f"/sessions/{sid}/abort").status == 202
    w.until("amarre.request_withdrawn", id=asked["id"])
    assert rest.get(f"/sessions/{sid}/requests").json == {"requests": []}
    gone = rest.post(answer_path(sid, asked["id"]), {"confirmed": True})
    assert gone.status == 409 and gone.json["error"] == "already_answered", gone


# -- access control ----------------------------------------------------------------------------

@pytest.mark.parametrize("api", ["token"], indirect=True)
def test_token_mode_wants_credentials_on_every_new_route(api):
    sid = api.create()
    try:
        for method, path, body in (("POST", prompt_path(sid), {"message": "x"}), ("POST", f"/sessions/{sid}/abort", None),
                                   ("GET", f"/sessions/{sid}/requests", None),
                                   ("POST", answer_path(sid, "q1"), {"confirmed": True, "scope": "session"}),
                                   ("POST", f"/sessions/{UNKNOWN}/prompt", {"message": "x"})):
            for headers in ({}, {"Authorization": "Bearer amr_0000000000000000_" + "A" * 43}):
                r = api.stack.request(method, path, body, headers=headers)
                assert r.status == 401, (method, path, headers, r)
                assert r.json == {"error": "unauthorized"}
                assert r.headers.get("www-authenticate") == "Bearer"
        assert api.get(f"/sessions/{sid}/requests").status == 200
    finally:
        api.cleanup()
        api.created.clear()
