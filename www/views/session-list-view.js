// The list of sessions: those with an agent (running, crashed), then the archive (stopped,
// history kept), folded when it is long; above them the search box, whose results replace the
// list while a query is entered. Rows are updated in place (keyed by id), so polling does not
// flicker or lose the focus.
//
// Events: "create", "delete" detail {summary}, "restart" detail {summary} (a crashed agent, or
// Resume of an archived session), "stop" detail {summary} (archive), "notify" (allow
// notifications), "retry", "signout". The Web Push control (`notifications`) and the search
// view (`search`) have their own.

import { h, replaceChildren } from "./dom.js";
import { exitText, relativeTime, sessionTitle } from "../format.js";
import { sessionHash } from "../router.js";
import { archiveFolded, splitArchive } from "../archive.js";
import { icon } from "./icons.js";
import { NotificationsControl } from "./notifications-control.js";
import { SearchView } from "./search-view.js";

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
    this.archiveList = h("ul", { className: "session-list archive-list", attrs: { "aria-label": "Archived sessions" } });
    this.archiveCount = h("span", { className: "archive-count" });
    this.archive = h("details", { className: "archive", hidden: true, attrs: { "data-testid": "archive" } },
      h("summary", { className: "archive-head" }, h("h2", {}, "Archive"), this.archiveCount),
      h("p", { className: "archive-note muted" }, "Stopped sessions: the agent is gone, the transcript is kept. Resume one to go on."),
      this.archiveList);
    this.archiveShown = false;
    this.search = new SearchView();
    this.sessionsBody = h("div", { className: "sessions-body" }, this.loading, this.list, this.empty, this.archive);
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
      h("main", { className: "list-main" }, this.search.el, this.sessionsBody, this.notifications.el, this.device));
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

  /** While a search is entered its results take the place of the sessions. */
  setSearching(on) {
    this.sessionsBody.hidden = on;
  }

  render(sessions, now = Date.now()) {
    this.loading.hidden = true;
    const { active, archived } = splitArchive(sessions);
    const seen = new Set();
    this.place(this.list, active, seen, now);
    this.place(this.archiveList, archived, seen, now);
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    }
    this.empty.hidden = active.length + archived.length > 0;
    this.archive.hidden = archived.length === 0;
    this.archiveCount.textContent = String(archived.length);
    // Folded or not when it first shows; after that, as the user left it.
    if (archived.length > 0 && !this.archiveShown) {
      this.archiveShown = true;
      this.archive.open = !archiveFolded(archived.length);
    }
  }

  /** Puts the rows of `sessions` in `list`, in order, moving rows between lists as needed. */
  place(list, sessions, seen, now) {
    let previous = null;
    for (const s of sessions) {
      seen.add(s.id);
      let row = this.rows.get(s.id);
      if (!row) {
        row = this.buildRow();
        this.rows.set(s.id, row);
      }
      this.fillRow(row, s, now);
      const expected = previous ? previous.el.nextSibling : list.firstChild;
      if (expected !== row.el) {
        if (previous) previous.el.after(row.el);
        else list.prepend(row.el);
      }
      previous = row;
    }
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
    row.resume = h("button", {
      type: "button", className: "btn small primary", attrs: { "data-testid": "resume" },
      onclick: () => this.emit("restart", { summary: row.summary }),
    }, icon("restart", { size: 18 }), "Resume");
    row.remove = h("button", {
      type: "button", className: "icon-button row-delete", attrs: { "aria-label": "Delete session" },
      onclick: () => this.emit("delete", { summary: row.summary }),
    }, icon("trash"));
    row.stop = h("button", {
      type: "button", className: "icon-button row-stop", attrs: { "aria-label": "Stop and archive session", "data-testid": "stop" },
      onclick: () => this.emit("stop", { summary: row.summary }),
    }, icon("archive"));
    row.footer = h("div", { className: "row-footer", hidden: true }, row.restart, row.resume);
    row.el = h("li", { className: "session-row" }, row.link, row.stop, row.remove, row.footer);
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
    row.status.textContent = String(s.status ?? "");
    row.status.className = `status-pill ${s.status}`;
    const agent = s.agent && s.agent !== s.instanceId ? `${s.instanceId} · ${s.agent}` : s.instanceId;
    const clients = typeof s.clients === "number" && s.clients > 0 ? (s.clients === 1 ? "1 viewer" : `${s.clients} viewers`) : "";
    row.meta.textContent = [agent, clients, `started ${relativeTime(s.spawnedAt, now)}`].filter(Boolean).join(" · ");
    const detail = s.status === "crashed" ? `Agent exited: ${exitText(s)}`
      : typeof s.worktree?.branch === "string" ? `⎇ ${s.worktree.branch}` : s.cwd ?? "";
    row.detail.textContent = detail;
    row.detail.hidden = !detail;
    const stopped = s.status === "stopped";
    row.footer.hidden = s.status !== "crashed" && !stopped;
    row.restart.hidden = s.status !== "crashed";
    row.resume.hidden = !stopped;
    row.stop.hidden = stopped;
    row.remove.title = `Delete ${sessionTitle(s)}`;
    row.stop.title = `Stop ${sessionTitle(s)} and keep its transcript in the archive`;
  }
}
