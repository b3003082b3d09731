import { test } from "node:test";
import assert from "node:assert/strict";
import { apiUrl, sessionSocketUrl } from "../urls.js";

test("REST paths resolve below the page's directory (served under a prefix or not)", () => {
  assert.equal(apiUrl("sessions", "https://box.ts.net/amarre/"), "https://box.ts.net/amarre/sessions");
  assert.equal(apiUrl("/sessions/abc/events?after=3", "https://box.ts.net/amarre/#/s/abc"), "https://box.ts.net/amarre/sessions/abc/events?after=3");
  assert.equal(apiUrl("auth/pair", "https://box.ts.net/amarre/index.html"), "https://box.ts.net/amarre/auth/pair");
  assert.equal(apiUrl("search?q=a%20b", "http://127.0.0.1:8341/"), "http://127.0.0.1:8341/search?q=a%20b");
  assert.equal(apiUrl("healthz", "https://a.example/x/y/"), "https://a.example/x/y/healthz");
});

test("the WebSocket: ws(s) scheme, below the page's directory, with since, without the hash", () => {
  assert.equal(sessionSocketUrl("0123456789ab", { href: "https://box.ts.net/amarre/#/s/0123456789ab" }), "wss://box.ts.net/amarre/sessions/0123456789ab");
  assert.equal(sessionSocketUrl("0123456789ab", { href: "http://127.0.0.1:8341/#/s/0123456789ab", since: 42 }), "ws://127.0.0.1:8341/sessions/0123456789ab?since=42");
  assert.equal(sessionSocketUrl("0123456789ab", { href: "https://h.example/?x=1#/", since: 0 }), "wss://h.example/sessions/0123456789ab?since=0");
  assert.equal(sessionSocketUrl("a/b", { href: "https://h.example/p/" }), "wss://h.example/p/sessions/a%2Fb");
});
