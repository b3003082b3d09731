// The decision "this browser is not paired → the pairing screen", and the pairing form's flow,
// with fake screens, a fake view and a fake API (no DOM, no network).

import { test } from "node:test";
import assert from "node:assert/strict";
import { App } from "../app.js";
import { PairingController } from "../pairing-controller.js";
import { ApiError } from "../api.js";

const CODE = "abcdefghijklmnopqrstuv2345";

class FakeScreen extends EventTarget {
  constructor(kind, options) {
    super();
    this.kind = kind;
    this.options = options;
    this.id = options.sessionId;
    this.filled = [];
    this.destroyed = false;
  }
  mount() { this.mounted = true; }
  fill(code) { this.filled.push(code); }
  destroy() { this.destroyed = true; }
}

function setup() {
  const made = [];
  const make = (kind) => (options) => { const s = new FakeScreen(kind, options); made.push(s); return s; };
  const router = new EventTarget();
  router.log = [];
  router.clearPairCode = () => router.log.push("clear");
  router.go = (hash) => router.log.push(`go ${hash}`);
  const api = new EventTarget();
  const win = { scrollTo() {} };
  const app = new App({ root: {}, api, attention: {}, router, win,
    screens: { list: make("list"), session: make("session"), pairing: make("pairing") } });
  const route = (detail) => router.dispatchEvent(new CustomEvent("route", { detail }));
  const unauthorized = (detail = { status: 401, path: "/sessions" }) => api.dispatchEvent(new CustomEvent("unauthorized", { detail }));
  return { app, made, router, route, unauthorized };
}

test("a 401 replaces the session list with the pairing screen", () => {
  const { app, made, route, unauthorized } = setup();
  route({ name: "list" });
  unauthorized();
  assert.deepEqual(made.map((s) => s.kind), ["list", "pairing"]);
  assert.equal(made[0].destroyed, true, "the list stops polling");
  assert.equal(app.current, made[1]);
  assert.equal(made[1].options.code, "");
});

test("a 401 replaces a session view too, and more 401s keep the same pairing form", () => {
  const { made, route, unauthorized } = setup();
  route({ name: "session", id: "0123456789ab" });
  unauthorized({ status: 401, path: "/sessions/0123456789ab" });
  unauthorized({ status: 401, path: "/sessions/0123456789ab/events" });
  unauthorized({ status: 401, path: "/auth/device" });
  assert.deepEqual(made.map((s) => s.kind), ["session", "pairing"]);
  assert.equal(made[0].destroyed, true, "the session's socket is closed");
  assert.equal(made[1].destroyed, false, "what the user typed stays");
});

test("paired: the session list", () => {
  const { made, router, unauthorized } = setup();
  unauthorized();
  made[0].dispatchEvent(new CustomEvent("paired", { detail: { device: { id: "x" } } }));
  assert.deepEqual(router.log, ["go #/"]);
});

test("a #pair= link clears the address first, then pairs with its code", () => {
  const { made, router, route } = setup();
  route({ name: "pair", code: CODE });
  assert.deepEqual(router.log, ["clear"]);
  assert.deepEqual(made.map((s) => [s.kind, s.options.code]), [["pairing", CODE]]);
});

test("a second link while the pairing screen shows fills its code in", () => {
  const { made, route, unauthorized } = setup();
  unauthorized();
  route({ name: "pair", code: CODE });
  assert.equal(made.length, 1);
  assert.deepEqual(made[0].filled, [CODE]);
});

test("signing out shows the pairing screen with a word about it", () => {
  const { made, unauthorized } = setup();
  unauthorized({ reason: "signed-out" });
  assert.equal(made[0].options.notice, "This device is signed out.");
});

test("without any 401 (AMARRE_AUTH=none) the routes work as before", () => {
  const { made, route } = setup();
  route({ name: "list" });
  route({ name: "session", id: "0123456789ab" });
  route({ name: "session", id: "0123456789ab" });
  route({ name: "list" });
  assert.deepEqual(made.map((s) => s.kind), ["list", "session", "list"]);
});

// --- the pairing form --------------------------------------------------------------------------

class FakeView extends EventTarget {
  constructor() {
    super();
    this.el = {};
    this.name = { value: "Phone" };
    this.code = "";
    this.errors = [];
    this.busy = [];
  }
  setCode(code) { this.code = code; }
  setBusy(busy) { this.busy.push(busy); }
  showError(text) { this.errors.push(text); }
  focusCode() { this.focused = true; }
}

function pairing({ answer, code = "" }) {
  const calls = [];
  const api = { pair: async (c, name) => { calls.push({ code: c, name }); return answer(); } };
  const view = new FakeView();
  const c = new PairingController({ api, attention: { setBaseTitle() {} }, win: {}, code, view });
  const paired = [];
  c.addEventListener("paired", (e) => paired.push(e.detail));
  c.mount({ replaceChildren() {} });
  return { c, view, calls, paired };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test("a code from a link is sent once, on its own", async () => {
  const device = { id: "0123456789abcdef", name: "Phone", kind: "browser" };
  const { calls, paired, view } = pairing({ code: CODE, answer: () => device });
  await settle();
  assert.deepEqual(calls, [{ code: CODE, name: "Phone" }]);
  assert.deepEqual(paired, [{ device }]);
  assert.deepEqual(view.busy, [true, false]);
});

test("a typed code is normalised before it is sent", async () => {
  const { c, calls, view } = pairing({ answer: () => ({ id: "x" }) });
  assert.equal(view.focused, true);
  assert.deepEqual(calls, [], "nothing is sent without a link");
  c.submit({ code: " ABCD-efgh IJKL ", name: "Laptop" });
  await settle();
  assert.deepEqual(calls, [{ code: "abcdefghijkl", name: "Laptop" }]);
  assert.equal(view.code, "abcdefghijkl");
});

test("a wrong code says so and nothing else happens", async () => {
  const { c, view, paired } = pairing({ answer: () => { throw new ApiError(401, "invalid_code"); } });
  await c.submit({ code: CODE, name: "" });
  assert.match(view.errors.at(-1), /wrong, expired or already used/);
  assert.deepEqual(paired, []);
  assert.deepEqual(view.busy, [true, false], "the form can be used again");
});

test("too many attempts and network failures are shown plainly", async () => {
  const limited = pairing({ answer: () => { throw new ApiError(429, "too_many_attempts"); } });
  await limited.c.submit({ code: CODE, name: "" });
  assert.match(limited.view.errors.at(-1), /Too many attempts\. Wait a minute/);
  const offline = pairing({ answer: () => { throw new ApiError(0, "network"); } });
  await offline.c.submit({ code: CODE, name: "" });
  assert.match(offline.view.errors.at(-1), /Cannot reach the server/);
});

test("an empty code is not sent", async () => {
  const { c, calls, view } = pairing({ answer: () => ({}) });
  await c.submit({ code: " - ", name: "" });
  assert.deepEqual(calls, []);
  assert.match(view.errors.at(-1), /Type the code/);
});

test("a server without access control (409 auth_disabled) goes straight to the list", async () => {
  const { c, paired } = pairing({ answer: () => { throw new ApiError(409, "auth_disabled"); } });
  await c.submit({ code: CODE, name: "" });
  assert.deepEqual(paired, [{ device: null }]);
});

test("a second submit while one is on its way is ignored", async () => {
  const { c, calls } = pairing({ answer: () => ({ id: "x" }) });
  c.submit({ code: CODE, name: "" });
  c.submit({ code: CODE, name: "" });
  await settle();
  assert.equal(calls.length, 1);
});
