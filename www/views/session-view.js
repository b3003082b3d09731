// The session screen: header, banners, transcript, open questions and composer.
// Knows nothing about the network; the session controller feeds it.
//
// Events: "restart", "retry", "delete", "notify", "rename", "stop" (archive), "resume" (an
// archived session), "changes" and "files" (the session's changes and file browser), "modes"
// (open "Model and modes"), "revoke" {toolName} (from the menu's allowed tools), "enter"
// {value} (this device's Enter key: sends or starts a new line), plus the
// composer's, the dock's and the modes sheet's own.
//
// An archived (stopped) session is read-only: no composer, a bar with Resume instead.

import { h, replaceChildren } from "./dom.js";
import { TranscriptView } from "./transcript-view.js";
import { ApprovalDock } from "./approval-dock.js";
import { Composer } from "./composer.js";
import { ModesSheet, allowedToolsList } from "./modes-view.js";
import { formatCost, formatTokens, exitText } from "../format.js";
import { icon } from "./icons.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  open: "Live",
  waiting: "Reconnecting",
  closed: "Offline",
  history: "History",
  archived: "Archived",
};

export class SessionView extends EventTarget {
  /** @param {{enterSends?: boolean}} [options]  what Enter does in the composer (drafts.js) */
  constructor({ enterSends = true } = {}) {
    super();
    this.title = h("h1", { className: "session-title" }, "Session");
    this.subtitle = h("div", { className: "session-sub" });
    this.connChip = h("span", { className: "conn-chip connecting", attrs: { role: "status" } }, "Connecting…");
    this.totals = h("span", { className: "totals", hidden: true });
    /** The worktree's branch (a worktree session): a link to its changes. */
    this.branch = h("a", { className: "branch-chip", hidden: true, attrs: { "data-testid": "session-branch" } });
    this.menuButton = h("button", {
      type: "button", className: "icon-button", attrs: { "aria-label": "Session actions", "aria-haspopup": "true" },
      onclick: () => this.toggleMenu(),
    }, icon("more", { size: 22 }));
    this.notifyItem = h("button", {
      type: "button", className: "menu-item", hidden: true, attrs: { role: "menuitem" },
      onclick: () => { this.toggleMenu(false); this.emit("notify"); },
    }, "Notify me when it needs me");
    const item = (label, event, { testid, className = "menu-item" } = {}) => h("button", {
      type: "button", className, attrs: { role: "menuitem", "data-testid": testid },
      onclick: () => { this.toggleMenu(false); this.emit(event); },
    }, label);
    /** The model and modes (modes.js summary): opens "Model and modes". */
    this.modeChip = h("button", {
      type: "button", className: "mode-chip", hidden: true, attrs: { "data-testid": "mode-chip", "aria-label": "Model and modes" },
      onclick: () => this.emit("modes"),
    });
    this.modesItem = item("Model and modes…", "modes", { testid: "open-modes" });
    this.modesItem.hidden = true;
    this.menuAllowed = h("div", { className: "menu-section", hidden: true, attrs: { "data-testid": "menu-allowed" } });
    /** This device's Enter key: sends, or starts a new line (Ctrl+Enter always sends). */
    this.enterItem = h("button", {
      type: "button", className: "menu-item menu-check", attrs: { role: "menuitemcheckbox", "aria-checked": String(enterSends), "data-testid": "enter-sends" },
      onclick: () => this.emit("enter", { value: this.enterItem.getAttribute("aria-checked") !== "true" }),
    }, "Enter key sends");
    this.renameItem = item("Rename…", "rename", { testid: "rename" });
    this.stopItem = item("Stop and archive", "stop", { testid: "stop" });
    this.menu = h("div", { className: "menu", hidden: true, attrs: { role: "menu" } },
      item("Changes", "changes", { testid: "open-changes" }), item("Files", "files", { testid: "open-files" }),
      this.modesItem, this.menuAllowed,
      this.notifyItem, this.enterItem, this.renameItem, this.stopItem,
      item("Delete session…", "delete", { className: "menu-item danger", testid: "delete-session" }));
    this.header = h("header", { className: "bar session-bar" },
      h("a", { className: "icon-button back", href: "#/", attrs: { "aria-label": "All sessions" } }, icon("back", { size: 24 })),
      h("div", { className: "session-heading" }, this.title, h("div", { className: "session-meta" }, this.connChip, this.branch, this.modeChip, this.subtitle, this.totals)),
      h("div", { className: "menu-wrap" }, this.menuButton, this.menu));
    this.banner = h("div", { className: "banner", hidden: true, attrs: { role: "alert" } });
    this.strip = h("div", { className: "status-strip", hidden: true });
    this.transcript = new TranscriptView();
    this.dock = new ApprovalDock();
    this.composer = new Composer({ enterSends });
    this.modesSheet = new ModesSheet();
    this.resumeButton = h("button", {
      type: "button", className: "btn small primary", attrs: { "data-testid": "resume" }, onclick: () => this.emit("resume"),
    }, icon("restart", { size: 18 }), "Resume");
    this.archived = h("div", { className: "archived-bar", hidden: true, attrs: { role: "status" } },
      h("div", { className: "archived-text" }, h("strong", {}, "Archived."), " The agent is stopped; the transcript is kept."),
      this.resumeButton);
    this.el = h("div", { className: "screen session-screen" },
      this.header, this.banner,
      h("main", { className: "session-main" }, this.transcript.el),
      h("div", { className: "session-bottom" }, this.strip, this.dock.el, this.archived, this.composer.el));
    this.onDocClick = (e) => { if (!this.menu.hidden && !e.composedPath().includes(this.menu.parentElement)) this.toggleMenu(false); };
    document.addEventListener("click", this.onDocClick);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  toggleMenu(show = this.menu.hidden) {
    this.menu.hidden = !show;
    this.menuButton.setAttribute("aria-expanded", String(show));
  }

  /** Which of Stop and Rename the menu offers (Stop: only while there is an agent to stop). */
  setActions({ canStop = true, canRename = true } = {}) {
    this.stopItem.hidden = !canStop;
    this.renameItem.hidden = !canRename;
  }

  /** An archived session: read-only, with Resume; `resuming` while the request runs. */
  setReadOnly(readOnly, { resuming = false } = {}) {
    this.archived.hidden = !readOnly;
    this.composer.el.hidden = readOnly;
    this.resumeButton.disabled = resuming;
    this.resumeButton.lastChild.textContent = resuming ? "Resuming…" : "Resume";
  }

  /**
   * The model and modes in the header and the menu.
   * @param {{available: boolean, summary: string|null, allowedTools: string[], canRevoke: boolean}} m
   */
  setModes({ available, summary, allowedTools, canRevoke }) {
    this.modeChip.hidden = !summary;
    if (summary && this.modeChip.textContent !== summary) {
      this.modeChip.textContent = summary;
      this.modeChip.title = `${summary}: change the model or mode`;
    }
    this.modesItem.hidden = !available;
    this.menuAllowed.hidden = allowedTools.length === 0;
    if (allowedTools.length) {
      replaceChildren(this.menuAllowed,
        h("div", { className: "menu-label" }, "Allowed for this session"),
        allowedToolsList(allowedTools, { disabled: !canRevoke, onRevoke: (toolName) => this.emit("revoke", { toolName }) }));
    } else {
      replaceChildren(this.menuAllowed);
    }
  }

  setEnterSends(value) {
    this.enterItem.setAttribute("aria-checked", String(Boolean(value)));
    this.composer.setEnterSends(value);
  }

  setNotifyAvailable(available) {
    this.notifyItem.hidden = !available;
  }

  setHeader({ title, agent, instanceId, status, model, branch = null, branchHref = null }) {
    this.title.textContent = title;
    this.branch.hidden = !branch;
    if (branch && this.branch.textContent !== `⎇ ${branch}`) {
      this.branch.textContent = `⎇ ${branch}`;
      this.branch.title = `Worktree branch ${branch}: its changes`;
    }
    if (branchHref) this.branch.href = branchHref;
    const parts = [];
    if (instanceId) parts.push(instanceId);
    if (agent && agent !== instanceId) parts.push(agent);
    if (model) parts.push(model);
    if (status && status !== "running") parts.push(status);
    this.subtitle.textContent = parts.join(" · ");
  }

  setTotals(totals) {
    if (!totals || !totals.known) { this.totals.hidden = true; return; }
    this.totals.hidden = false;
    this.totals.textContent = `${formatCost(totals.cost)} · ${formatTokens(totals.input + totals.output)} tok`;
    this.totals.title = `${totals.input} input and ${totals.output} output tokens in the loaded part of this session`;
  }

  /** @param {{state: string, delayMs?: number}} c */
  setConnection(c, { working = false } = {}) {
    this.connChip.className = `conn-chip ${c.state}${working && c.state === "open" ? " working" : ""}`;
    this.connChip.textContent = c.state === "open" && working ? "Working" : CONNECTION_TEXT[c.state] ?? c.state;
  }

  /** kind: null | "network" | "crashed" | "ended" | "missing" | "gone" | "error" */
  showBanner(kind, info = {}) {
    if (!kind) {
      this.banner.hidden = true;
      this.banner.className = "banner";
      replaceChildren(this.banner);
      return;
    }
    this.banner.hidden = false;
    this.banner.className = `banner ${kind}`;
    const action = (label, event, className = "btn") => h("button", { type: "button", className, onclick: () => this.emit(event) }, label);
    switch (kind) {
      case "network": {
        const seconds = info.delayMs ? Math.max(1, Math.round(info.delayMs / 1000)) : null;
        replaceChildren(this.banner,
          h("div", { className: "banner-text" },
            h("strong", {}, "Connection lost."),
            ` ${seconds ? `Reconnecting in ${seconds} s.` : "Reconnecting…"} The agent keeps working on the server.`),
          action("Retry now", "retry", "btn small"));
        return;
      }
      case "crashed":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" },
            h("strong", {}, "The agent crashed"),
            ` (${exitText(info)}). Its transcript stays here.`),
          info.restarting
            ? h("button", { type: "button", className: "btn small", disabled: true }, "Restarting…")
            : action("Restart agent", "restart", "btn small primary"));
        return;
      case "ended":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "This session was deleted."), " Nothing more will arrive."),
          h("a", { className: "btn small", href: "#/" }, "All sessions"));
        return;
      case "gone":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "That record is no longer stored."), " It was removed by retention, or the link is wrong."),
          h("a", { className: "btn small", href: info.href ?? "#/" }, "Latest"));
        return;
      case "missing":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "No such session."), " It may have been deleted."),
          h("a", { className: "btn small", href: "#/" }, "All sessions"));
        return;
      default:
        replaceChildren(this.banner, h("div", { className: "banner-text" }, info.text ?? "Something went wrong."),
          action("Retry", "retry", "btn small"));
    }
  }

  /** setStatus texts, setWidget lines and the queue of steering / follow-up messages. */
  setStrip({ statuses, widgets, queue }) {
    const parts = [];
    for (const [key, text] of statuses) parts.push(h("span", { className: "status-chip", attrs: { title: key } }, text));
    for (const [key, lines] of widgets) {
      parts.push(h("div", { className: "widget", attrs: { title: key } }, lines.slice(0, 8).map((l) => h("div", {}, l))));
    }
    const queued = [...queue.steering.map((m) => ["steer", m]), ...queue.followUp.map((m) => ["follow-up", m])];
    if (queued.length) {
      parts.push(h("div", { className: "queue" },
        h("span", { className: "queue-label" }, `Queued (${queued.length})`),
        queued.map(([kind, m]) => h("span", { className: "queue-item" }, h("b", {}, `${kind}: `), m.length > 80 ? `${m.slice(0, 79)}…` : m))));
    }
    replaceChildren(this.strip, parts);
    this.strip.hidden = parts.length === 0;
  }

  destroy() {
    document.removeEventListener("click", this.onDocClick);
    this.composer.destroy();
    this.modesSheet.close();
    this.modesSheet.dialog.remove();
    this.transcript.destroy();
    this.dock.clear();
  }
}
