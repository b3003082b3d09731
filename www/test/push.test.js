// The page's Web Push: key decoding, the control's decisions, and the subscribe / unsubscribe /
// test flows against a fake browser (Notification, service worker, PushManager) and a fake API.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  base64UrlToBytes, sameKey, pushSupport, notificationsView, sentText, PushNotifications,
} from "../push.js";
import { Api, ApiError } from "../api.js";
import { Attention } from "../notifications.js";

// A 65-byte uncompressed P-256 point, as GET /push/vapid sends it.
const KEY_BYTES = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : (i * 37 + 11) % 256));
const KEY = Buffer.from(KEY_BYTES).toString("base64url");
const OTHER_KEY = Buffer.from(KEY_BYTES.map((b, i) => (i === 0 ? 4 : 255 - b))).toString("base64url");

// --- base64url ---------------------------------------------------------------------------------

test("base64url decodes to the exact bytes, with or without padding", () => {
  assert.deepEqual(base64UrlToBytes(KEY), KEY_BYTES);
  assert.equal(base64UrlToBytes(KEY).length, 65);
  assert.ok(base64UrlToBytes(KEY) instanceof Uint8Array);
  assert.deepEqual([...base64UrlToBytes("-_8")], [0xfb, 0xff]);
  assert.deepEqual([...base64UrlToBytes("-_8=")], [0xfb, 0xff]);
  assert.deepEqual([...base64UrlToBytes("AQID")], [1, 2, 3]);
  assert.deepEqual([...base64UrlToBytes("")], []);
});

test("base64url refuses what is not base64url", () => {
  for (const bad of ["a+b/", "ab$c", "abcde", "ab==c"]) assert.throws(() => base64UrlToBytes(bad), TypeError, bad);
});

test("keys compare by bytes, whatever their buffer type", () => {
  assert.equal(sameKey(KEY_BYTES.buffer.slice(0), base64UrlToBytes(KEY)), true);
  assert.equal(sameKey(base64UrlToBytes(OTHER_KEY), base64UrlToBytes(KEY)), false);
  assert.equal(sameKey(null, KEY_BYTES), false);
});

// --- what the control shows --------------------------------------------------------------------

const OK = { ok: true };
const view = (facts) => notificationsView({ support: OK, permission: "default", subscribed: false, server: null, busy: null, ...facts });

test("plain http: unavailable, and the sentence says HTTPS (tailscale serve) or localhost", () => {
  const v = view({ support: pushSupport({ isSecureContext: false, navigator: {} }) });
  assert.equal(v.state, "unavailable");
  assert.match(v.status, /HTTPS .*tailscale serve.* or localhost/);
  assert.equal(v.toggle.hidden, true);
  assert.equal(v.test.hidden, true);
});

test("support: service worker, PushManager and Notification are all needed", () => {
  const full = { isSecureContext: true, navigator: { serviceWorker: {} }, PushManager: class {}, Notification: class {} };
  assert.deepEqual(pushSupport(full), { ok: true });
  assert.deepEqual(pushSupport({ ...full, navigator: {} }), { ok: false, reason: "no-push" });
  assert.deepEqual(pushSupport({ ...full, PushManager: undefined }), { ok: false, reason: "no-push" });
  assert.deepEqual(pushSupport({ ...full, Notification: undefined }), { ok: false, reason: "no-push" });
  assert.deepEqual(pushSupport({ ...full, isSecureContext: false }), { ok: false, reason: "insecure" });
  const v = view({ support: pushSupport({ ...full, PushManager: undefined }) });
  assert.equal(v.state, "unavailable");
  assert.match(v.status, /cannot get notifications/);
});

