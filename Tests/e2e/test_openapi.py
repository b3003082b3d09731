"""The OpenAPI 3.1 description of the REST plane (www/openapi.json, served at `<base>/openapi.json`)
is kept true: it is a valid document, it names every route with exactly the methods the API takes
and every error code the API has, and schemathesis, run against a real stack in both access
modes, finds no server error and no answer that departs from it (status, content type, headers,
body schema).

The schemathesis runs are bounded (few examples per operation, a fixed seed, one worker) and
aimed: a configuration file made here binds path and body parameters to things that exist on the
stack (a running session with open questions, a git repository with changes, a throwaway session
to stop, restart and delete, pairing codes, a valid Web Push key), each with a probability, so the
success answers are exercised too, not only the 404s of random ids. Nothing it does can reach the
network: push endpoints and the Expo URL point at a closed local port.
"""
from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from conftest import (OUTPUT_DIR, REPO, Stack, WSClient, _start_and_yield, agent, agent_pid, command_instance,
                      wait_for)

DOC_PATH = REPO / "www" / "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Bounds of each schemathesis run: examples per operation and phase, and stateful steps. About
# 20 s per run on 2 cores. Generation is deterministic (hypothesis derandomized), and seeded.
MAX_EXAMPLES = 25
STATEFUL_MAX_STEPS = 8
SEED = 20261203
# nginx answers TRACE itself (405, HTML, no Allow) before amarre sees it: not probed.
UNEXPECTED_METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"]

INSTANCES = [
    command_instance("default", agent("echo.py")),
    command_instance("cat", ["cat"]),
    command_instance("stubborn", agent("term_ignorer.py")),
]
# A documented 500 (spawn_failed): never where schemathesis looks for server errors.
MISSING = command_instance("missing", ["/nonexistent/amarre-e2e-agent"])

GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
           "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid"}


def load_doc() -> dict:
    return json.loads(DOC_PATH.read_text())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the document itself ---------------------------------------------------------------------------

def test_document_is_valid_openapi_3_1():
    spec, _ = read_from_filename(str(DOC_PATH))
    assert spec["openapi"].startswith("3.1.")
    validate(spec)


def test_document_version_is_the_release_version():
    assert load_doc()["info"]["version"] == (REPO / "VERSION").read_text().strip()


def test_servers_are_relative_so_the_document_works_under_a_base_path():
    for server in load_doc()["servers"]:
        assert not re.match(r"^[a-z]+://", server["url"]) and not server["url"].startswith("/"), server


