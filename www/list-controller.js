// The session list: polls GET /sessions while the page is visible, creates, deletes, restarts,
// stops (archives) and resumes; searches everything (search-controller.js); its footer has the
// Web Push control (push.js) and "Sign out this device".

import { SessionListView } from "./views/session-list-view.js";
import { CreateDialog } from "./views/create-dialog.js";
import { ConfirmDialog } from "./views/confirm-dialog.js";
import { sessionTitle } from "./format.js";
import { sessionHash } from "./router.js";
import { SearchController } from "./search-controller.js";
import { confirmAndDelete } from "./session-delete.js";
import { recentRepos, rememberRepo } from "./worktree.js";

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
    this.view.addEventListener("stop", (e) => this.stop(e.detail.summary));
    this.search = new SearchController({
      api, view: this.view.search, sessions: () => new Map(this.sessions.map((s) => [s.id, s])),
    });
    this.search.addEventListener("change", () => this.view.setSearching(this.search.active));
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
    this.search.restore();
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
      this.search.sessionsChanged();
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
    const storage = this.win.localStorage ?? null;
    const summary = await CreateDialog.open({
      instances: Array.isArray(instances) ? instances : [],
      recentRepos: recentRepos(storage),
      submit: async (fields) => {
        const created = await this.api.createSession(fields);
        if (fields.worktree) rememberRepo(storage, fields.worktree.repo);
        return created;
      },
    });
    if (summary && summary.id) this.win.location.hash = sessionHash(summary.id);
  }

  async remove(summary) {
    try {
      if (!await confirmAndDelete({ api: this.api, summary })) return;
    } catch (e) {
      this.view.showError(e.message);
    }
    this.refresh();
  }

  /** Stops the agent and keeps the session in the archive (no question asked: nothing is lost). */
  async stop(summary) {
    try {
      await this.api.stopSession(summary.id);
    } catch (e) {
      if (e.code !== "not_running" && e.status !== 404) this.view.showError(e.message);
    }
    this.refresh();
  }

  /** Restarts a crashed agent, or resumes an archived session. */
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
    this.search.destroy();
    this.push?.removeEventListener("change", this.onPush);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.win.removeEventListener("focus", this.onFocus);
  }
}
