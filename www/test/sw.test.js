// The service worker's handlers (www/sw.js, a classic script): run in a `vm` context as the
// browser would run it, then driven with a fake registration, fake clients and a fake fetch.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const SOURCE = readFileSync(new URL("../sw.js", import.meta.url), "utf8");
const SCOPE = "https://box.example/amarre/";

/** sw.js evaluated in a fresh context; `self` is optional (without it nothing is wired). */
function load(self) {
  const context = vm.createContext({ URL, AbortSignal, self });
  vm.runInContext(SOURCE, context, { filename: "sw.js" });
  return context;
}

/** Values made in the vm have its own Object.prototype: compare them as JSON. */
const plain = (value) => JSON.parse(JSON.stringify(value));

const APPROVAL = {
  trigger: "awaiting_input", sessionId: "0123456789ab", sessionName: "api", requestId: "req-7",
  title: "api: approval needed", body: "Run bash? ls -la", url: "https://box.ts.net/#/s/0123456789ab",
};

function fakeRegistration() {
  const shown = [];
  return { shown, scope: SCOPE, showNotification: async (title, options) => { shown.push({ title, options }); } };
}

const pushData = (value) => ({ json: () => (typeof value === "string" ? JSON.parse(value) : value) });

// --- push ----------------------------------------------------------------------------------------

test("an approval shows its title and body, Allow and Deny, a per-request tag, and alerts again", async () => {
  const sw = load();
  const registration = fakeRegistration();
  await sw.handlePush(pushData(APPROVAL), { registration });
  assert.equal(registration.shown.length, 1);
  const { title, options } = registration.shown[0];
  assert.equal(title, "api: approval needed");
  assert.equal(options.body, "Run bash? ls -la");
  assert.equal(options.tag, "0123456789ab:awaiting_input:req-7");
  assert.deepEqual(plain(options.actions), [{ action: "allow", title: "Allow" }, { action: "deny", title: "Deny" }]);
  assert.equal(options.renotify, true);
  assert.deepEqual(plain(options.data), APPROVAL);
});

test("done and crashed: no actions, no renotify, tag session:trigger", async () => {
  const sw = load();
  for (const trigger of ["done", "crashed"]) {
    const registration = fakeRegistration();
    const event = { trigger, sessionId: "0123456789ab", sessionName: "api", title: `api: ${trigger}`, body: "The agent finished its run.", url: "u" };
    await sw.handlePush(pushData(event), { registration });
    const { title, options } = registration.shown[0];
    assert.equal(title, `api: ${trigger}`);
    assert.equal(options.tag, `0123456789ab:${trigger}`);
    assert.deepEqual(plain(options.actions), []);
    assert.equal(options.renotify, false);
  }
});

test("the server's test notification and a push without JSON still show something", async () => {
  const sw = load();
  const registration = fakeRegistration();
  await sw.handlePush(pushData({ trigger: "test", title: "amarre", body: "Notifications work." }), { registration });
  await sw.handlePush(pushData("not json"), { registration });
  await sw.handlePush(null, { registration });
  assert.deepEqual(plain(registration.shown.map((n) => [n.title, n.options.body, n.options.tag])), [
    ["amarre", "Notifications work.", "test"],
    ["amarre", "Something needs your attention.", "amarre"],
    ["amarre", "Something needs your attention.", "amarre"],
  ]);
});

test("an approval without a request id gets no buttons (nothing to answer)", () => {
  const sw = load();
  const { options } = sw.pushNotification({ ...APPROVAL, requestId: undefined });
  assert.deepEqual(plain(options.actions), []);
  assert.equal(options.tag, "0123456789ab:awaiting_input");
});

// --- notificationclick ---------------------------------------------------------------------------

function fakeNotification(data) {
  return { data, closed: false, close() { this.closed = true; } };
}

