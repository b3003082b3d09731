// Attention while the tab is hidden: a count in the title ("(1) amarre") and, once the user
// allowed it, a system notification. Nothing is raised while the user is looking.

import { badgeTitle } from "./format.js";

export class Attention extends EventTarget {
  constructor({ doc = globalThis.document, win = globalThis.window } = {}) {
    super();
    this.doc = doc;
    this.win = win;
    this.count = 0;
    this.baseTitle = "amarre";
    this.registration = null;
    doc.addEventListener("visibilitychange", () => {
      if (!doc.hidden) this.clear();
    });
    win.addEventListener("focus", () => this.clear());
    if ("serviceWorker" in win.navigator && win.isSecureContext) {
      // Android Chrome shows notifications only through a service worker.
      win.navigator.serviceWorker.register("sw.js").then((r) => { this.registration = r; }).catch(() => {});
    }
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
    if (this.permission === "granted") this.show(n);
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
