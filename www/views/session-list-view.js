// The list of sessions. Rows are updated in place (keyed by id), so polling does not flicker
// or lose the focus.
//
// Events: "create", "delete" detail {summary}, "restart" detail {summary}, "notify" (allow
// notifications), "retry", "signout". The Web Push control (`notifications`) has its own.

import { h, replaceChildren } from "./dom.js";
import { exitText, relativeTime, sessionTitle } from "../format.js";
import { sessionHash } from "../router.js";
import { icon } from "./icons.js";
import { NotificationsControl } from "./notifications-control.js";

export class SessionListView extends EventTarget {
  constructor() {
    super();
    this.rows = new Map();
    this.notifyButton = h("button", {
      type: "button", className: "btn small ghost notify-button", hidden: true,
      onclick: () => this.emit("notify"),
      attrs: { "aria-label": "Enable notifications", title: "Notify me when an agent needs me or is done" },
    }, icon("bell"), h("span", { className: "wide-only" }, "Alerts"));
    this.newButton = h("button", { type: "button", className: "btn primary new-session", onclick: () => this.emit("create") }, "+ New");
    this.banner = h("div", { className: "banner", hidden: true, attrs: { role: "alert" } });
    this.list = h("ul", { className: "session-list", attrs: { "aria-label": "Sessions" } });
    this.empty = h("div", { className: "empty", hidden: true },
      h("div", { className: "empty-mark", attrs: { "aria-hidden": "true" } }, "⚓"),
      h("p", {}, "No sessions yet."),
      h("p", { className: "muted" }, "Start an agent here, then follow it and answer its questions from any device."),
      h("button", { type: "button", className: "btn primary", onclick: () => this.emit("create") }, "Start a session"));
    this.loading = h("div", { className: "loading" }, "Loading sessions…");
    this.notifications = new NotificationsControl();
    this.deviceName = h("span", { className: "device-name" });
    this.signOutButton = h("button", {
      type: "button", className: "btn small ghost sign-out", onclick: () => this.emit("signout"),
      attrs: { "data-testid": "sign-out" },
    }, "Sign out this device");
    this.device = h("footer", { className: "device-footer", hidden: true },
      h("span", { className: "device-label muted" }, "This device: ", this.deviceName), this.signOutButton);
    this.el = h("div", { className: "screen list-screen" },
      h("header", { className: "bar list-bar" },
        h("div", { className: "brand" }, h("span", { className: "brand-mark", attrs: { "aria-hidden": "true" } }, "⚓"), h("h1", {}, "amarre")),
        this.notifyButton, this.newButton),
      this.banner,
      h("main", { className: "list-main" }, this.loading, this.list, this.empty, this.notifications.el, this.device));
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  showNotifyButton(show) {
    this.notifyButton.hidden = !show;
  }

  /** device: the paired device (`GET /auth/device`), or null when there is nothing to sign out of. */
  showDevice(device) {
    this.device.hidden = !device;
    this.deviceName.textContent = device ? (typeof device.name === "string" && device.name ? device.name : "unnamed") : "";
  }

  showError(text) {
    if (!text) {
      this.banner.hidden = true;
      return;
    }
    this.banner.hidden = false;
    this.banner.className = "banner network";
    replaceChildren(this.banner, h("div", { className: "banner-text" }, text),
      h("button", { type: "button", className: "btn small", onclick: () => this.emit("retry") }, "Retry"));
  }

  render(sessions, now = Date.now()) {
    this.loading.hidden = true;
    const ordered = [...sessions].sort((a, b) => (b.createdAt ?? b.spawnedAt ?? 0) - (a.createdAt ?? a.spawnedAt ?? 0));
    const seen = new Set();
    let previous = null;
    for (const s of ordered) {
      seen.add(s.id);
      let row = this.rows.get(s.id);
      if (!row) {
        row = this.buildRow();
        this.rows.set(s.id, row);
      }
      this.fillRow(row, s, now);
      const expected = previous ? previous.el.nextSibling : this.list.firstChild;
      if (expected !== row.el) {
        if (previous) previous.el.after(row.el);
        else this.list.prepend(row.el);
      }
      previous = row;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    }
    this.empty.hidden = ordered.length > 0;
  }

  buildRow() {
    const row = {};
    row.title = h("span", { className: "row-title" });
    row.badge = h("span", { className: "pending-badge", hidden: true });
    row.status = h("span", { className: "status-pill" });
    row.meta = h("span", { className: "row-meta" });
    row.detail = h("span", { className: "row-detail" });
    row.link = h("a", { className: "row-link" },
      h("span", { className: "row-top" }, row.title, row.badge, row.status),
      row.meta, row.detail);
    row.restart = h("button", { type: "button", className: "btn small primary", onclick: () => this.emit("restart", { summary: row.summary }) },
      icon("restart", { size: 18 }), "Restart agent");
    row.remove = h("button", {
      type: "button", className: "icon-button row-delete", attrs: { "aria-label": "Delete session" },
      onclick: () => this.emit("delete", { summary: row.summary }),
    }, icon("trash"));
    row.footer = h("div", { className: "row-footer", hidden: true }, row.restart);
    row.el = h("li", { className: "session-row" }, row.link, row.remove, row.footer);
    return row;
  }

  fillRow(row, s, now) {
    row.summary = s;
    row.el.dataset.sessionId = s.id;
    row.el.className = `session-row ${s.status}`;
    row.el.classList.toggle("waiting", Array.isArray(s.pendingRequests) && s.pendingRequests.length > 0);
    row.link.href = sessionHash(s.id);
    row.title.textContent = sessionTitle(s);
    const pending = Array.isArray(s.pendingRequests) ? s.pendingRequests.length : 0;
    row.badge.hidden = pending === 0;
    row.badge.textContent = pending === 1 ? "1 waiting" : `${pending} waiting`;
    row.badge.title = "Questions from the agent waiting for an answer";
    row.status.textContent = s.status === "crashed" ? "crashed" : s.status === "running" ? "running" : s.status;
    row.status.className = `status-pill ${s.status}`;
    const agent = s.agent && s.agent !== s.instanceId ? `${s.instanceId} · ${s.agent}` : s.instanceId;
    const clients = typeof s.clients === "number" && s.clients > 0 ? (s.clients === 1 ? "1 viewer" : `${s.clients} viewers`) : "";
    row.meta.textContent = [agent, clients, `started ${relativeTime(s.spawnedAt, now)}`].filter(Boolean).join(" · ");
    const detail = s.status === "crashed" ? `Agent exited: ${exitText(s)}` : s.cwd ?? "";
    row.detail.textContent = detail;
    row.detail.hidden = !detail;
    row.footer.hidden = s.status !== "crashed";
    row.remove.title = `Delete ${sessionTitle(s)}`;
  }
}
