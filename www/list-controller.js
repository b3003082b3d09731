// The session list: polls GET /sessions while the page is visible, creates, deletes, restarts;
// its footer has the Web Push control (push.js) and "Sign out this device".

import { SessionListView } from "./views/session-list-view.js";
import { CreateDialog } from "./views/create-dialog.js";
import { ConfirmDialog } from "./views/confirm-dialog.js";
import { sessionTitle } from "./format.js";
import { sessionHash } from "./router.js";

export const POLL_MS = 3000;

export class ListController {
  constructor({ api, attention, push = null, win = globalThis.window }) {
    this.api = api;
    this.attention = attention;
    this.push = push;
    this.win = win;
    this.view = new SessionListView();
    this.timer = null;
    this.destroyed = false;
    this.pending = new Map();
    this.sessions = [];
    this.view.addEventListener("create", () => this.create());
    this.view.addEventListener("delete", (e) => this.remove(e.detail.summary));
    this.view.addEventListener("restart", (e) => this.restart(e.detail.summary));
    this.view.addEventListener("retry", () => this.refresh());
    this.view.addEventListener("signout", () => this.signOut());
    this.view.addEventListener("notify", async () => {
      await this.attention.requestPermission();
      this.updateNotifyButton();
    });
    this.onPush = () => this.renderPush();
    if (push) {
      push.addEventListener("change", this.onPush);
      // Straight from the click: turning on asks for the permission, which needs the gesture.
      this.view.notifications.addEventListener("toggle", () => push.toggle());
      this.view.notifications.addEventListener("test", () => push.sendTest());
    }
    this.onVisible = () => { if (!document.hidden) this.refresh(); };
    this.onFocus = () => this.refresh();
    document.addEventListener("visibilitychange", this.onVisible);
    win.addEventListener("focus", this.onFocus);
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.attention.setBaseTitle("amarre");
    this.updateNotifyButton();
    this.renderPush();
    this.push?.refresh();
    this.refresh();
    this.loadDevice();
  }

  renderPush() {
    if (this.destroyed) return;
    this.view.notifications.render(this.push ? this.push.view : null, this.push?.message ?? "");
    this.updateNotifyButton();
  }

  /** Sign-out is offered only to a paired device (in AMARRE_AUTH=none mode there is none). */
  async loadDevice() {
    let info = null;
    try {
      info = await this.api.device();
    } catch {
      info = null; // 401: the pairing screen replaces this one; 404: a server without access control
    }
    if (this.destroyed) return;
    this.view.showDevice(info?.auth === "token" && info.device ? info.device : null);
  }

  async signOut() {
    const ok = await ConfirmDialog.ask({
      title: "Sign out this device?",
      text: "This browser loses its access to amarre. To use it here again, pair it with a new code from “amarre pair”.",
      confirmLabel: "Sign out", danger: true,
    });
    if (!ok || this.destroyed) return;
    try {
      await this.api.logout(); // then api.js announces "unauthorized": the pairing screen
    } catch (e) {
      if (e.status !== 401 && !this.destroyed) this.view.showError(e.message);
    }
  }

  updateNotifyButton() {
    this.view.showNotifyButton(this.attention.permission === "default");
  }

  async refresh() {
    if (this.destroyed) return;
    clearTimeout(this.timer);
    this.timer = null;
    try {
      const sessions = await this.api.sessions();
      if (this.destroyed) return;
      this.sessions = Array.isArray(sessions) ? sessions : [];
      this.view.showError(null);
      this.view.render(this.sessions);
      this.watchPending(this.sessions);
    } catch (e) {
      if (this.destroyed) return;
      this.view.showError(e.message);
    }
    // Poll only while someone can see the list; visibilitychange/focus bring it back.
    if (!document.hidden && !this.destroyed) this.timer = setTimeout(() => this.refresh(), POLL_MS);
  }

  /** Raises attention when a session gets a new question while the tab is hidden. */
  watchPending(sessions) {
    for (const s of sessions) {
      const ids = Array.isArray(s.pendingRequests) ? s.pendingRequests : [];
      const before = this.pending.get(s.id);
      if (before && ids.some((id) => !before.includes(id))) {
        this.attention.raise({ title: `${sessionTitle(s)} needs you`, body: "The agent is waiting for an answer.", tag: `approval-${s.id}`, hash: sessionHash(s.id) });
      }
      this.pending.set(s.id, ids);
    }
  }

  async create() {
    let instances;
    try {
      instances = await this.api.instances();
    } catch (e) {
      this.view.showError(e.message);
      return;
    }
    const summary = await CreateDialog.open({
      instances: Array.isArray(instances) ? instances : [],
      submit: (fields) => this.api.createSession(fields),
    });
    if (summary && summary.id) this.win.location.hash = sessionHash(summary.id);
  }

  async remove(summary) {
    const ok = await ConfirmDialog.ask({
      title: `Delete “${sessionTitle(summary)}”?`,
      text: "The agent is stopped and the session is removed for every device.",
      confirmLabel: "Delete", danger: true,
    });
    if (!ok) return;
    try {
      await this.api.deleteSession(summary.id);
    } catch (e) {
      if (e.status !== 404) this.view.showError(e.message);
    }
    this.refresh();
  }

  async restart(summary) {
    try {
      await this.api.restartSession(summary.id);
    } catch (e) {
      if (e.code !== "already_running") this.view.showError(e.message);
    }
    this.refresh();
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
    this.push?.removeEventListener("change", this.onPush);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.win.removeEventListener("focus", this.onFocus);
  }
}
