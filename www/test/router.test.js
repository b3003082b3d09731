import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRoute, Router, sessionHash } from "../router.js";

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