test("off, on, denied and disabled by the server", () => {
  const off = view({});
  assert.deepEqual([off.state, off.toggle.label, off.toggle.hidden, off.toggle.disabled, off.test.hidden], ["off", "Turn on", false, false, true]);
  const on = view({ permission: "granted", subscribed: true, server: "ok" });
  assert.deepEqual([on.state, on.toggle.label, on.test.hidden, on.test.disabled], ["on", "Turn off", false, false]);
  const denied = view({ permission: "denied", subscribed: true });
  assert.equal(denied.state, "denied");
  assert.match(denied.status, /site settings/);
  assert.equal(denied.toggle.hidden, true);
  const disabled = view({ permission: "granted", server: "disabled" });
  assert.equal(disabled.state, "disabled");
  assert.equal(disabled.status, "The server has notifications turned off.");
  assert.equal(disabled.toggle.hidden, true);
  assert.equal(view({ server: "disabled", subscribed: true }).toggle.label, "Turn off", "a leftover subscription can be removed");
  assert.equal(view({ server: "missing" }).status, "This server does not offer notifications.");
});

test("while checking or working the toggle cannot be pressed twice", () => {
  assert.deepEqual([view({ subscribed: null }).state, view({ subscribed: null }).toggle.disabled], ["checking", true]);
  const working = view({ busy: "on" });
  assert.deepEqual([working.state, working.toggle.label, working.toggle.disabled], ["working", "Turning on…", true]);
  assert.equal(view({ busy: "off", subscribed: true }).toggle.label, "Turning off…");
  const testing = view({ permission: "granted", subscribed: true, busy: "test" });
  assert.deepEqual([testing.state, testing.test.label, testing.test.disabled], ["on", "Sending…", true]);
});

test("the test's answer in words", () => {
  assert.equal(sentText(1), "Test sent to 1 device.");
  assert.equal(sentText(3), "Test sent to 3 devices.");
  assert.match(sentText(0), /^Test sent to 0 devices: /);
});

// --- the flows, with a fake browser and the real Api over a fake fetch --------------------------

class FakeSubscription {
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.options = { userVisibleOnly: true, applicationServerKey: key ? key.slice().buffer : null };
    this.unsubscribed = false;
  }
  toJSON() { return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: "BPp", auth: "au" } }; }
  async unsubscribe() { this.unsubscribed = true; this.manager.current = null; return true; }
}

class FakePushManager {
  constructor() { this.current = null; this.subscribed = []; this.fail = null; }
  async getSubscription() { return this.current; }
  async subscribe(options) {
    if (this.fail) throw this.fail;
    this.subscribed.push(options);
    const s = new FakeSubscription(`https://push.example/ep/${this.subscribed.length}`, options.applicationServerKey);
    s.manager = this;
    this.current = s;
    return s;
  }
}

function browser({ permission = "default", answer = "granted", secure = true } = {}) {
  const pushManager = new FakePushManager();
  const registration = { pushManager, scope: "https://box.example/" };
  const asked = [];
  const win = {
    isSecureContext: secure,
    PushManager: FakePushManager,
    Notification: class {
      static get permission() { return permission; }
      static requestPermission() { asked.push(Date.now()); permission = answer; return Promise.resolve(answer); }
    },
    navigator: { serviceWorker: { ready: Promise.resolve(registration) } },
  };
  return { win, registration, pushManager, asked };
}

