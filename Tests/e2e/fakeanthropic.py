"""A scripted fake of the Anthropic Messages API, for running the real `claude` CLI in tests.

    fake = FakeAnthropic().start()          # loopback, ephemeral port; fake.url for ANTHROPIC_BASE_URL
    fake.script(Reply(Text("Hello")))       # the next conversation call gets this answer
    ...
    call = fake.wait_call(lambda c: c.tool_results(), what="a tool_result")
    fake.stop()

Conversation calls (`POST /v1/messages` with `stream: true` and tools: what claude's agent
loop sends) are answered from the script: a FIFO of answers (`script(...)`), each a `Reply`
(streamed as `message_start`, `content_block_start/delta/stop` per block, `message_delta`
with the stop reason, `message_stop`), a `Hold` (streams part of a reply, then waits on an
event: for aborts mid-stream), an `ApiError` (an HTTP error answer), or a function of the
request that returns one of those. With the script empty the `fallback` answers (default: a
text saying so, so a test fails on its assertions rather than hanging).

Every other call is answered by `aux` (default: a short text, as JSON for `stream: false`,
streamed otherwise): claude's side calls (titles, bash prefix checks, ...) if it makes any.
`POST /v1/messages/count_tokens` gets `{"input_tokens": N}`, `GET /v1/models` a one-model
list, anything else a 404 in Anthropic's error shape. Every request is recorded (`calls`),
in arrival order, with its parsed body.
"""
from __future__ import annotations

import itertools
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


# -- what a reply is made of ---------------------------------------------------------------

