import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, closeAction } from "../backoff.js";
import { Connection } from "../connection.js";

test("backoff: 1, 2, 4, 8, 16, then 30 s at most", () => {
  const b = new Backoff();
  assert.deepEqual(Array.from({ length: 8 }, () => b.next()), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test("backoff resets to 1 s after a success", () => {
  const b = new Backoff();
  b.next(); b.next(); b.next();
  assert.equal(b.peek(), 8000);
  b.reset();
  assert.equal(b.next(), 1000);
});

test("backoff never overflows after many attempts", () => {
  const b = new Backoff();
  for (let i = 0; i < 10_000; i++) b.next();
  assert.equal(b.next(), 30000);
});

test("close codes: 1000 ends, 1011 asks, everything else retries", () => {
  assert.equal(closeAction(1000), "ended");
  assert.equal(closeAction(1011), "crashed");
  for (const code of [1001, 1005, 1006, 1008, 1012, 1013, 4000]) assert.equal(closeAction(code), "retry", String(code));
});

// --- Connection with a fake WebSocket and fake timers -------------------------------------------

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  open() { this.readyState = 1; this.onopen?.({}); }
  message(obj) { this.onmessage?.({ data: typeof obj === "string" ? obj : JSON.stringify(obj) }); }
  serverClose(code) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
  send(data) { this.sent.push(data); }
  close(code) { this.closedWith = code; this.readyState = 3; }
}

function fakeTimers() {
  const timers = [];
  return {
    timers,
    setTimeout(fn, ms) { timers.push({ fn, ms }); return timers.length; },
    clearTimeout(id) { if (timers[id - 1]) timers[id - 1].fn = null; },
    fire() { const t = timers.filter((x) => x.fn).pop(); const fn = t.fn; t.fn = null; fn(); return t.ms; },
    pending() { return timers.filter((x) => x.fn).map((x) => x.ms); },
  };
}

function setup() {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const c = new Connection({
    sessionId: "0123456789ab", location: { href: "https://h.example/#/s/0123456789ab" },
    WebSocketImpl: FakeSocket, timers,
  });
  const records = [];
  const states = [];
  c.addEventListener("record", (e) => records.push(e.detail.record));
  c.addEventListener("state", (e) => states.push(e.detail.state));
  return { c, timers, records, states };
}

test("connects to wss on https, same host, and passes records on", () => {
  const { c, records } = setup();
  c.open();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url, "wss://h.example/sessions/0123456789ab");
  ws.open();
  ws.message({ type: "amarre.hello", seq: 3 });
  ws.message('{"type":"a"}\n{"type":"b"}');
  assert.deepEqual(records.map((r) => r.type), ["amarre.hello", "a", "b"]);
  assert.equal(c.send({ type: "prompt", message: "x" }), true);
  assert.deepEqual(JSON.parse(ws.sent[0]), { type: "prompt", message: "x" });
});

test("reconnects with backoff after a network drop, resuming after the last seq", () => {
  const { c, timers, states } = setup();
  c.open();
  FakeSocket.all[0].open();
  FakeSocket.all[0].message({ type: "amarre.hello" });
  c.noteSeq(41);
  c.noteSeq(42);
  FakeSocket.all[0].serverClose(1006);
  assert.deepEqual(timers.pending(), [1000]);
  assert.equal(states.at(-1), "waiting");
  assert.equal(c.send({ type: "x" }), false, "nothing is sent while disconnected");
  timers.fire();
  assert.equal(FakeSocket.all[1].url, "wss://h.example/sessions/0123456789ab?since=42");
  FakeSocket.all[1].serverClose(1006); // refused before opening
  assert.deepEqual(timers.pending(), [2000]);
  timers.fire();
  FakeSocket.all[2].serverClose(1006);
  assert.deepEqual(timers.pending(), [4000]);
  timers.fire();
  FakeSocket.all[3].open();
  FakeSocket.all[3].message({ type: "amarre.hello" });
  FakeSocket.all[3].serverClose(1013);
  assert.deepEqual(timers.pending(), [1000], "a session answered: the delay is back to 1 s");
});

test("a normal close (session deleted) is not retried", () => {
  const { c, timers, states } = setup();
  c.open();
  FakeSocket.all[0].open();
  FakeSocket.all[0].serverClose(1000);
  assert.deepEqual(timers.pending(), []);
  assert.equal(states.at(-1), "closed");
});

test("a crash close is not retried by the connection itself", () => {
  const { c, timers } = setup();
  const closes = [];
  c.addEventListener("close", (e) => closes.push(e.detail));
  c.open();
  FakeSocket.all[0].open();
  FakeSocket.all[0].message({ type: "amarre.session_event", event: "crashed", exitCode: 3 });
  FakeSocket.all[0].serverClose(1011);
  assert.deepEqual(timers.pending(), []);
  assert.equal(closes[0].action, "crashed");
});

test("drop() behaves like a network failure and reconnects", () => {
  const { c, timers } = setup();
  c.open();
  FakeSocket.all[0].open();
  c.drop();
  assert.equal(FakeSocket.all[0].closedWith, 4000);
  assert.deepEqual(timers.pending(), [1000]);
  c.retryNow();
  assert.equal(FakeSocket.all.length, 2);
  assert.deepEqual(timers.pending(), []);
});

test("close() stops for good", () => {
  const { c, timers } = setup();
  c.open();
  FakeSocket.all[0].open();
  c.close();
  assert.equal(FakeSocket.all[0].closedWith, 1000);
  assert.deepEqual(timers.pending(), []);
  assert.equal(c.state, "closed");
});

test("a frame that is not JSON is passed on as unparsable, not thrown", () => {
  const { c, records } = setup();
  c.open();
  FakeSocket.all[0].open();
  FakeSocket.all[0].message("not json");
  assert.deepEqual(records, [{ type: "amarre.unparsable", line: "not json" }]);
});

// --- presence (issue 10) ---------------------------------------------------------------------------

class FakeDoc extends EventTarget {
  constructor() { super(); this.visibilityState = "visible"; }
  set(state) { this.visibilityState = state; this.dispatchEvent(new Event("visibilitychange")); }
}

function withDoc() {
  FakeSocket.all = [];
  const doc = new FakeDoc();
  const timers = fakeTimers();
  const c = new Connection({
    sessionId: "0123456789ab", location: { href: "https://h.example/#/s/0123456789ab" },
    WebSocketImpl: FakeSocket, timers, doc,
  });
  const sent = (i) => FakeSocket.all[i].sent.map((s) => JSON.parse(s));
  return { c, doc, timers, sent };
}

test("presence is the first frame after every open, then follows visibilitychange", () => {
  const { c, doc, sent } = withDoc();
  c.addEventListener("state", (e) => { if (e.detail.state === "open") c.send({ type: "get_state", id: "g" }); });
  c.open();
  FakeSocket.all[0].open();
  assert.deepEqual(sent(0), [{ type: "amarre.presence", visible: true }, { type: "get_state", id: "g" }]);
  doc.set("hidden");
  doc.set("visible");
  assert.deepEqual(sent(0).slice(2), [{ type: "amarre.presence", visible: false }, { type: "amarre.presence", visible: true }]);
});

test("a reconnect sends the presence of that moment; nothing is queued while down", () => {
  const { c, doc, timers, sent } = withDoc();
  c.open();
  FakeSocket.all[0].open();
  FakeSocket.all[0].serverClose(1006);
  doc.set("hidden"); // while waiting: nothing to send it on
  timers.fire();
  FakeSocket.all[1].open();
  assert.deepEqual(sent(1), [{ type: "amarre.presence", visible: false }]);
});

test("after close() visibility changes send nothing", () => {
  const { c, doc, sent } = withDoc();
  c.open();
  FakeSocket.all[0].open();
  c.close();
  doc.set("hidden");
  assert.deepEqual(sent(0), [{ type: "amarre.presence", visible: true }]);
});

test("without a document (doc: null) no presence is sent", () => {
  FakeSocket.all = [];
  const c = new Connection({ sessionId: "0123456789ab", location: { href: "http://h/" }, WebSocketImpl: FakeSocket, timers: fakeTimers(), doc: null });
  c.open();
  FakeSocket.all[0].open();
  assert.deepEqual(FakeSocket.all[0].sent, []);
});

test("reopen(): connects again at once from where it was, with ?readonly=1 when asked; nothing once closed", () => {
  FakeSocket.all = [];
  const c = new Connection({ sessionId: "abc", location: { href: "http://h/" }, WebSocketImpl: FakeSocket, timers: fakeTimers(), doc: null });
  c.open();
  const first = FakeSocket.all[0];
  first.open();
  c.noteSeq(12);
  c.readonly = true;
  c.reopen();
  assert.equal(first.closedWith, 1000);
  assert.equal(first.onclose, null, "the old socket's close is not reported");
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(FakeSocket.all[1].url, "ws://h/sessions/abc?since=12&readonly=1");
  c.readonly = false;
  c.since = null;
  c.reopen();
  assert.equal(FakeSocket.all[2].url, "ws://h/sessions/abc");
  c.close();
  c.reopen();
  assert.equal(FakeSocket.all.length, 3);
});
