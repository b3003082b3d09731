import { test } from "node:test";
import assert from "node:assert/strict";
import { DraftStore, browserStorage, enterSends, setEnterSends } from "../drafts.js";

function memoryStorage({ quota = Infinity } = {}) {
  const map = new Map();
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => {
      const used = [...map.entries()].filter(([key]) => key !== k).reduce((n, [key, val]) => n + key.length + val.length, 0);
      if (used + k.length + String(v).length > quota) throw new Error("QuotaExceededError");
      map.set(k, String(v));
    },
    removeItem: (k) => map.delete(k),
  };
}

test("a draft per session survives (a new store on the same storage: a reload)", () => {
  const storage = memoryStorage();
  new DraftStore({ storage }).save("s1", "half a thought");
  new DraftStore({ storage }).save("s2", "another");
  const after = new DraftStore({ storage });
  assert.equal(after.load("s1"), "half a thought");
  assert.equal(after.load("s2"), "another");
  assert.equal(after.load("s3"), "");
});

test("sent or emptied: the draft is gone", () => {
  const storage = memoryStorage();
  const d = new DraftStore({ storage });
  d.save("s1", "x");
  d.clear("s1");
  assert.equal(d.load("s1"), "");
  d.save("s1", "y");
  d.save("s1", "   ");
  assert.equal(d.load("s1"), "");
  assert.deepEqual(d.index(), []);
});

test("bounded: the oldest drafts go, and each is cut at the limit", () => {
  const storage = memoryStorage();
  const d = new DraftStore({ storage, maxDrafts: 3, maxChars: 10 });
  for (const id of ["a", "b", "c", "d"]) d.save(id, `draft ${id}`);
  assert.equal(d.load("a"), "", "the oldest went");
  assert.deepEqual(d.index(), ["b", "c", "d"]);
  d.save("b", "b again"); // written last: now the newest
  d.save("e", "e");
  assert.equal(d.load("c"), "");
  assert.equal(d.load("b"), "b again");
  d.save("f", "0123456789abcdef");
  assert.equal(d.load("f"), "0123456789");
  assert.ok(storage.map.size <= 4, "three drafts and the index");
});

test("storage full: older drafts make room", () => {
  const storage = memoryStorage({ quota: 120 });
  const d = new DraftStore({ storage });
  d.save("a", "x".repeat(40));
  d.save("b", "y".repeat(50));
  assert.equal(d.load("b"), "y".repeat(50));
  assert.equal(d.load("a"), "");
});

test("no storage, or storage that throws: nothing kept, nothing thrown", () => {
  const none = new DraftStore({ storage: null });
  none.save("s", "x");
  assert.equal(none.load("s"), "");
  const broken = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("denied"); }, removeItem() { throw new Error("denied"); } };
  const d = new DraftStore({ storage: broken });
  d.save("s", "x");
  d.clear("s");
  assert.equal(d.load("s"), "");
  assert.equal(browserStorage({ get localStorage() { throw new Error("SecurityError"); } }), null);
  assert.equal(browserStorage({ localStorage: broken }), null);
});

test("Enter: sends with a fine pointer, a newline with a coarse one, unless the device chose", () => {
  const win = (coarse) => ({ matchMedia: (q) => ({ matches: q === "(pointer: coarse)" ? coarse : !coarse }) });
  const storage = memoryStorage();
  assert.equal(enterSends({ storage, win: win(false) }), true, "desktop");
  assert.equal(enterSends({ storage, win: win(true) }), false, "phone");
  setEnterSends(true, storage);
  assert.equal(enterSends({ storage, win: win(true) }), true, "the phone's own choice");
  setEnterSends(false, storage);
  assert.equal(enterSends({ storage, win: win(false) }), false);
  assert.equal(enterSends({ storage: null, win: {} }), true, "no matchMedia: a keyboard is assumed");
});
