// Service worker: shows the server's Web Push notifications (issue 10) and the page's own
// ones on Android, and opens the right session when one is tapped; an approval's Allow and
// Deny answer it from the lock screen. It caches nothing and does not touch requests.
//
// A classic script, not a module: module service workers ({type: "module"}) are missing in
// Firefox before 147 (January 2026), and a page registered as classic keeps working on every
// browser with Web Push. So that node can test it, the handlers are plain functions that take
// what they use (registration, clients, fetch) as arguments; the test runs this file in a
// `vm` context and calls them with fakes. Only the last block touches `self`.

"use strict";

/** An approval answered from a notification must finish before the browser stops letting the
 * worker open a window (a few seconds after the tap, in Chromium). */
var ANSWER_TIMEOUT_MS = 4000;

/** Session ids as the router accepts them. */
function isSessionId(value) {
  return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

function text(value) {
  return typeof value === "string" ? value : "";
}

/**
 * The event the server sent ({trigger, sessionId, sessionName, requestId?, title, body, url}),
 * or null when the push carries no JSON object.
 * @param {{json: () => any} | null} data  PushMessageData
 */
function readPushEvent(data) {
  if (!data || typeof data.json !== "function") return null;
  try {
    const value = data.json();
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The notification for a pushed event: {title, options} for registration.showNotification.
 * tag: "<sessionId>:<trigger>[:<requestId>]", so a new event replaces the same kind's older
 * one; an approval carries Allow and Deny and alerts again (renotify).
 */
function pushNotification(event) {
  const e = event && typeof event === "object" ? event : {};
  const trigger = text(e.trigger);
  const sessionId = isSessionId(e.sessionId) ? e.sessionId : "";
  const requestId = text(e.requestId);
  const awaiting = trigger === "awaiting_input";
  const tag = [sessionId, trigger, awaiting ? requestId : ""].filter(Boolean).join(":") || "amarre";
  const options = {
    body: text(e.body) || (event ? "" : "Something needs your attention."),
    tag,
    data: e,
    icon: "icon.svg",
    renotify: awaiting,
    actions: awaiting && sessionId && requestId
      ? [{ action: "allow", title: "Allow" }, { action: "deny", title: "Deny" }]
      : [],
  };
  return { title: text(e.title) || "amarre", options };
}

/** `push`: always shows a notification (a subscription promised userVisibleOnly). */
async function handlePush(data, deps) {
  const { title, options } = pushNotification(readPushEvent(data));
  await deps.registration.showNotification(title, options);
}

/** The page's address for a notification's data: the session, or the list. */
function targetUrl(scope, data) {
  const d = data && typeof data === "object" ? data : {};
  let hash = "#/";
  if (isSessionId(d.sessionId)) hash = "#/s/" + d.sessionId;
  else if (typeof d.hash === "string" && d.hash.startsWith("#/")) hash = d.hash; // the page's own (notifications.js)
  return new URL(hash, scope).href;
}

/**
 * Answers an approval without a page: POST sessions/<id>/requests/<requestId> below the scope. 200 answered,
 * 409 someone answered first: either way nothing is left to do. Anything else (401, 404, a
 * question that is not yes/no, no network): false.
 */
async function answerRequest(deps, scope, data, confirmed) {
  // Relative to the worker's scope (the page's directory: amarre may be served under a prefix).
  const url = new URL("sessions/" + encodeURIComponent(data.sessionId) + "/requests/" + encodeURIComponent(data.requestId), scope);
  const init = {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ confirmed: confirmed }),
  };
  if (typeof AbortSignal !== "undefined" && typeof AbortSignal.timeout === "function") {
    init.signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  }
  try {
    const response = await deps.fetch(url.href, init);
    return response.status === 200 || response.status === 409;
  } catch {
    return false;
  }
}

/**
 * Brings the page to `url`: an open window of this page (the one already there, else the most
 * recent one) is focused and navigated; with none, a new one is opened.
 */
async function openPage(deps, scope, url) {
  const windows = await deps.clients.matchAll({ type: "window", includeUncontrolled: true });
  const mine = windows.filter((c) => typeof c.url === "string" && c.url.startsWith(scope));
  const client = mine.find((c) => c.url === url) ?? mine[0];
  if (!client) {
    await deps.clients.openWindow(url);
    return "opened";
  }
  try {
    await client.focus();
  } catch {
    // not allowed any more: navigating still helps the next time the page is looked at
  }
  if (client.url !== url) {
    try {
      await client.navigate(url);
    } catch {
      // navigate() refuses a page this worker does not control: the page moves itself
      client.postMessage({ type: "amarre.navigate", hash: new URL(url).hash });
    }
  }
  return "focused";
}

/**
 * `notificationclick`. Allow/Deny answer the approval (and open the session if that fails);
 * a tap on the notification itself opens its session.
 * @returns {Promise<"answered"|"focused"|"opened">}
 */
async function handleNotificationClick(click, deps) {
  const notification = click.notification;
  notification.close();
  const data = notification.data && typeof notification.data === "object" ? notification.data : {};
  const scope = deps.scope;
  if ((click.action === "allow" || click.action === "deny") && isSessionId(data.sessionId) && text(data.requestId)) {
    if (await answerRequest(deps, scope, data, click.action === "allow")) return "answered";
  }
  return openPage(deps, scope, targetUrl(scope, data));
}

/**
 * `pushsubscriptionchange` (the browser replaced or lost the subscription): subscribe again
 * with the same key when needed, give the server the new one and drop the old.
 */
async function handleSubscriptionChange(change, deps) {
  const old = change.oldSubscription ?? null;
  let current = change.newSubscription ?? null;
  if (!current) {
    const key = old?.options?.applicationServerKey;
    if (!key) return "lost"; // the page subscribes again when it is next opened
    current = await deps.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const send = (method, body) => deps.fetch(new URL("push/subscriptions", deps.scope).href, {
    method, credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
  });
  await send("POST", current.toJSON());
  if (old && old.endpoint && old.endpoint !== current.endpoint) await send("DELETE", { endpoint: old.endpoint }).catch(() => null);
  return "renewed";
}

// --- wiring ---------------------------------------------------------------------------------

if (typeof self === "object" && self !== null && typeof self.addEventListener === "function") {
  const deps = () => ({
    registration: self.registration,
    scope: self.registration.scope,
    clients: self.clients,
    fetch: (url, init) => self.fetch(url, init),
  });
  self.addEventListener("install", () => self.skipWaiting());
  self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
  self.addEventListener("push", (event) => event.waitUntil(handlePush(event.data, deps())));
  self.addEventListener("notificationclick", (event) => {
    event.waitUntil(handleNotificationClick({ action: event.action, notification: event.notification }, deps()));
  });
  self.addEventListener("pushsubscriptionchange", (event) => {
    event.waitUntil(handleSubscriptionChange(event, deps()).catch(() => null));
  });
}