function fakeClients(urls = []) {
  const log = [];
  const windows = urls.map((url, i) => ({
    url, id: i,
    focus: async () => { log.push(["focus", i]); },
    navigate: async (to) => { log.push(["navigate", i, to]); },
    postMessage: (message) => { log.push(["message", i, message]); },
  }));
  return {
    log, windows,
    matchAll: async (options) => { log.push(["matchAll", options.type, options.includeUncontrolled]); return windows; },
    openWindow: async (url) => { log.push(["open", url]); },
  };
}

function fakeFetch(status) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, method: init.method, credentials: init.credentials, body: JSON.parse(init.body) });
    if (status instanceof Error) throw status;
    return { status, ok: status >= 200 && status < 300 };
  };
  return { calls, fetch };
}

const SESSION_URL = `${SCOPE}#/s/0123456789ab`;

test("Allow answers the request with confirmed:true, same-origin, and closes the notification", async () => {
  const sw = load();
  const notification = fakeNotification(APPROVAL);
  const clients = fakeClients();
  const { calls, fetch } = fakeFetch(200);
  const outcome = await sw.handleNotificationClick({ action: "allow", notification }, { scope: SCOPE, clients, fetch });
  assert.equal(outcome, "answered");
  assert.equal(notification.closed, true);
  assert.deepEqual(calls, [{ url: "https://box.example/amarre/sessions/0123456789ab/requests/req-7", method: "POST", credentials: "same-origin", body: { confirmed: true } }]);
  assert.deepEqual(clients.log, [], "no window is opened");
});

test("Deny answers with confirmed:false; 409 (answered elsewhere) is done too", async () => {
  const sw = load();
  const { calls, fetch } = fakeFetch(409);
  const clients = fakeClients();
  const outcome = await sw.handleNotificationClick({ action: "deny", notification: fakeNotification(APPROVAL) }, { scope: SCOPE, clients, fetch });
  assert.equal(outcome, "answered");
  assert.deepEqual(calls[0].body, { confirmed: false });
  assert.deepEqual(clients.log, []);
});

test("an answer that fails opens the session instead", async () => {
  const sw = load();
  for (const failure of [401, 404, 400, 502, new TypeError("network")]) {
    const clients = fakeClients();
    const { fetch } = fakeFetch(failure);
    const notification = fakeNotification(APPROVAL);
    const outcome = await sw.handleNotificationClick({ action: "allow", notification }, { scope: SCOPE, clients, fetch });
    assert.equal(outcome, "opened", String(failure));
    assert.equal(notification.closed, true);
    assert.deepEqual(clients.log.at(-1), ["open", SESSION_URL]);
  }
});

test("a tap with no page open opens the session, relative to the worker's scope", async () => {
  const sw = load();
  const clients = fakeClients();
  const { calls, fetch } = fakeFetch(200);
  const notification = fakeNotification({ ...APPROVAL, trigger: "done", requestId: undefined });
  const outcome = await sw.handleNotificationClick({ action: "", notification }, { scope: SCOPE, clients, fetch });
  assert.equal(outcome, "opened");
  assert.equal(notification.closed, true);
  assert.deepEqual(calls, [], "a plain tap answers nothing");
  assert.deepEqual(clients.log, [["matchAll", "window", true], ["open", SESSION_URL]]);
});

test("a tap with the page open focuses it and navigates it to the session", async () => {
  const sw = load();
  const clients = fakeClients(["https://elsewhere.example/", `${SCOPE}#/`, `${SCOPE}#/s/ffffffffffff`]);
  const { fetch } = fakeFetch(200);
  const outcome = await sw.handleNotificationClick({ action: "", notification: fakeNotification(APPROVAL) }, { scope: SCOPE, clients, fetch });
  assert.equal(outcome, "focused");
  assert.deepEqual(clients.log.slice(1), [["focus", 1], ["navigate", 1, SESSION_URL]]);
});

test("a window already on the session is only focused", async () => {
  const sw = load();
  const clients = fakeClients([`${SCOPE}#/`, SESSION_URL]);
  await sw.handleNotificationClick({ action: "", notification: fakeNotification(APPROVAL) }, { scope: SCOPE, clients, fetch: null });
  assert.deepEqual(clients.log.slice(1), [["focus", 1]]);
});

