// Attention while the tab is hidden: a count in the title ("(1) amarre") and, once the user
// allowed it, a system notification. Nothing is raised while the user is looking.
//
// When this browser gets the server's Web Push (push.js `active`), the page shows no system
// notification of its own: the server sends one for the same approval, run end or crash (it
// knows the page is hidden from its presence frames), and two would be one too many.

import { badgeTitle } from "./format.js";
import { registerWorker } from "./push.js";

export class Attention extends EventTarget {
  /**
   * @param {{doc?: Document, win?: Window, push?: {active: boolean} | null,
   *          worker?: Promise<ServiceWorkerRegistration|null>}} options
   */
  constructor({ doc = globalThis.document, win = globalThis.window, push = null, worker = registerWorker(win) } = {}) {
    super();
    this.doc = doc;
    this.win = win;
    this.push = push;
    this.count = 0;
    this.baseTitle = "amarre";
    this.registration = null;
    doc.addEventListener("visibilitychange", () => {
      if (!doc.hidden) this.clear();
    });
    win.addEventListener("focus", () => this.clear());
    // Android Chrome shows notifications only through a service worker.
    worker.then((r) => { this.registration = r; }, () => {});
    // A tap on a notification, when the worker could not navigate this page itself (sw.js).
    win.navigator?.serviceWorker?.addEventListener?.("message", (e) => {
      const hash = e.data?.type === "amarre.navigate" ? e.data.hash : null;
      if (typeof hash === "string" && hash.startsWith("#/")) this.win.location.hash = hash;
    });
  }

  get supported() {
    return typeof this.win.Notification === "function";
  }

  /** "default" (not asked yet), "granted", "denied" or "unsupported". */
  get permission() {
    return this.supported ? this.win.Notification.permission : "unsupported";
  }

  async requestPermission() {
    if (!this.supported) return "unsupported";
    const result = await this.win.Notification.requestPermission();
    this.dispatchEvent(new Event("permission"));
    return result;
  }

  setBaseTitle(title) {
    this.baseTitle = title;
    this.render();
  }

  /** The page is on screen (a visible but unfocused window counts as watched). */
  get watching() {
    return !this.doc.hidden;
  }

  /**
   * @param {{title: string, body?: string, tag?: string, hash?: string}} n
   */
  raise(n) {
    if (this.watching) return false;
    this.count += 1;
    this.render();
    if (this.permission === "granted" && !this.push?.active) this.show(n);
    return true;
  }

  show({ title, body = "", tag, hash }) {
    const options = { body, tag, renotify: Boolean(tag), icon: "icon.svg", data: { hash } };
    const focus = () => {
      this.win.focus();
      if (hash) this.win.location.hash = hash;
    };
    try {
      const n = new this.win.Notification(title, options);
      n.onclick = () => { focus(); n.close(); };
    } catch {
      this.registration?.showNotification(title, options).catch(() => {});
    }
  }

  clear() {
    if (this.count === 0) return;
    this.count = 0;
    this.render();
  }

  render() {
    this.doc.title = badgeTitle(this.count, this.baseTitle);
  }
}
