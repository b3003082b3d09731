// The terminal screen (a session whose agent is `terminal`): header, banner, the terminal's
// frame (xterm.js draws into `host`), the phone key bar and a status line. Knows nothing about
// the network; terminal-controller.js feeds it. Every text it shows is set as text.
//
// Events: "key" {id} (a key of the key bar, terminal.js KEY_BAR), "readonly" {value},
// "restart", "retry", "resume", "rename", "stop", "delete", "notify".

import { h, replaceChildren } from "./dom.js";
import { icon } from "./icons.js";
import { exitText } from "../format.js";
import { KEY_BAR } from "../terminal.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  open: "Live",
  waiting: "Reconnecting",
  closed: "Offline",
  archived: "Archived",
};

export class TerminalView extends EventTarget {
  constructor() {
    super();
    this.title = h("h1", { className: "session-title" }, "Terminal");
    this.subtitle = h("div", { className: "session-sub" });
    this.connChip = h("span", { className: "conn-chip connecting", attrs: { role: "status" } }, "Connecting…");
    this.readonlyChip = h("span", { className: "ro-chip", hidden: true, attrs: { "data-testid": "terminal-readonly-chip" } }, "Read-only");
    this.menuButton = h("button", {
      type: "button", className: "icon-button", attrs: { "aria-label": "Session actions", "aria-haspopup": "true" },
      onclick: () => this.toggleMenu(),
    }, icon("more", { size: 22 }));
    const item = (label, event, { testid, className = "menu-item" } = {}) => h("button", {
      type: "button", className, attrs: { role: "menuitem", "data-testid": testid },
      onclick: () => { this.toggleMenu(false); this.emit(event); },
    }, label);
    /** Watch only: reconnects with ?readonly=1 (the controller's), typing off. */
    this.readonlyItem = h("button", {
      type: "button", className: "menu-item menu-check",
      attrs: { role: "menuitemcheckbox", "aria-checked": "false", "data-testid": "terminal-readonly" },
      onclick: () => {
        this.toggleMenu(false);
        this.emit("readonly", { value: this.readonlyItem.getAttribute("aria-checked") !== "true" });
      },
    }, "Read-only (watch)");
    this.notifyItem = item("Notify me when it needs me", "notify");
    this.notifyItem.hidden = true;
    this.renameItem = item("Rename…", "rename", { testid: "rename" });
    this.stopItem = item("Stop and archive", "stop", { testid: "stop" });
    this.menu = h("div", { className: "menu", hidden: true, attrs: { role: "menu" } },
      this.readonlyItem, this.notifyItem, this.renameItem, this.stopItem,
      item("Delete session…", "delete", { className: "menu-item danger", testid: "delete-session" }));
    this.header = h("header", { className: "bar session-bar" },
      h("a", { className: "icon-button back", href: "#/", attrs: { "aria-label": "All sessions" } }, icon("back", { size: 24 })),
      h("div", { className: "session-heading" }, this.title,
        h("div", { className: "session-meta" }, this.connChip, this.readonlyChip, this.subtitle)),
      h("div", { className: "menu-wrap" }, this.menuButton, this.menu));
    this.banner = h("div", { className: "banner", hidden: true, attrs: { role: "alert" } });
    /** xterm.js opens in here; the frame scrolls when the program is larger than the screen. */
    this.host = h("div", { className: "term-host", attrs: { "data-testid": "terminal" } });
    this.frame = h("div", { className: "term-frame" }, this.host);
    this.loading = h("div", { className: "term-loading" }, "Starting the terminal…");
    this.keys = new Map();
    this.keyBar = h("div", { className: "key-bar", attrs: { role: "toolbar", "aria-label": "Terminal keys", "data-testid": "key-bar" } },
      KEY_BAR.map((k) => {
        const button = h("button", {
          type: "button", className: `key${k.sticky ? " sticky" : ""}${k.paste ? " paste" : ""}`,
          title: k.title,
          attrs: { "data-key": k.id, "aria-label": k.title, "aria-pressed": k.sticky ? "false" : undefined },
          // Keeps the focus (and the phone keyboard) on the terminal.
          onmousedown: (e) => e.preventDefault(),
          onclick: () => this.emit("key", { id: k.id }),
        }, k.label);
        this.keys.set(k.id, button);
        return button;
      }));
    this.readonlyButton = h("button", {
      type: "button", className: "btn small", onclick: () => this.emit("readonly", { value: false }),
    }, "Type");
    this.readonlyBar = h("div", { className: "term-readonly", hidden: true, attrs: { role: "status", "data-testid": "terminal-readonly-bar" } },
      h("span", { className: "archived-text" }, h("strong", {}, "Read-only."), " You watch; typing is off."),
      this.readonlyButton);
    this.status = h("div", { className: "term-status", hidden: true, attrs: { role: "status", "data-testid": "terminal-status" } });
    this.resumeButton = h("button", {
      type: "button", className: "btn small primary", attrs: { "data-testid": "resume" }, onclick: () => this.emit("resume"),
    }, icon("restart", { size: 18 }), "Resume");
    this.archived = h("div", { className: "archived-bar", hidden: true, attrs: { role: "status" } },
      h("div", { className: "archived-text" }, h("strong", {}, "Archived."), " The program is stopped; its last output is kept."),
      this.resumeButton);
    this.el = h("div", { className: "screen session-screen terminal-screen" },
      this.header, this.banner,
      h("main", { className: "term-main" }, this.frame, this.loading),
      h("div", { className: "term-bottom" }, this.status, this.readonlyBar, this.archived, this.keyBar));
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

  setHeader({ title, instanceId, status }) {
    this.title.textContent = title;
    const parts = [];
    if (instanceId) parts.push(instanceId);
    parts.push("terminal");
    if (status && status !== "running") parts.push(status);
    this.subtitle.textContent = parts.join(" · ");
  }

  /** @param {{state: string}} c */
  setConnection(c) {
    this.connChip.className = `conn-chip ${c.state}`;
    this.connChip.textContent = CONNECTION_TEXT[c.state] ?? c.state;
  }

  setLoading(text) {
    this.loading.hidden = !text;
    if (text) this.loading.textContent = text;
  }

  /** Watching only (asked here, or the server's answer): no key bar, the reason shown. */
  setReadOnly(readonly, { forced = false } = {}) {
    this.readonlyItem.setAttribute("aria-checked", String(readonly));
    this.readonlyChip.hidden = !readonly;
    this.readonlyBar.hidden = !readonly;
    this.readonlyButton.hidden = forced;
    this.keyBar.hidden = readonly || !this.archived.hidden;
    this.el.classList.toggle("readonly", readonly);
  }

  /** Sticky Ctrl: pressed until the next key. */
  setCtrl(on) {
    this.keys.get("ctrl")?.setAttribute("aria-pressed", String(on));
  }

  /** The key bar works only while connected. */
  setKeysEnabled(enabled) {
    for (const button of this.keys.values()) button.disabled = !enabled;
  }

  setActions({ canStop = true } = {}) {
    this.stopItem.hidden = !canStop;
  }

  setNotifyAvailable(available) {
    this.notifyItem.hidden = !available;
  }

  /** A short line under the terminal (errors of input, paste); null hides it. */
  setStatus(text) {
    this.status.hidden = !text;
    this.status.textContent = text ?? "";
  }

  /** An archived session: no key bar, a bar with Resume; `resuming` while the request runs. */
  setArchived(archived, { resuming = false } = {}) {
    this.archived.hidden = !archived;
    this.keyBar.hidden = archived || !this.readonlyBar.hidden;
    if (archived) this.readonlyBar.hidden = true;
    this.resumeButton.disabled = resuming;
    this.resumeButton.lastChild.textContent = resuming ? "Resuming…" : "Resume";
  }

  /** kind: null | "network" | "crashed" | "ended" | "missing" | "error" */
  showBanner(kind, info = {}) {
    if (!kind) {
      this.banner.hidden = true;
      this.banner.className = "banner";
      replaceChildren(this.banner);
      return;
    }
    this.banner.hidden = false;
    this.banner.className = `banner ${kind}`;
    const action = (label, event, className = "btn small") => h("button", { type: "button", className, onclick: () => this.emit(event) }, label);
    switch (kind) {
      case "network": {
        const seconds = info.delayMs ? Math.max(1, Math.round(info.delayMs / 1000)) : null;
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "Connection lost."),
            ` ${seconds ? `Reconnecting in ${seconds} s.` : "Reconnecting…"} The program keeps running on the server.`),
          action("Retry now", "retry"));
        return;
      }
      case "crashed":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "The program exited"), ` (${exitText(info)}). Its output stays here.`),
          info.restarting
            ? h("button", { type: "button", className: "btn small", disabled: true }, "Restarting…")
            : action("Restart", "restart", "btn small primary"));
        return;
      case "ended":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "This session was deleted."), " Nothing more will arrive."),
          h("a", { className: "btn small", href: "#/" }, "All sessions"));
        return;
      case "missing":
        replaceChildren(this.banner,
          h("div", { className: "banner-text" }, h("strong", {}, "No such session."), " It may have been deleted."),
          h("a", { className: "btn small", href: "#/" }, "All sessions"));
        return;
      default:
        replaceChildren(this.banner, h("div", { className: "banner-text" }, info.text ?? "Something went wrong."), action("Retry", "retry"));
    }
  }

  destroy() {
    document.removeEventListener("click", this.onDocClick);
  }
}

/**
 * Asks for text to paste when the clipboard cannot be read (no permission, not a secure
 * context): a <dialog> with a text area. Resolves to the text, or null when cancelled.
 */
export function askPaste() {
  return new Promise((resolve) => {
    const area = h("textarea", {
      id: "paste-dialog-input", rows: 5,
      attrs: { autocomplete: "off", autocapitalize: "off", spellcheck: "false", "data-testid": "paste-input" },
    });
    const send = h("button", { type: "submit", className: "btn primary", attrs: { "data-testid": "paste-send" } }, "Send");
    const cancel = h("button", { type: "button", className: "btn ghost" }, "Cancel");
    const form = h("form", { className: "create-form", attrs: { method: "dialog" } },
      h("h2", { id: "paste-dialog-title" }, "Paste"),
      h("label", { attrs: { for: "paste-dialog-input" } }, "Text to send to the terminal"), area,
      h("div", { className: "dialog-actions" }, cancel, send));
    const dialog = h("dialog", { className: "dialog paste-dialog", attrs: { "aria-labelledby": "paste-dialog-title" } }, form);
    const close = (result) => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    cancel.addEventListener("click", () => close(null));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      close(area.value);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    area.focus();
  });
}