test("a page the worker cannot navigate is asked to move itself", async () => {
  const sw = load();
  const clients = fakeClients([`${SCOPE}#/`]);
  clients.windows[0].navigate = async () => { throw new TypeError("not controlled"); };
  await sw.handleNotificationClick({ action: "", notification: fakeNotification(APPROVAL) }, { scope: SCOPE, clients, fetch: null });
  assert.deepEqual(plain(clients.log.slice(1)), [["focus", 0], ["message", 0, { type: "amarre.navigate", hash: "#/s/0123456789ab" }]]);
});

test("the page's own notifications (data.hash) and the test one open the right place", async () => {
  const sw = load();
  const own = fakeClients();
  await sw.handleNotificationClick({ action: "", notification: fakeNotification({ hash: "#/s/abcdefabcdef" }) }, { scope: SCOPE, clients: own });
  assert.deepEqual(own.log.at(-1), ["open", `${SCOPE}#/s/abcdefabcdef`]);
  const testing = fakeClients();
  await sw.handleNotificationClick({ action: "", notification: fakeNotification({ trigger: "test" }) }, { scope: SCOPE, clients: testing });
  assert.deepEqual(testing.log.at(-1), ["open", `${SCOPE}#/`]);
  const hostile = fakeClients();
  await sw.handleNotificationClick({ action: "", notification: fakeNotification({ sessionId: "../x", hash: "javascript:x" }) }, { scope: SCOPE, clients: hostile });
  assert.deepEqual(hostile.log.at(-1), ["open", `${SCOPE}#/`]);
});

// --- pushsubscriptionchange and the wiring ------------------------------------------------------

test("a replaced subscription is posted and the old one deleted", async () => {
  const sw = load();
  const { calls, fetch } = fakeFetch(201);
  const key = new Uint8Array([4, 1, 2]).buffer;
  const subscribed = [];
  const registration = { pushManager: { subscribe: async (o) => { subscribed.push(o); return { endpoint: "https://push.example/new", toJSON: () => ({ endpoint: "https://push.example/new", keys: {} }) }; } } };
  const outcome = await sw.handleSubscriptionChange(
    { oldSubscription: { endpoint: "https://push.example/old", options: { applicationServerKey: key } }, newSubscription: null },
    { registration, scope: SCOPE, fetch });
  assert.equal(outcome, "renewed");
  assert.equal(subscribed[0].applicationServerKey, key);
  assert.deepEqual(calls.map((c) => [c.method, c.url, c.body]), [
    ["POST", "https://box.example/amarre/push/subscriptions", { endpoint: "https://push.example/new", keys: {} }],
    ["DELETE", "https://box.example/amarre/push/subscriptions", { endpoint: "https://push.example/old" }],
  ]);
});

test("sw.js wires install, activate, push, notificationclick and pushsubscriptionchange", async () => {
  const listeners = {};
  const registration = fakeRegistration();
  const self = {
    registration, clients: fakeClients(), fetch: fakeFetch(200).fetch,
    skipWaiting() {}, addEventListener(type, fn) { listeners[type] = fn; },
  };
  load(self);
  assert.deepEqual(Object.keys(listeners).sort(), ["activate", "install", "notificationclick", "push", "pushsubscriptionchange"]);
  const waited = [];
  listeners.push({ data: pushData(APPROVAL), waitUntil: (p) => waited.push(p) });
  await Promise.all(waited);
  assert.equal(registration.shown[0].options.tag, "0123456789ab:awaiting_input:req-7");
  const notification = fakeNotification(APPROVAL);
  listeners.notificationclick({ action: "", notification, waitUntil: (p) => waited.push(p) });
  await Promise.all(waited);
  assert.equal(notification.closed, true);
  assert.deepEqual(self.clients.log.at(-1), ["open", SESSION_URL]);
});
