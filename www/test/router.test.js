import { test } from "node:test";
import assert from "node:assert/strict";
import { changesHash, filesHash, parseRoute, Router, sessionHash } from "../router.js";

const CODE = "abcdefghijklmnopqrstuv2345";

test("existing routes are unchanged", () => {
  assert.deepEqual(parseRoute(""), { name: "list" });
  assert.deepEqual(parseRoute("#/"), { name: "list" });
  assert.deepEqual(parseRoute("#/s/0123456789ab"), { name: "session", id: "0123456789ab" });
  assert.deepEqual(parseRoute(sessionHash("abc_DEF-1")), { name: "session", id: "abc_DEF-1" });
  assert.deepEqual(parseRoute("#/s/not a valid id"), { name: "list" });
  assert.deepEqual(parseRoute("#/nonsense"), { name: "list" });
});

test("a #pair= link is a pairing route with the code normalised", () => {
  assert.deepEqual(parseRoute(`#pair=${CODE}`), { name: "pair", code: CODE });
  assert.deepEqual(parseRoute(`#pair=${CODE.toUpperCase().replace(/(.{4})/g, "$1-")}`), { name: "pair", code: CODE });
  assert.deepEqual(parseRoute("#/pair=abcd%20efgh"), { name: "pair", code: "abcdefgh" });
  assert.deepEqual(parseRoute("#pair="), { name: "pair", code: "" });
});

function fakeWindow(href) {
  const url = new URL(href);
  const listeners = {};
  const win = {
    location: { pathname: url.pathname, search: url.search, hash: url.hash },
    replaced: [],
    history: {
      state: { keep: 1 },
      replaceState(state, _title, next) {
        win.replaced.push({ state, url: next });
        win.location.hash = new URL(next, href).hash;
      },
    },
    addEventListener(name, fn) { listeners[name] = fn; },
  };
  return win;
}

test("the pairing code leaves the address bar without a history entry or a route event", () => {
  const win = fakeWindow(`https://box.example/amarre/?x=1#pair=${CODE}`);
  const router = new Router(win);
  const routes = [];
  router.addEventListener("route", (e) => routes.push(e.detail));
  router.start();
  assert.deepEqual(routes, [{ name: "pair", code: CODE }]);
  router.clearPairCode();
  assert.deepEqual(win.replaced, [{ state: { keep: 1 }, url: "/amarre/?x=1#/" }]);
  assert.equal(win.location.hash, "#/");
  assert.deepEqual(router.route, { name: "list" });
  assert.equal(routes.length, 1, "no route event");
});

test("clearing does nothing when there is no code in the address", () => {
  const win = fakeWindow("https://box.example/#/s/0123456789ab");
  const router = new Router(win);
  router.clearPairCode();
  assert.deepEqual(win.replaced, []);
  assert.equal(win.location.hash, "#/s/0123456789ab");
});

test("a session opened at a record: #/s/<id>?seq=<N>, with the query to mark", () => {
  assert.deepEqual(parseRoute("#/s/abc_DEF-1?seq=42"), { name: "session", id: "abc_DEF-1", seq: 42 });
  assert.deepEqual(parseRoute("#/s/abc?seq=0&q=migr*%20%22the%20fix%22"), { name: "session", id: "abc", seq: 0, q: 'migr* "the fix"' });
  assert.deepEqual(parseRoute("#/s/abc/?seq=7&q="), { name: "session", id: "abc", seq: 7 });
  // A target that is not a record number is left out; the session still opens.
  for (const bad of ["seq=", "seq=-1", "seq=1.5", "seq=1e3", "seq=abc", "seq=1234567890123456", "q=x"]) {
    assert.deepEqual(parseRoute(`#/s/abc?${bad}`), { name: "session", id: "abc" }, bad);
  }
  assert.deepEqual(parseRoute("#/s/not valid?seq=1"), { name: "list" });
});

test("record targets format and parse back", () => {
  assert.equal(sessionHash("abc"), "#/s/abc");
  assert.equal(sessionHash("abc", { seq: 42 }), "#/s/abc?seq=42");
  assert.equal(sessionHash("abc", { seq: 42, q: "  " }), "#/s/abc?seq=42");
  assert.equal(sessionHash("abc", { seq: -1, q: "x" }), "#/s/abc", "no record, no query");
  const q = 'fix & "état" #1 🎉 a+b=c?';
  const hash = sessionHash("abc", { seq: 9, q });
  assert.ok(!hash.slice(1).includes("#"), hash);
  assert.deepEqual(parseRoute(hash), { name: "session", id: "abc", seq: 9, q });
});

test("a session's changes, a file's diff and its file browser: parse and format", () => {
  assert.deepEqual(parseRoute("#/s/abc/changes"), { name: "changes", id: "abc" });
  assert.deepEqual(parseRoute("#/s/abc/changes/"), { name: "changes", id: "abc" });
  assert.deepEqual(parseRoute("#/s/abc/changes?path="), { name: "changes", id: "abc" });
  assert.deepEqual(parseRoute("#/s/abc/files"), { name: "files", id: "abc", path: "" });
  assert.deepEqual(parseRoute("#/s/abc/files?path=%2Fsrc%2Flib%2F"), { name: "files", id: "abc", path: "src/lib" });
  assert.deepEqual(parseRoute("#/s/abc/other"), { name: "list" });
  assert.deepEqual(parseRoute("#/s/not valid/changes"), { name: "list" });
  assert.equal(changesHash("abc"), "#/s/abc/changes");
  assert.equal(filesHash("abc", ""), "#/s/abc/files");
  // Paths with every awkward character survive the round trip, and never put a second # in.
  for (const path of ["src/main.js", "a b/c&d=e?.txt", "dir/#hash%20.md", "é/🎉+.txt", "../etc/passwd"]) {
    const diff = changesHash("abc", path);
    const files = filesHash("abc", path);
    assert.ok(!diff.slice(1).includes("#") && !files.slice(1).includes("#"), diff);
    assert.deepEqual(parseRoute(diff), { name: "changes", id: "abc", path });
    assert.deepEqual(parseRoute(files), { name: "files", id: "abc", path });
  }
});
