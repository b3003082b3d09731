// Web Push, the page's side (issue 10): this browser's subscription to the server's
// notifications, which the service worker (sw.js) shows even when no page is open.
//
// PushNotifications keeps what the "Notifications" control shows: the browser's support, the
// permission, whether this browser is subscribed and whether the server has push at all.
// Every request goes through api.js (so a 401 still brings the pairing screen). The decisions
// are pure functions (pushSupport, notificationsView, base64UrlToBytes), tested in node.
//
// Events (EventTarget): "change" whenever `view`, `message` or `active` may have changed.

import { ApiError } from "./api.js";

/** How long the service worker may take to become active before subscribing gives up. */
export const WORKER_READY_MS = 10_000;

const registrations = new WeakMap();

/**
 * Registers sw.js (a classic script: see its header) once per window. Resolves to the
 * registration, or null where service workers are unavailable (plain http, private windows).
 */
export function registerWorker(win = globalThis.window) {
  const container = win?.navigator?.serviceWorker;
  if (!container || !win.isSecureContext) return Promise.resolve(null);
  if (!registrations.has(win)) registrations.set(win, container.register("sw.js").catch(() => null));
  return registrations.get(win);
}

/** The bytes of a base64url string (RFC 4648 §5, padding optional), e.g. a VAPID public key. */
export function base64UrlToBytes(text) {
  const s = String(text ?? "").trim();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s) || s.replace(/=+$/, "").length % 4 === 1) {
    throw new TypeError("not base64url");
  }
  const b64 = s.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Are two keys (ArrayBuffer, typed array or null) the same bytes? */
export function sameKey(a, b) {
  if (!a || !b) return false;
  const x = a instanceof ArrayBuffer ? new Uint8Array(a) : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Can this page get Web Push at all?
 *   {ok: true} | {ok: false, reason: "insecure" | "no-push"}
 * "insecure": not HTTPS nor localhost, where browsers hide service workers and PushManager.
 */
export function pushSupport(win) {
  if (!win?.isSecureContext) return { ok: false, reason: "insecure" };
  const hasWorker = Boolean(win.navigator && "serviceWorker" in win.navigator && win.navigator.serviceWorker);
  if (!hasWorker || typeof win.PushManager !== "function" || typeof win.Notification !== "function") {
    return { ok: false, reason: "no-push" };
  }
  return { ok: true };
}

const TEXT = {
  insecure: "Not available on this address: Web Push needs HTTPS (for example through tailscale serve) or localhost.",
  "no-push": "This browser cannot get notifications from a web page. On an iPhone or iPad, add amarre to the Home Screen and open it from there.",
  denied: "Blocked: this site may not show notifications. Allow them in the browser's site settings, then reload.",
  disabled: "The server has notifications turned off.",
  missing: "This server does not offer notifications.",
  checking: "Checking…",
  on: "On for this device: a notification when an agent needs you, finishes or crashes, even with the page closed.",
  off: "Off. Turn on to be told on this device when an agent needs you, finishes or crashes, even with the page closed.",
  turningOn: "Turning on…",
  turningOff: "Turning off…",
};

/**
 * What the control shows, decided from plain facts.
 * @param {object} facts
 * @param {{ok: boolean, reason?: string}} facts.support  pushSupport()
 * @param {string} facts.permission     Notification.permission ("default" | "granted" | "denied")
 * @param {boolean|null} facts.subscribed  this browser has a push subscription (null: not known yet)
 * @param {null|"ok"|"disabled"|"missing"} facts.server  push on the server (null: not asked)
 * @param {null|"on"|"off"|"test"} facts.busy  the action under way
 * @returns {{state: string, status: string, toggle: {label: string, hidden: boolean, disabled: boolean},
 *            test: {label: string, hidden: boolean, disabled: boolean}}}
 *   state: unavailable | denied | disabled | working | checking | on | off
 */
export function notificationsView({ support, permission, subscribed, server = null, busy = null }) {
  const hiddenButton = (label) => ({ label, hidden: true, disabled: true });
  const noTest = hiddenButton("Send a test");
  if (!support?.ok) {
    return { state: "unavailable", status: TEXT[support?.reason] ?? TEXT["no-push"], toggle: hiddenButton("Turn on"), test: noTest };
  }
  if (permission === "denied") return { state: "denied", status: TEXT.denied, toggle: hiddenButton("Turn on"), test: noTest };
  if (busy === "on" || busy === "off") {
    const label = busy === "on" ? "Turning on…" : "Turning off…";
    return { state: "working", status: busy === "on" ? TEXT.turningOn : TEXT.turningOff,
      toggle: { label, hidden: false, disabled: true }, test: noTest };
  }
  if (server === "disabled" || server === "missing") {
    // A subscription left from before can still be removed from this browser.
    return { state: "disabled", status: TEXT[server],
      toggle: { label: "Turn off", hidden: subscribed !== true, disabled: false }, test: noTest };
  }
  if (subscribed === null || subscribed === undefined) {
    return { state: "checking", status: TEXT.checking, toggle: { label: "Turn on", hidden: false, disabled: true }, test: noTest };
  }
  if (subscribed) {
    return { state: "on", status: TEXT.on, toggle: { label: "Turn off", hidden: false, disabled: false },
      test: { label: busy === "test" ? "Sending…" : "Send a test", hidden: false, disabled: busy === "test" } };
  }
  return { state: "off", status: TEXT.off, toggle: { label: "Turn on", hidden: false, disabled: false }, test: noTest };
}

/** The sentence after `POST /push/test` answered {"sent": n}. */
export function sentText(n) {
  const count = Number.isInteger(n) && n >= 0 ? n : 0;
  if (count === 0) return "Test sent to 0 devices: the server knows no subscription of this device. Turn notifications off and on again.";
  return `Test sent to ${count} ${count === 1 ? "device" : "devices"}.`;
}

/** What an API error says about push on the server: "disabled" (503 push_disabled), "missing" (404), or null. */
export function serverStateOf(error) {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 503 && error.code === "push_disabled") return "disabled";
  if (error.status === 404) return "missing";
  return null;
}