/** The real Api on a fetch answering from a table "METHOD /path" -> [status, body]. */
function server(table) {
  const calls = [];
  const fetchImpl = async (full, init) => {
    const url = full.replace(/^https:\/\/box\.example/, "");
    calls.push({ method: init.method, url, body: init.body ? JSON.parse(init.body) : undefined });
    const entry = table[`${init.method} ${url}`];
    const [status, body] = typeof entry === "function" ? entry() : entry ?? [404, { error: "not_found" }];
    return { ok: status >= 200 && status < 300, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
  };
  const api = new Api({ base: "https://box.example/", fetchImpl });
  const unauthorized = [];
  api.addEventListener("unauthorized", (e) => unauthorized.push(e.detail));
  return { api, calls, unauthorized, table };
}

const PUSH_ON = {
  "GET /push/vapid": [200, { publicKey: KEY }],
  "POST /push/subscriptions": [201, { endpoint: "x" }],
  "DELETE /push/subscriptions": [204],
  "POST /push/test": [200, { sent: 1 }],
};

function setup({ table = PUSH_ON, ...b } = {}) {
  const br = browser(b);
  const srv = server({ ...table });
  const push = new PushNotifications({ api: srv.api, win: br.win, worker: Promise.resolve(br.registration), readyMs: 200 });
  let changes = 0;
  push.addEventListener("change", () => { changes += 1; });
  return { ...br, ...srv, push, changes: () => changes };
}

test("turning on: permission from the click, the server's key, subscribe, then POST the subscription", async () => {
  const { push, asked, pushManager, calls } = setup();
  const done = push.turnOn();
  assert.equal(asked.length, 1, "requestPermission is called before anything is awaited");
  assert.equal(push.view.state, "working");
  await done;
  assert.equal(pushManager.subscribed.length, 1);
  assert.equal(pushManager.subscribed[0].userVisibleOnly, true);
  assert.deepEqual(pushManager.subscribed[0].applicationServerKey, KEY_BYTES);
  assert.deepEqual(calls.map((c) => `${c.method} ${c.url}`), ["GET /push/vapid", "POST /push/subscriptions"]);
  assert.deepEqual(calls[1].body, { endpoint: "https://push.example/ep/1", expirationTime: null, keys: { p256dh: "BPp", auth: "au" } });
  assert.equal(push.view.state, "on");
  assert.equal(push.active, true);
  assert.equal(push.message, "");
});

test("turning on when the server has push off: disabled, and nothing is subscribed", async () => {
  const { push, pushManager } = setup({ table: { "GET /push/vapid": [503, { error: "push_disabled" }] } });
  await push.turnOn();
  assert.equal(pushManager.subscribed.length, 0);
  assert.equal(push.view.state, "disabled");
  assert.equal(push.view.status, "The server has notifications turned off.");
  assert.equal(push.active, false);
});

test("turning on, permission refused: denied; dismissed: still off, with a word", async () => {
  const denied = setup({ answer: "denied" });
  await denied.push.turnOn();
  assert.equal(denied.push.view.state, "denied");
  assert.deepEqual(denied.calls, [], "the server is not asked");
  const dismissed = setup({ answer: "default" });
  await dismissed.push.turnOn();
  assert.equal(dismissed.push.view.state, "off");
  assert.equal(dismissed.push.message, "Notifications were not allowed.");
});

test("the browser's push service refusing says so and stays off", async () => {
  const { push, pushManager, calls } = setup();
  pushManager.fail = Object.assign(new Error("Registration failed - push service not available"), { name: "AbortError" });
  await push.turnOn();
  assert.equal(push.view.state, "off");
  assert.match(push.message, /could not subscribe: Registration failed/);
  assert.deepEqual(calls.map((c) => c.method), ["GET"], "no subscription is posted");
});

test("a subscription the server refuses is undone in the browser too", async () => {
  const { push, pushManager } = setup({ table: { ...PUSH_ON, "POST /push/subscriptions": [400, { error: "bad_request", detail: "endpoint must be https" }] } });
  await push.turnOn();
  assert.equal(pushManager.current, null);
  assert.equal(push.view.state, "off");
  assert.match(push.message, /endpoint must be https/);
});

test("a 401 on the way still brings the pairing screen (api.js)", async () => {
  const { push, unauthorized } = setup({ table: { "GET /push/vapid": [401, { error: "unauthorized" }] } });
  await push.turnOn();
  assert.deepEqual(unauthorized, [{ status: 401, path: "push/vapid" }]);
  assert.equal(push.message, "");
});

test("turning off: DELETE with the endpoint, then unsubscribe", async () => {
  const { push, pushManager, calls } = setup();
  await push.turnOn();
  const subscription = pushManager.current;
  await push.toggle();
  assert.deepEqual(calls.at(-1), { method: "DELETE", url: "/push/subscriptions", body: { endpoint: "https://push.example/ep/1" } });
  assert.equal(subscription.unsubscribed, true);
  assert.equal(push.view.state, "off");
  assert.equal(push.active, false);
});

test("send a test: POST /push/test, then 'sent to N device(s)'; 503 means disabled", async () => {
  const { push, calls, table } = setup({ permission: "granted" });
  await push.turnOn();
  await push.sendTest();
  assert.deepEqual(calls.at(-1), { method: "POST", url: "/push/test", body: undefined });
  assert.equal(push.message, "Test sent to 1 device.");
  table["POST /push/test"] = [200, { sent: 2 }];
  await push.sendTest();
  assert.equal(push.message, "Test sent to 2 devices.");
  table["POST /push/test"] = [503, { error: "push_disabled" }];
  await push.sendTest();
  assert.equal(push.view.state, "disabled");
});

test("a subscription found at load is given to the server once per pairing", async () => {
  const { push, pushManager, calls, api } = setup({ permission: "granted" });
  await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: KEY_BYTES });
  assert.equal(push.view.state, "checking");
  await push.refresh();
  assert.equal(push.view.state, "on");
  await push.refresh();
  assert.deepEqual(calls.map((c) => `${c.method} ${c.url}`), ["GET /push/vapid", "POST /push/subscriptions"]);
  api.authEpoch += 1; // paired again: a new device, which must own the subscription
  await push.refresh();
  assert.equal(calls.filter((c) => c.method === "POST").length, 2);
  assert.equal(pushManager.subscribed.length, 1, "the same subscription");
});