def _pieces(text: str, chunks: int) -> list[str]:
    """`text` cut into `chunks` pieces (fewer when it is shorter), none empty unless text is."""
    if not text:
        return [""]
    n = max(1, min(chunks, len(text)))
    size = -(-len(text) // n)
    return [text[i:i + size] for i in range(0, len(text), size)]


@dataclass
class Text:
    text: str
    chunks: int = 3

    def start(self) -> dict:
        return {"type": "text", "text": ""}

    def deltas(self) -> list[dict]:
        return [{"type": "text_delta", "text": p} for p in _pieces(self.text, self.chunks)]


@dataclass
class Thinking:
    thinking: str
    chunks: int = 2
    signature: str = "fake-signature"

    def start(self) -> dict:
        return {"type": "thinking", "thinking": "", "signature": ""}

    def deltas(self) -> list[dict]:
        out = [{"type": "thinking_delta", "thinking": p} for p in _pieces(self.thinking, self.chunks)]
        return out + [{"type": "signature_delta", "signature": self.signature}]


_tool_ids = itertools.count(1)


@dataclass
class ToolUse:
    name: str
    input: dict
    id: str = ""
    chunks: int = 2

    def __post_init__(self) -> None:
        if not self.id:
            self.id = "toolu_fake_%04d" % next(_tool_ids)

    def start(self) -> dict:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": {}}

    def deltas(self) -> list[dict]:
        return [{"type": "input_json_delta", "partial_json": p}
                for p in _pieces(json.dumps(self.input), self.chunks)]


Block = Union[Text, Thinking, ToolUse]


@dataclass
class Reply:
    """One assistant message. `stop_reason` defaults to `tool_use` when a block is a tool call,
    else `end_turn`."""
    blocks: list
    stop_reason: str | None = None
    input_tokens: int = 12
    output_tokens: int = 7

    def __init__(self, *blocks: Block, stop_reason: str | None = None, input_tokens: int = 12,
                 output_tokens: int = 7):
        self.blocks = list(blocks)
        self.stop_reason = stop_reason
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    @property
    def stop(self) -> str:
        if self.stop_reason:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"

    def content(self) -> list[dict]:
        out = []
        for b in self.blocks:
            if isinstance(b, Text):
                out.append({"type": "text", "text": b.text})
            elif isinstance(b, Thinking):
                out.append({"type": "thinking", "thinking": b.thinking, "signature": b.signature})
            else:
                out.append({"type": "tool_use", "id": b.id, "name": b.name, "input": b.input})
        return out


class Hold:
    """Streams `message_start` and the pieces of `before` as a text block, then waits until
    `release()` (or the end of the fake); then finishes with `after`: when its first block is
    a Text, that text continues the held block; its other blocks follow. `started` is set once
    the held part is written; `disconnected` once the client closed the connection while held
    (claude aborting)."""

    def __init__(self, before: str = "Working on it", after: Reply | None = None, chunks: int = 2):
        self.before = before
        self.chunks = chunks
        self.after = after or Reply(Text(" ...done."))
        self.started = threading.Event()
        self.released = threading.Event()
        self.disconnected = threading.Event()

    def release(self) -> None:
        self.released.set()

    def parts(self) -> tuple[Text | None, list]:
        """The Text that continues the held block (if any) and the blocks after it."""
        blocks = list(self.after.blocks)
        if blocks and isinstance(blocks[0], Text):
            return blocks[0], blocks[1:]
        return None, blocks

    def as_reply(self) -> Reply:
        """The whole answer as one Reply (for a call that is not streamed)."""
        cont, rest = self.parts()
        return Reply(Text(self.before + (cont.text if cont else "")), *rest,
                     stop_reason=self.after.stop_reason)


@dataclass
class ApiError:
    status: int = 529
    type: str = "overloaded_error"
    message: str = "Overloaded (fake)"


Answer = Union[Reply, Hold, ApiError]
Responder = Callable[["Call"], Answer]


# -- what was asked ------------------------------------------------------------------------

@dataclass
class Call:
    """One request the fake received."""
    n: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    kind: str  # "conversation", "aux", "count_tokens", "models", "other"
    answer: Any = None
    aborted: bool = False  # the client went away before the answer was complete
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    def blocks(self, role: str | None = None) -> list[dict]:
        """Every content block of every message (of `role`), in order; string contents as text blocks."""
        out = []
        for m in self.messages:
            if role is not None and m.get("role") != role:
                continue
            c = m.get("content")
            if isinstance(c, str):
                out.append({"type": "text", "text": c})
            elif isinstance(c, list):
                out += [b for b in c if isinstance(b, dict)]
        return out

    def last_user_blocks(self) -> list[dict]:
        users = [m for m in self.messages if m.get("role") == "user"]
        if not users:
            return []
        c = users[-1].get("content")
        return [{"type": "text", "text": c}] if isinstance(c, str) else [b for b in c or [] if isinstance(b, dict)]

    def user_texts(self) -> list[str]:
        return [b.get("text", "") for b in self.blocks("user") if b.get("type") == "text"]

    def tool_results(self) -> list[dict]:
        return [b for b in self.blocks("user") if b.get("type") == "tool_result"]

    def tool_uses(self) -> list[dict]:
        return [b for b in self.blocks("assistant") if b.get("type") == "tool_use"]

    def images(self) -> list[dict]:
        return [b for b in self.blocks("user") if b.get("type") == "image"]

    def text(self) -> str:
        """Everything the conversation says (user and assistant texts, tool results), joined."""
        parts = []
        for b in self.blocks():
            if b.get("type") == "text":
                parts.append(b.get("text", ""))
            elif b.get("type") == "tool_result":
                c = b.get("content")
                parts.append(c if isinstance(c, str) else json.dumps(c))
        return "\n".join(parts)

    def mentions(self, needle: str) -> bool:
        return needle in self.text()

    def __repr__(self) -> str:
        return f"<Call #{self.n} {self.method} {self.path} {self.kind} model={self.model}>"


def tool_result_text(block: dict) -> str:
    c = block.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "".join(x.get("text", "") for x in c if isinstance(x, dict))
    return ""


# -- the server ----------------------------------------------------------------------------

class FakeAnthropic:
    def __init__(self, fallback: Responder | None = None, aux: Responder | None = None):
        self.calls: list[Call] = []
        self._script: list[Answer | Responder] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.fallback = fallback or (lambda call: Reply(Text("(fakeanthropic: nothing scripted)")))
        self.aux = aux or (lambda call: Reply(Text("OK")))
        self.holds: list[Hold] = []
        self.stopping = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> "FakeAnthropic":
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fakeanthropic", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for h in self.holds:
            h.release()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # the script

    def script(self, *answers: Answer | Responder) -> None:
        """Appends answers for the next conversation calls, in order."""
        with self._cond:
            self._script.extend(answers)

    def reset(self) -> None:
        """Forgets the script and the recorded calls, releases every hold (between tests)."""
        with self._cond:
            self._script.clear()
            for h in self.holds:
                h.release()
            self.holds.clear()
            self.calls.clear()

    def pending(self) -> int:
        with self._cond:
            return len(self._script)

    def _next_answer(self, call: Call) -> Answer:
        with self._cond:
            item = self._script.pop(0) if self._script else None
        if item is None:
            item = self.fallback
        answer = item(call) if callable(item) else item
        if isinstance(answer, Hold):
            with self._cond:
                self.holds.append(answer)
        return answer

    # recording

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def conversation(self) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.kind == "conversation"]

    def wait_call(self, predicate: Callable[[Call], Any] = lambda c: True, *, kind: str | None = "conversation",
                  after: int = 0, timeout: float = 20.0, what: str = "a call", finished: bool = False) -> Call:
        """The first recorded call numbered above `after` (of `kind`, None: any) that matches;
        waits for it with a deadline. `finished`: also wait until its answer was written."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for c in self.calls:
                    if c.n > after and (kind is None or c.kind == kind) and predicate(c):
                        found = c
                        break
                else:
                    found = None
                if found is not None:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.n, c.kind, c.path) for c in self.calls[-10:]]
                    raise AssertionError(f"fakeanthropic: no {what} within {timeout}s (calls: {seen})")
                self._cond.wait(remaining)
        if finished:
            assert found.finished.wait(max(0.0, deadline - time.monotonic())), f"{what} never finished"
        return found

    def last_n(self) -> int:
        """The number of the last call received (0: none): pass it as `after`."""
        with self._cond:
            return self.calls[-1].n if self.calls else 0


def is_conversation(method: str, path: str, body: Any) -> bool:
    """claude's agent loop: a streamed Messages call that offers tools."""
    return (method == "POST" and path.split("?")[0] == "/v1/messages" and isinstance(body, dict)
            and body.get("stream") is True and bool(body.get("tools")))