export class PushNotifications extends EventTarget {
  /**
   * @param {{api: import("./api.js").Api, win?: Window, worker?: Promise<ServiceWorkerRegistration|null>}} options
   */
  constructor({ api, win = globalThis.window, worker = registerWorker(win), readyMs = WORKER_READY_MS }) {
    super();
    this.api = api;
    this.win = win;
    this.worker = worker;
    this.readyMs = readyMs;
    this.support = pushSupport(win);
    /** This browser has a push subscription (null: not known yet). */
    this.subscribed = this.support.ok ? null : false;
    /** Push on the server: null (not asked), "ok", "disabled" or "missing". */
    this.server = null;
    /** The action under way: null, "on", "off" or "test". */
    this.busy = null;
    /** The outcome of the last action, for the user ("Test sent to 1 device."), or "". */
    this.message = "";
    /** api.authEpoch when the subscription was last given to the server (a new pairing resends it). */
    this.syncedEpoch = null;
    if (this.support.ok) this.watchPermission();
  }

  get permission() {
    return typeof this.win?.Notification === "function" ? this.win.Notification.permission : "default";
  }

  get view() {
    return notificationsView({ support: this.support, permission: this.permission, subscribed: this.subscribed,
      server: this.server, busy: this.busy });
  }

  /** The server's notifications reach this browser: the page need not show its own. */
  get active() {
    return this.support.ok && this.subscribed === true && this.permission === "granted"
      && this.server !== "disabled" && this.server !== "missing";
  }

  /** On/off from the control: "on" turns off, anything else tries to turn on. */
  toggle() {
    return this.subscribed === true ? this.turnOff() : this.turnOn();
  }

  /**
   * Looks at this browser's subscription; when there is one, gives it to the server again once
   * per pairing (the server may have lost it, or this is a new device), with a new key if the
   * server's key pair changed.
   */
  async refresh() {
    if (!this.support.ok || this.busy) return;
    const registration = await this.worker;
    let subscription = null;
    try {
      subscription = registration ? await registration.pushManager.getSubscription() : null;
    } catch {
      subscription = null;
    }
    if (this.busy) return; // an action started meanwhile and knows better
    this.subscribed = Boolean(subscription);
    this.changed();
    if (subscription && this.permission === "granted" && this.syncedEpoch !== this.api.authEpoch) {
      this.syncedEpoch = this.api.authEpoch;
      await this.sync(registration, subscription);
    }
  }

