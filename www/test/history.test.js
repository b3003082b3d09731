import { test } from "node:test";
import assert from "node:assert/strict";
import { History } from "../history.js";
import { Transcript } from "../reducer.js";

/** A session log of `count` user messages (_seq 1…count) served like GET /sessions/<id>/events. */
function fakeApi(count, { maxPage = Infinity } = {}) {
  const log = Array.from({ length: count }, (_, i) => ({
    type: "message_end", message: { role: "user", content: `m${i + 1}`, timestamp: i + 1 }, _seq: i + 1,
  }));
  const calls = [];
  return {
    calls,
    log,
    async events(id, { before, after, limit }) {
      calls.push({ before, after, limit });
      const n = Math.min(limit, maxPage);
      if (after !== undefined) return log.filter((r) => r._seq > after).slice(0, n);
      const older = log.filter((r) => r._seq < before);
      return older.slice(Math.max(0, older.length - n));
    },
  };
}

const texts = (t) => t.items.map((i) => i.text);

test("opened at a record: the page ending with it, then the page after it", async () => {
  const api = fakeApi(500);
  const t = new Transcript();
  t.setTarget(250);
  const h = new History({ api, sessionId: "s", transcript: t });
  assert.equal(await h.around(250, { lastSeq: 500 }), true);
  assert.deepEqual(api.calls, [{ before: 251, after: undefined, limit: 100 }, { before: undefined, after: 250, limit: 100 }]);
  assert.equal(t.items.length, 200);
  assert.deepEqual([texts(t)[0], texts(t)[199]], ["m151", "m350"]);
  assert.equal(t.byKey.get(t.targetKey).text, "m250");
  assert.equal(h.oldest, 151);
  assert.equal(h.newest, 350);
  assert.equal(h.caughtUp, false);
  assert.equal(h.canLoadOlder, true);
  // Forwards to the end of the log, then backwards as usual.
  assert.equal(await h.newer(), 100);
  assert.equal(await h.newer(), 50);
  assert.equal(h.caughtUp, true);
  assert.equal(await h.newer(), 0);
  assert.equal(await h.older(), 150);
  assert.equal(h.exhausted, true);
  assert.deepEqual(t.items.map((i) => i.text), api.log.map((r) => r.message.content), "all of it, in order, once");
});

test("a record near the start or the end: exhausted and caught up at once", async () => {
  const api = fakeApi(30);
  const t = new Transcript();
  t.setTarget(5);
  const h = new History({ api, sessionId: "s", transcript: t });
  await h.around(5, { lastSeq: 30 });
  assert.equal(h.exhausted, true);
  assert.equal(h.caughtUp, true);
  assert.equal(t.items.length, 30);
  assert.equal(t.byKey.get(t.targetKey).text, "m5");
});

test("a short page below the session's last record was cut by size: paging goes on", async () => {
  const api = fakeApi(120, { maxPage: 40 });
  const h = new History({ api, sessionId: "s", transcript: new Transcript() });
  await h.around(10, { lastSeq: 120 });
  assert.equal(h.newest, 50);
  assert.equal(h.caughtUp, false);
  while (!h.caughtUp) await h.newer();
  assert.equal(h.newest, 120);
});

test("no event store: around() says so", async () => {
  const h = new History({ api: { events: async () => null }, sessionId: "s", transcript: new Transcript() });
  assert.equal(await h.around(3), false);
  assert.equal(h.mode, "none");
});