class _Disconnected(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        path = self.path.split("?")[0]
        if is_conversation(self.command, self.path, body):
            kind = "conversation"
        elif self.command == "POST" and path == "/v1/messages":
            kind = "aux"
        elif path == "/v1/messages/count_tokens":
            kind = "count_tokens"
        elif path.startswith("/v1/models"):
            kind = "models"
        else:
            kind = "other"
        fake = self.fake
        call = Call(next(fake._ids), self.command, self.path, dict(self.headers), body, kind)
        fake._record(call)
        try:
            if kind == "conversation":
                answer = fake._next_answer(call)
            elif kind == "aux":
                answer = fake.aux(call)
            elif kind == "count_tokens":
                answer = {"input_tokens": max(1, len(raw) // 4)}
            elif kind == "models":
                answer = {"data": [{"type": "model", "id": "claude-fake-1", "display_name": "Claude Fake",
                                    "created_at": "2025-01-01T00:00:00Z"}],
                          "has_more": False, "first_id": "claude-fake-1", "last_id": "claude-fake-1"}
            else:
                answer = ApiError(404, "not_found_error", f"fakeanthropic: no route {self.command} {path}")
            call.answer = answer
            self._answer(call, answer)
        except (_Disconnected, BrokenPipeError, ConnectionResetError):
            call.aborted = True
            self.close_connection = True
        finally:
            call.finished.set()
            fake._changed()

    # answers

    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake_%d" % id(obj))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _answer(self, call: Call, answer: Any) -> None:
        if isinstance(answer, ApiError):
            self._json(answer.status, {"type": "error", "error": {"type": answer.type, "message": answer.message}})
            return
        if not isinstance(answer, (Reply, Hold)):
            self._json(200, answer)
            return
        model = call.model or "claude-fake-1"
        message_id = "msg_fake_%04d" % call.n
        streamed = isinstance(call.body, dict) and call.body.get("stream") is True
        if not streamed:
            reply = answer if isinstance(answer, Reply) else answer.as_reply()
            self._json(200, {"id": message_id, "type": "message", "role": "assistant", "model": model,
                             "content": reply.content(), "stop_reason": reply.stop, "stop_sequence": None,
                             "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", "req_fake_%04d" % call.n)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        reply = answer if isinstance(answer, Reply) else answer.as_reply()
        blocks = list(reply.blocks)
        self._event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
        index = 0
        if isinstance(answer, Hold):
            self._event("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}})
            for piece in _pieces(answer.before, answer.chunks):
                self._event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "text_delta", "text": piece}})
            answer.started.set()
            self.fake._changed()
            self._hold(answer)
            cont, blocks = answer.parts()
            for delta in cont.deltas() if cont else []:
                self._event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
            self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
            index = 1
        for block in blocks:
            self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                "content_block": block.start()})
            for delta in block.deltas():
                self._event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        self._event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": reply.stop, "stop_sequence": None},
                                      "usage": {"output_tokens": reply.output_tokens}})
        self._event("message_stop", {"type": "message_stop"})

    def _event(self, name: str, data: dict) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _hold(self, hold: Hold) -> None:
        """Waits for the release; notices the client closing the connection meanwhile."""
        sock: socket.socket = self.connection
        while not hold.released.is_set() and not self.fake.stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                try:
                    data = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    hold.disconnected.set()
                    self.fake._changed()
                    raise _Disconnected()
                # The client sent something (it should not): ignore it and keep holding.
                hold.released.wait(0.05)