def test_every_error_code_of_the_api_is_documented():
    """`AmarreError.Code` (the one list of codes) against the document's `Error.error` enum."""
    source = (REPO / "Sources" / "AmarreCore" / "AmarreError.swift").read_text()
    codes = set(re.findall(r'static let \w+ = Code\(rawValue: "([a-z_]+)"\)', source))
    assert codes, "no codes found in AmarreError.swift"
    documented = set(load_doc()["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    # api_unavailable is nginx's own (502 when amarre-api is down).
    assert documented - {"api_unavailable"} == codes


def test_every_operation_has_an_id_a_tag_and_documented_answers():
    doc = load_doc()
    ids = []
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                operation = item[method]
                ids.append(operation["operationId"])
                assert operation.get("tags"), (method, path)
                assert any(s.startswith("2") for s in operation["responses"]), (method, path)
    assert len(ids) == len(set(ids))


# -- stacks ---------------------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository with a commit, then a modified file, an untracked one, a binary file, a
    subdirectory and a symlink out of it: something for every answer of `changes` and `files`."""
    root = tmp_path_factory.mktemp("openapi") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README").write_text("hello\n")
    (root / "sub").mkdir()
    (root / "sub" / "notes.txt").write_text("notes\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    (root / "README").write_text("hello\nworld\n")
    (root / "new.txt").write_text("new\n")
    (root / "blob.bin").write_bytes(b"\x00\x01binary")
    os.symlink("/etc", root / "outside")
    os.mkfifo(root / "fifo")
    return root


def stack_env(mode: str) -> dict[str, str]:
    dead = f"http://127.0.0.1:{closed_port()}/"
    return {
        "AMARRE_AUTH": mode,
        "AMARRE_MAX_SESSIONS": "5",
        # No notification is ever due during the run, and none could leave this machine.
        "AMARRE_PUSH_GRACE_MS": "600000",
        "AMARRE_EXPO_PUSH_URL": dead + "expo",
        "AMARRE_METRICS_TOKEN": None,
    }


@pytest.fixture(scope="module")
def open_stack(request):
    yield from _start_and_yield(Stack(env=stack_env("none"), instances=INSTANCES, label="openapi-none"))


@pytest.fixture(scope="module")
def token_stack(request):
    yield from _start_and_yield(Stack(env=stack_env("token"), instances=INSTANCES, label="openapi-token"))


def test_document_is_served_at_openapi_json_without_credentials(token_stack):
    r = token_stack.get("/openapi.json")
    assert r.status == 200, r
    assert r.headers["content-type"].split(";")[0] == "application/json"
    assert json.loads(r.text) == load_doc()


def documented_paths() -> dict[str, set[str]]:
    out = {}
    for path, item in load_doc()["paths"].items():
        out[path] = {m.upper() for m in HTTP_METHODS if m in item}
    return out


@pytest.mark.parametrize("path", [p for p in documented_paths() if p != "/openapi.json"])
def test_every_documented_path_is_routed_with_exactly_its_methods(open_stack, path):
    """A method no route of the path takes gets 405 whose `Allow` lists exactly the documented
    methods (and HEAD with GET): the path exists, and no method is missing from the document."""
    concrete = path.replace("{id}", "0123456789ab").replace("{requestId}", "q1").replace("{token}", "ExpoPushToken[x]")
    methods = documented_paths()[path]
    probe = next(m for m in ("PUT", "OPTIONS") if m not in methods)
    r = open_stack.request(probe, concrete)
    assert r.status == 405, (probe, concrete, r)
    allowed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
    expected = methods | ({"HEAD"} if "GET" in methods else set())
    assert allowed == expected, (concrete, r.headers.get("allow"))


# -- answers the document promises, each produced on purpose and checked against it ----------------

def resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_conforms(r, method: str, template: str, doc: dict | None = None) -> dict:
    """`r` (a conftest Response) is an answer the document gives for `method template`: a documented
    status, its required headers, its content type and a body valid against its schema."""
    from jsonschema import Draft202012Validator
    doc = doc or load_doc()
    operation = doc["paths"][template][method.lower()]
    spec = operation["responses"].get(str(r.status))
    assert spec is not None, f"{method} {template}: {r.status} is not documented ({sorted(operation['responses'])}): {r}"
    spec = resolve(doc, spec)
    for name, header in spec.get("headers", {}).items():
        header = resolve(doc, header)
        value = r.headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{method} {template} {r.status}: no {name} header ({r.headers})"
        if value is not None:
            errors = list(Draft202012Validator(header["schema"]).iter_errors(value))
            assert not errors, f"{method} {template} {r.status}: {name}: {value!r}: {errors[0].message}"
    content = spec.get("content")
    if not content:
        assert r.text == "", f"{method} {template} {r.status}: a body where none is documented: {r}"
        return spec
    media = r.headers.get("content-type", "").split(";")[0].strip()
    assert media in content, f"{method} {template} {r.status}: Content-Type {media!r}, documented {list(content)}"
    if media == "application/json":
        schema = {"allOf": [content[media]["schema"]], "components": doc["components"]}
        errors = sorted(Draft202012Validator(schema).iter_errors(r.json), key=lambda e: e.path)
        assert not errors, f"{method} {template} {r.status}: {errors[0].message} at {list(errors[0].path)}: {r}"
    return spec


@pytest.fixture(scope="module")
def token(token_stack) -> str:
    return token_stack.make_token("openapi")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pairing_logout_and_the_attempt_limit_answer_as_documented(token_stack):
    stack = token_stack
    code = pairing_codes(stack, 1)[0]
    r = stack.post("/auth/pair", {"code": code, "name": "openapi"}, headers={"X-Forwarded-For": "100.64.9.1"})
    assert r.status == 200, r
    assert_conforms(r, "POST", "/auth/pair")
    cookie = re.match(r"(amarre_auth=[^;]+)", r.headers["set-cookie"]).group(1)
    assert_conforms(stack.get("/auth/device", headers={"Cookie": cookie}), "GET", "/auth/device")
    r = stack.post("/auth/logout", headers={"Cookie": cookie})
    assert r.status == 204, r
    assert_conforms(r, "POST", "/auth/logout")
    r = stack.get("/sessions", headers={"Cookie": cookie})
    assert r.status == 401, r
    assert_conforms(r, "GET", "/sessions")
    statuses = []
    for _ in range(6):
        r = stack.post("/auth/pair", {"code": "a" * 26}, headers={"X-Forwarded-For": "100.64.9.2"})
        statuses.append(r.status)
        assert_conforms(r, "POST", "/auth/pair")
    assert statuses == [401] * 5 + [429], statuses
    assert int(r.headers["retry-after"]) == r.json["retryAfter"] > 0


def test_open_mode_answers_as_documented(open_stack):
    stack = open_stack
    for method, template, path, expected in [
        ("POST", "/auth/pair", "/auth/pair", 409), ("POST", "/auth/logout", "/auth/logout", 409),
        ("GET", "/auth/device", "/auth/device", 200), ("GET", "/healthz", "/healthz", 200),
    ]:
        r = stack.request(method, path, {"code": "a" * 26} if template == "/auth/pair" else None)
        assert r.status == expected, (path, r)
        assert_conforms(r, method, template)


def test_refusals_before_routing_answer_as_documented(token_stack, token):
    stack = token_stack
    r = stack.get("/healthz")
    assert (r.status, r.json) == (200, {"ok": True, "host": "up"})
    assert_conforms(r, "GET", "/healthz")
    assert_conforms(stack.get("/healthz", headers=bearer(token)), "GET", "/healthz")
    r = stack.get("/instances", headers={**bearer(token), "Host": "evil.example"})
    assert (r.status, r.json["error"]) == (403, "forbidden_host"), r
    assert_conforms(r, "GET", "/instances")
    r = stack.post("/sessions", {}, headers={**bearer(token), "Origin": "https://evil.example"})
    assert (r.status, r.json["error"]) == (403, "forbidden_origin"), r
    assert_conforms(r, "POST", "/sessions")
    r = stack.get("/instances", headers={"Authorization": "Bearer amr_0000000000000000_wrong"})
    assert r.status == 401, r
    assert_conforms(r, "GET", "/instances")
    r = stack.request("POST", "/sessions", raw=b"[" + b" " * (1 << 20) + b"]", headers=bearer(token))
    assert r.status == 413, r
    assert_conforms(r, "POST", "/sessions")
    r = stack.request("POST", "/sessions/0123456789ab/prompt", raw=b" " * (17 << 20), headers=bearer(token), timeout=30)
    assert r.status == 413, r
    assert_conforms(r, "POST", "/sessions/{id}/prompt")


def test_session_answers_are_as_documented(token_stack, token, repo):
    stack, auth = token_stack, bearer(token)
    made = []

    def call(method, template, path, body=None, expected=None, **kw):
        r = stack.request(method, path, body, headers=auth, **kw)
        if expected is not None:
            assert r.status == expected, (method, path, r)
        assert_conforms(r, method, template)
        if method == "POST" and template == "/sessions" and r.status == 201:
            made.append(r.json["id"])
        return r

    try:
        call("GET", "/instances", "/instances", expected=200)
        call("POST", "/sessions", "/sessions", {"instanceId": "nope"}, expected=404)
        call("POST", "/sessions", "/sessions", {"cwd": "relative"}, expected=400)
        sid = call("POST", "/sessions", "/sessions", {"name": "conformance", "cwd": str(repo)}, expected=201).json["id"]
        call("GET", "/sessions", "/sessions", expected=200)
        call("GET", "/sessions", "/sessions?status=running", expected=200)
        call("GET", "/sessions", "/sessions?status=nope", expected=400)
        call("PATCH", "/sessions/{id}", f"/sessions/{sid}", {"name": "renamed"}, expected=200)
        call("PATCH", "/sessions/{id}", f"/sessions/{sid}", {"name": 1}, expected=400)
        # An open question, its listing, its answer, and the answer again.
        client = WSClient(stack.ws_url(sid), additional_headers=auth)
        try:
            client.send({"type": "extension_ui_request", "id": "c1", "method": "confirm", "title": "Run?"})
            client.send({"type": "message_end", "message": {"role": "assistant",
                                                            "content": [{"type": "text", "text": "conformant xylophone"}]}})
            client.recv_until("message_end")
        finally:
            client.close()
        r = call("GET", "/sessions/{id}/requests", f"/sessions/{sid}/requests", expected=200)
        assert [q["id"] for q in r.json["requests"]] == ["c1"], r
        call("POST", "/sessions/{id}/requests/{requestId}", f"/sessions/{sid}/requests/c1", {"cancelled": False}, expected=400)
        call("POST", "/sessions/{id}/requests/{requestId}", f"/sessions/{sid}/requests/c1",
             {"confirmed": True, "scope": "session"}, expected=200)
        call("POST", "/sessions/{id}/requests/{requestId}", f"/sessions/{sid}/requests/c1", {"confirmed": True}, expected=409)
        call("POST", "/sessions/{id}/requests/{requestId}", f"/sessions/{sid}/requests/never", {"value": "x"}, expected=404)
        r = call("POST", "/sessions/{id}/prompt", f"/sessions/{sid}/prompt",
                 {"message": "hi", "images": [{"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}]}, expected=202)
        call("POST", "/sessions/{id}/prompt", f"/sessions/{sid}/prompt", {"message": 3}, expected=400)
        call("POST", "/sessions/{id}/abort", f"/sessions/{sid}/abort", expected=202)
        call("GET", "/sessions/{id}/events", f"/sessions/{sid}/events?after=0&limit=5", expected=200)
        call("GET", "/sessions/{id}/events", f"/sessions/{sid}/events?before=3", expected=200)
        call("GET", "/sessions/{id}/events", f"/sessions/{sid}/events?after=1&before=2", expected=400)
        r = wait_for(lambda: (x := stack.get("/search?q=xylophone", headers=auth)).json["results"] and x,
                     what="the indexed message")
        assert_conforms(r, "GET", "/search")
        assert r.json["results"][0]["sessionName"] == "renamed"
        call("GET", "/search", f"/search?q=xylophone&session={sid}&limit=1", expected=200)
        call("GET", "/search", "/search?q=%22open", expected=400)
        call("GET", "/search", "/search?q=x&limit=0", expected=400)
        call("GET", "/search", "/search?q=x&session=0123456789ab", expected=404)
        # Changes and files of the repository.
        assert {f["path"] for f in call("GET", "/sessions/{id}/changes", f"/sessions/{sid}/changes", expected=200).json["files"]} \
            >= {"README", "new.txt", "blob.bin"}
        call("GET", "/sessions/{id}/changes", f"/sessions/{sid}/changes?path=README", expected=200)
        call("GET", "/sessions/{id}/changes", f"/sessions/{sid}/changes?path=blob.bin", expected=200)
        call("GET", "/sessions/{id}/changes", f"/sessions/{sid}/changes?path=unchanged", expected=404)
        for path, expected in [("", 200), ("README", 200), ("blob.bin", 200), ("fifo", 200), ("sub", 200),
                               ("outside", 403), ("../x", 403), (".git", 403), ("nope", 404)]:
            call("GET", "/sessions/{id}/files", f"/sessions/{sid}/files?path={path}", expected=expected)
        # Stop, stop again, restart.
        call("POST", "/sessions/{id}/stop", f"/sessions/{sid}/stop", expected=200)
        call("POST", "/sessions/{id}/stop", f"/sessions/{sid}/stop", expected=409)
        call("POST", "/sessions/{id}/prompt", f"/sessions/{sid}/prompt", {"message": "hi"}, expected=409)
        call("POST", "/sessions/{id}/abort", f"/sessions/{sid}/abort", expected=409)
        call("POST", "/sessions/{id}/restart", f"/sessions/{sid}/restart", expected=200)
        call("POST", "/sessions/{id}/restart", f"/sessions/{sid}/restart", expected=409)
        # An agent that ignores SIGTERM is still stopping right after its stop: 409 with Retry-After.
        stubborn = call("POST", "/sessions", "/sessions", {"instanceId": "stubborn"}, expected=201).json["id"]
        client = WSClient(stack.ws_url(stubborn), additional_headers=auth)
        try:
            agent_pid(client)  # it answers: SIGTERM is ignored by now
        finally:
            client.close()
        call("POST", "/sessions/{id}/stop", f"/sessions/{stubborn}/stop", expected=200)
        r = call("POST", "/sessions/{id}/restart", f"/sessions/{stubborn}/restart", expected=409)
        assert r.json.get("retryAfter") == 1 and r.headers.get("retry-after") == "1", r
        # A worktree session's delete says what became of its worktree.
        wt = call("POST", "/sessions", "/sessions", {"worktree": {"repo": str(repo), "branch": "openapi/x"}}, expected=201).json
        assert wt["worktree"]["branch"] == "openapi/x", wt
        call("DELETE", "/sessions/{id}", f"/sessions/{wt['id']}?worktree=remove", expected=200)
        call("DELETE", "/sessions/{id}", f"/sessions/{wt['id']}", expected=404)
        call("DELETE", "/sessions/{id}", f"/sessions/{sid}", expected=204)
        call("GET", "/sessions/{id}", f"/sessions/{sid}", expected=404)
    finally:
        for sid in made:
            stack.delete(f"/sessions/{sid}", headers=auth)


def test_push_answers_are_as_documented(token_stack, token):
    stack, auth = token_stack, bearer(token)
    endpoint = f"http://127.0.0.1:{closed_port()}/push/openapi"
    subscription = {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": p256_point(), "auth": b64url(os.urandom(16))}}
    for method, template, path, body, expected in [
        ("GET", "/push/vapid", "/push/vapid", None, 200),
        ("POST", "/push/subscriptions", "/push/subscriptions", subscription, 201),
        ("POST", "/push/subscriptions", "/push/subscriptions", {**subscription, "endpoint": "http://example.com/"}, 400),
        ("POST", "/push/test", "/push/test", None, 200),
        ("DELETE", "/push/subscriptions", "/push/subscriptions", {"endpoint": endpoint}, 204),
        ("DELETE", "/push/subscriptions", "/push/subscriptions", {}, 400),
        ("POST", "/push/tokens", "/push/tokens", {"token": "ExponentPushToken[openapi]"}, 201),
        ("POST", "/push/tokens", "/push/tokens", {"token": "nope"}, 400),
        ("GET", "/push/tokens", "/push/tokens", None, 200),
        ("DELETE", "/push/tokens/{token}", "/push/tokens/ExponentPushToken%5Bopenapi%5D", None, 204),
        ("DELETE", "/push/tokens/{token}", "/push/tokens/" + "x" * 257, None, 404),
    ]:
        r = stack.request(method, path, body, headers=auth)
        assert r.status == expected, (method, path, r)
        assert_conforms(r, method, template)


def test_head_is_answered_wherever_get_is(open_stack):
    for path in ("/healthz", "/instances", "/sessions", "/auth/device"):
        get, head = open_stack.get(path), open_stack.request("HEAD", path)
        assert (head.status, head.text) == (get.status, ""), (path, head)
        assert head.headers["content-type"] == get.headers["content-type"]


def test_spawn_failure_push_off_host_down_and_api_down_answer_as_documented(stack_factory):
    stack = stack_factory(env={"AMARRE_AUTH": "none", "AMARRE_PUSH": "0"}, instances=[INSTANCES[0], MISSING])
    r = stack.post("/sessions", {"instanceId": "missing"})
    assert (r.status, r.json["error"]) == (500, "spawn_failed"), r
    assert_conforms(r, "POST", "/sessions")
    for method, template, path in [("GET", "/push/vapid", "/push/vapid"), ("POST", "/push/test", "/push/test"),
                                   ("DELETE", "/push/tokens/{token}", "/push/tokens/ExpoPushToken%5Bx%5D")]:
        r = stack.request(method, path)
        assert (r.status, r.json["error"]) == (503, "push_disabled"), r
        assert_conforms(r, method, template)
    stack.kill_host()
    r = stack.get("/healthz")
    assert (r.status, r.json) == (503, {"ok": False, "host": "down"}), r
    assert_conforms(r, "GET", "/healthz")
    r = stack.get("/sessions")
    assert (r.status, r.json["error"]) == (503, "host_unavailable"), r
    assert_conforms(r, "GET", "/sessions")
    stack.procs["api"].kill()
    stack.procs["api"].wait(timeout=10)
    r = stack.get("/instances")
    assert (r.status, r.json) == (502, {"error": "api_unavailable"}), r
    assert_conforms(r, "GET", "/instances")


# -- schemathesis -----------------------------------------------------------------------------------

def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(config: dict) -> str:
    """Top-level scalars and inline values, `[tables]` one level deep, `[[arrays of tables]]`."""
    lines, tables, arrays = [], [], []
    for k, v in config.items():
        if isinstance(v, dict) and all(not isinstance(x, dict) or k in ("parameters", "dictionaries") for x in v.values()):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{k} = {toml_value(v)}")
    for k, v in tables:
        lines.append(f"\n[{k}]")
        lines += [f"{json.dumps(key)} = {toml_value(x)}" for key, x in v.items()]
    for k, items in arrays:
        for item in items:
            lines.append(f"\n[[{k}]]")
            lines += [f"{json.dumps(key)} = {toml_value(x)}" for key, x in item.items()]
    return "\n".join(lines) + "\n"


def p256_point() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pairing_codes(stack: Stack, n: int) -> list[str]:
    codes = []
    for i in range(n):
        out = stack.cli("pair", "--name", f"schemathesis {i}").stdout
        codes.append(re.search(r"#pair=([a-z2-7]{26})\b", out).group(1))
    return codes


def prepare(stack: Stack, repo: Path, mode: str) -> dict:
    """Things on the stack for schemathesis to find; returns the run's configuration."""
    token = stack.make_token("schemathesis") if mode == "token" else None
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    ws_headers = {"additional_headers": auth} if token else {}

    def create(**body):
        r = stack.post("/sessions", body, headers=auth)
        assert r.status == 201, r
        return r.json["id"]

    main = create(name="main", cwd=str(repo))
    victim = create(name="victim", cwd=str(repo))
    # Open questions: the echo agent writes back what a client sends, so the host sees the agent ask.
    client = WSClient(stack.ws_url(main), **ws_headers)
    try:
        for i in (1, 2, 3):
            client.send({"type": "extension_ui_request", "id": f"q{i}", "method": "confirm", "title": f"Run {i}?"})
        wait_for(lambda: len(stack.get(f"/sessions/{main}", headers=auth).json.get("pendingRequests", [])) == 3,
                 what="three open questions")
        client.send({"type": "message_end", "message": {"role": "assistant", "content": [{"type": "text", "text": "hello searchable world"}]}})
        client.recv_until("message_end")
    finally:
        client.close()

    dead = f"http://127.0.0.1:{closed_port()}/push"
    config: dict[str, Any] = {
        "seed": SEED,
        "workers": 1,
        "request-timeout": 30,
        "generation": {"max-examples": MAX_EXAMPLES, "allow-x00": False, "database": "none", "deterministic": True},
        "phases": {
            "coverage": {"unexpected-methods": UNEXPECTED_METHODS},
            "stateful": {"max-steps": STATEFUL_MAX_STEPS},
        },
        "checks": {
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "unsupported_method": {"enabled": True},
            "ignored_auth": {"enabled": mode == "token"},
            "negative_data_rejection": {"enabled": False},
            "positive_data_acceptance": {"enabled": False},
            "missing_required_header": {"enabled": False},
            "use_after_free": {"enabled": False},
            "ensure_resource_availability": {"enabled": False},
            "object_level_authorization": {"enabled": False},
            "allow_header_conformance": {"enabled": True},
        },
        "dictionaries": {
            "sessions": {"values": [main]},
            "victims": {"values": [victim]},
            "requests": {"values": ["q1", "q2", "q3"]},
            "instances": {"values": ["default", "cat", "nope"]},
            "dirs": {"values": [str(repo), str(repo / "sub"), "/nonexistent/dir"]},
            "repos": {"values": [str(repo)]},
            "files": {"values": ["", "README", "sub", "sub/notes.txt", "blob.bin", "outside", "fifo", "../x", ".git"]},
            "changed": {"values": ["README", "new.txt", "blob.bin", "sub/notes.txt"]},
            "queries": {"values": ["hello", "\"searchable world\"", "sea*", "\"open"]},
            "endpoints": {"values": [dead]},
            "p256dh": {"values": [p256_point()]},
            "secrets": {"values": [b64url(os.urandom(16))]},
            "expo": {"values": ["ExponentPushToken[schemathesis]", "ExpoPushToken[abc]"]},
        },
        "parameters": {
            "path.id": {"dictionary": "sessions", "probability": 0.7},
            "path.requestId": {"dictionary": "requests", "probability": 0.7},
            "path.token": {"dictionary": "expo", "probability": 0.5},
            "query.path": {"dictionary": "files", "probability": 0.7},
            "query.q": {"dictionary": "queries", "probability": 0.6},
            "query.session": {"dictionary": "sessions", "probability": 0.5},
            "body.instanceId": {"dictionary": "instances", "probability": 0.7},
            "body.cwd": {"dictionary": "dirs", "probability": 0.7},
            "body.worktree.repo": {"dictionary": "repos", "probability": 0.7},
            "body.endpoint": {"dictionary": "endpoints", "probability": 0.7},
            "body.keys.p256dh": {"dictionary": "p256dh", "probability": 0.8},
            "body.keys.auth": {"dictionary": "secrets", "probability": 0.8},
            "body.token": {"dictionary": "expo", "probability": 0.7},
        },
        "operations": [
            # The throwaway session is the one stopped, restarted and deleted. The coverage phase
            # takes only the project-wide binding (the main session): not for these.
            {"include-operation-id": ["stopSession", "restartSession", "deleteSession"],
             "parameters": {"path.id": {"dictionary": "victims", "probability": 0.7}},
             "phases": {"coverage": {"enabled": False}}},
            {"include-operation-id": "getSessionChanges",
             "parameters": {"query.path": {"dictionary": "changed", "probability": 0.6}}},
            # A static file: nginx answers other methods itself (405 without `Allow`).
            {"include-operation-id": "getOpenAPI", "checks": {"unsupported_method": {"enabled": False}}},
        ],
    }
    if token:
        config["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
        config["dictionaries"]["codes"] = {"values": pairing_codes(stack, 3)}
        config["parameters"]["body.code"] = {"dictionary": "codes", "probability": 0.5}
        # Logout would revoke the run's token: its 204 is checked on its own (test_pairing_logout_…).
        config["operations"].append({"include-operation-id": "logout", "enabled": False})
    return config


def run_schemathesis(stack: Stack, config: dict, work: Path, name: str) -> subprocess.CompletedProcess:
    """Runs the CLI on the document with `config`; its output is kept in test-output/e2e/<name>/."""
    config_path = work / "schemathesis.toml"
    config_path.write_text(to_toml(config))
    os.chmod(config_path, 0o600)  # it holds a bearer token
    started = time.monotonic()
    r = subprocess.run(
        ["schemathesis", "--config-file", str(config_path), "--no-color", "run", str(DOC_PATH),
         "--url", f"{stack.origin}/", "--report", "junit", "--report-dir", str(work)],
        cwd=work, capture_output=True, text=True, timeout=600)
    out = OUTPUT_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "schemathesis.log").write_text(r.stdout + r.stderr)
    for report in work.glob("*.xml"):
        (out / report.name).write_bytes(report.read_bytes())
    print(f"schemathesis {name}: exit {r.returncode} in {time.monotonic() - started:.1f}s")
    return r


def failures_of(output: str) -> str:
    """The FAILURES section of schemathesis's output, and its summary."""
    start = output.find("FAILURES")
    return output[start - 40:] if start >= 0 else output[-6000:]


@pytest.mark.parametrize("mode", ["none", "token"])
def test_schemathesis_finds_no_server_error_and_no_departure_from_the_document(request, tmp_path, repo, mode):
    stack = request.getfixturevalue("open_stack" if mode == "none" else "token_stack")
    config = prepare(stack, repo, mode)
    r = run_schemathesis(stack, config, tmp_path, f"schemathesis-{mode}")
    assert r.returncode == 0, failures_of(r.stdout + r.stderr)
    # Every process is still there: nothing it sent killed the stack.
    for name, p in stack.procs.items():
        assert p.poll() is None, f"{name} exited with {p.returncode}"
    assert stack.get("/healthz").status == 200