test("a subscription made with an old server key is replaced", async () => {
  const { push, pushManager, calls } = setup({ permission: "granted" });
  const old = await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(OTHER_KEY) });
  await push.refresh();
  assert.equal(old.unsubscribed, true);
  assert.equal(pushManager.subscribed.length, 2);
  assert.deepEqual(pushManager.subscribed[1].applicationServerKey, KEY_BYTES);
  assert.equal(calls.at(-1).body.endpoint, "https://push.example/ep/2");
  assert.equal(push.view.state, "on");
});

test("no subscription at load: off, and the server is not asked", async () => {
  const { push, calls } = setup({ permission: "granted" });
  await push.refresh();
  assert.equal(push.view.state, "off");
  assert.deepEqual(calls, []);
});

test("without push support nothing is asked of anyone", async () => {
  const { push, calls, asked } = setup({ secure: false });
  await push.refresh();
  await push.turnOn();
  assert.equal(push.view.state, "unavailable");
  assert.deepEqual([calls, asked], [[], []]);
});

// --- no in-page duplicate ------------------------------------------------------------------------

function attentionWith(push) {
  const shown = [];
  const listeners = {};
  const doc = { hidden: true, title: "", addEventListener() {} };
  const win = {
    focus() {}, location: { hash: "" }, addEventListener() {},
    navigator: { serviceWorker: { addEventListener: (type, fn) => { listeners[type] = fn; } } },
    Notification: class {
      static get permission() { return "granted"; }
      constructor(title) { shown.push(title); }
    },
  };
  const attention = new Attention({ doc, win, push, worker: Promise.resolve(null) });
  return { attention, shown, doc, win, listeners };
}

test("with push on, a hidden tab counts in the title but shows no notification of its own", () => {
  const push = { active: true };
  const { attention, shown, doc } = attentionWith(push);
  assert.equal(attention.raise({ title: "s: Run bash?", tag: "approval-x" }), true);
  assert.equal(doc.title, "(1) amarre");
  assert.deepEqual(shown, []);
  push.active = false;
  attention.raise({ title: "s: the agent is done", tag: "done-x" });
  assert.deepEqual(shown, ["s: the agent is done"], "push off: the page's own notification as before");
  assert.equal(doc.title, "(2) amarre");
});

test("the page follows a notification tap the worker could not navigate", () => {
  const { win, listeners } = attentionWith(null);
  listeners.message({ data: { type: "amarre.navigate", hash: "#/s/0123456789ab" } });
  assert.equal(win.location.hash, "#/s/0123456789ab");
  listeners.message({ data: { type: "amarre.navigate", hash: "javascript:alert(1)" } });
  listeners.message({ data: { type: "other", hash: "#/" } });
  assert.equal(win.location.hash, "#/s/0123456789ab");
});

test("push_disabled reads as a sentence", () => {
  assert.equal(new ApiError(503, "push_disabled").message, "The server has notifications turned off.");
});