  async sync(registration, subscription) {
    try {
      const key = await this.serverKey();
      let current = subscription;
      if (!sameKey(current.options?.applicationServerKey, key)) {
        // The server made a new key pair (its state was reset): the old subscription is dead.
        await current.unsubscribe().catch(() => false);
        current = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      }
      await this.api.addPushSubscription(current.toJSON());
    } catch (e) {
      // Nothing to tell the user unless the server has no push; otherwise the next load retries.
      const server = serverStateOf(e);
      if (server) this.server = server;
      else this.syncedEpoch = null;
      this.subscribed = await this.hasSubscription();
    }
    this.changed();
  }

  async turnOn() {
    if (!this.support.ok || this.busy) return;
    // Asked first, while the click's user activation lasts (Safari asks only from a gesture).
    let asked;
    try {
      asked = this.win.Notification.requestPermission();
    } catch (e) {
      asked = Promise.reject(e);
    }
    this.start("on");
    try {
      const permission = await asked;
      if (permission !== "granted") {
        if (permission !== "denied") this.message = "Notifications were not allowed.";
        return;
      }
      const key = await this.serverKey();
      const registration = await this.readyRegistration();
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription.options?.applicationServerKey, key)) {
        await subscription.unsubscribe().catch(() => false);
        subscription = null;
      }
      if (!subscription) {
        try {
          subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        } catch (e) {
          this.message = `The browser could not subscribe: ${e?.message || e?.name || "unknown error"}`;
          return;
        }
      }
      try {
        await this.api.addPushSubscription(subscription.toJSON());
      } catch (e) {
        await subscription.unsubscribe().catch(() => false);
        throw e;
      }
      this.syncedEpoch = this.api.authEpoch;
    } catch (e) {
      this.fail(e, "Could not turn notifications on");
    } finally {
      this.subscribed = await this.hasSubscription();
      this.finish();
    }
  }

  async turnOff() {
    if (this.busy) return;
    this.start("off");
    try {
      const registration = await this.worker;
      const subscription = registration ? await registration.pushManager.getSubscription() : null;
      if (subscription) {
        let refused = null;
        try {
          await this.api.removePushSubscription(subscription.endpoint);
        } catch (e) {
          refused = e;
        }
        await subscription.unsubscribe();
        if (refused) this.fail(refused, "Off on this device, but the server was not told (it forgets it at its next notification)");
      }
      this.subscribed = false;
      this.syncedEpoch = null;
    } catch (e) {
      this.fail(e, "Could not turn notifications off");
    } finally {
      this.finish();
    }
  }

  async sendTest() {
    if (this.busy || this.subscribed !== true) return;
    this.start("test");
    try {
      const answer = await this.api.pushTest();
      this.message = sentText(answer?.sent);
    } catch (e) {
      this.fail(e, "The test failed");
    } finally {
      this.finish();
    }
  }

  // --- internals ----------------------------------------------------------------------------

  async serverKey() {
    const answer = await this.api.pushKey();
    let key;
    try {
      key = base64UrlToBytes(answer?.publicKey);
    } catch {
      key = new Uint8Array(0);
    }
    if (key.length !== 65) throw new Error("the server's public key is not a P-256 key");
    this.server = "ok";
    return key;
  }

  /** What the browser says now; false when it cannot say. */
  async hasSubscription() {
    try {
      const registration = await this.worker;
      return Boolean(registration && await registration.pushManager.getSubscription());
    } catch {
      return false;
    }
  }

  /** The registration once its worker is active (subscribing needs one). */
  async readyRegistration() {
    const registration = await this.worker;
    if (!registration) throw new Error("the service worker could not be registered");
    let timer = null;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the service worker did not start")), this.readyMs);
    });
    try {
      return await Promise.race([this.win.navigator.serviceWorker.ready, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  fail(error, prefix) {
    const server = serverStateOf(error);
    if (server) {
      this.server = server; // the status line says it
      return;
    }
    if (error instanceof ApiError && error.status === 401) return; // the pairing screen follows
    this.message = `${prefix}: ${error?.message || "unknown error"}`;
  }

  start(busy) {
    this.busy = busy;
    this.message = "";
    this.changed();
  }

  finish() {
    this.busy = null;
    this.changed();
  }

  /** Permission changed in the site settings: the control follows without a reload. */
  watchPermission() {
    const permissions = this.win.navigator?.permissions;
    if (typeof permissions?.query !== "function") return;
    permissions.query({ name: "notifications" })
      .then((status) => status.addEventListener?.("change", () => { this.changed(); this.refresh(); }))
      .catch(() => { /* the Permissions API does not know "notifications" here */ });
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}
