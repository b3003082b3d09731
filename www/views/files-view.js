// The file browser of a session: a breadcrumb back up, then a directory's entries (tap to go
// in) or a file's text (monospace, wrapped). Names and contents are text nodes only.
// files-controller.js feeds it and gives it the links.

import { h, replaceChildren } from "./dom.js";
import { icon } from "./icons.js";
import { formatSize } from "../files.js";

const TYPE_LABEL = { directory: "folder", file: "file", symlink: "link", other: "special file" };

export class FilesView {
  constructor() {
    this.back = h("a", { className: "icon-button back", href: "#/", attrs: { "aria-label": "Back to the session" } }, icon("back", { size: 24 }));
    this.title = h("h1", { className: "session-title" }, "Files");
    this.subtitle = h("div", { className: "session-sub" });
    this.crumbs = h("nav", { className: "crumbs", attrs: { "aria-label": "Folders", "data-testid": "breadcrumbs" } });
    this.content = h("div", { className: "files-content" }, h("p", { className: "loading" }, "Loading…"));
    this.pane = h("section", { className: "pane files-pane", attrs: { "data-testid": "files", "aria-busy": "true" } }, this.crumbs, this.content);
    this.el = h("div", { className: "screen files-screen" },
      h("header", { className: "bar session-bar" },
        this.back,
        h("div", { className: "session-heading" }, this.title, h("div", { className: "session-meta" }, this.subtitle))),
      h("main", { className: "pane-main" }, this.pane));
  }

  setHeader({ title, subtitle = "", backHref }) {
    this.title.textContent = title;
    this.subtitle.textContent = subtitle;
    this.back.href = backHref;
  }

  /** @param {Array<{label: string, href: string}>} crumbs  the last one is where we are */
  setCrumbs(crumbs) {
    const parts = [];
    crumbs.forEach((c, i) => {
      if (i > 0) parts.push(h("span", { className: "crumb-sep", attrs: { "aria-hidden": "true" } }, "/"));
      parts.push(i === crumbs.length - 1
        ? h("span", { className: "crumb current", attrs: { "aria-current": "page" } }, c.label)
        : h("a", { className: "crumb", href: c.href }, c.label));
    });
    replaceChildren(this.crumbs, parts);
  }

  loading() {
    this.pane.setAttribute("aria-busy", "true");
  }

  done() {
    this.pane.setAttribute("aria-busy", "false");
  }

  scrollToTop() {
    this.pane.scrollTop = 0;
  }

  /**
   * @param {{entries: Array<{name: string, type: string, size?: number}>, truncated?: boolean}} answer
   * @param {(name: string) => string} entryHref
   */
  renderDirectory(answer, entryHref) {
    const entries = Array.isArray(answer.entries) ? answer.entries : [];
    const items = entries.map((e) => {
      const name = String(e.name ?? "");
      const kind = TYPE_LABEL[e.type] ?? "entry";
      const inner = [
        icon(e.type === "directory" ? "folder" : e.type === "symlink" ? "link" : "file", { size: 20, label: kind }),
        h("span", { className: "entry-name" }, name, e.type === "directory" ? "/" : ""),
        e.type === "file" && typeof e.size === "number" ? h("span", { className: "entry-size" }, formatSize(e.size)) : null,
      ];
      // .git is listed but not opened by the server; "other" (sockets, devices) has nothing to show.
      const openable = e.type !== "other" && name !== ".git";
      return h("li", {}, openable
        ? h("a", { className: `entry ${e.type}`, href: entryHref(name), attrs: { "data-testid": "file-entry", "data-name": name } }, inner)
        : h("span", { className: `entry ${e.type} inert`, attrs: { "data-testid": "file-entry", "data-name": name } }, inner));
    });
    replaceChildren(this.content,
      items.length ? h("ul", { className: "entries" }, items) : h("p", { className: "empty-note" }, "This folder is empty."),
      answer.truncated === true ? h("p", { className: "diff-notice warn", attrs: { role: "note" } }, `Only the first ${entries.length} entries are shown.`) : null);
    this.done();
  }

  /** @param {{size?: number, binary?: boolean, text?: string, truncated?: boolean}} answer */
  renderFile(answer) {
    const size = typeof answer.size === "number" ? formatSize(answer.size) : "";
    const parts = [h("p", { className: "muted file-meta" }, [size, answer.binary ? "binary" : "text"].filter(Boolean).join(" · "))];
    if (answer.truncated === true) {
      parts.push(h("p", { className: "diff-notice warn", attrs: { role: "note", "data-testid": "file-truncated" } },
        h("strong", {}, "Only the beginning is shown."), " The file is longer than the server sends."));
    }
    if (answer.binary === true || typeof answer.text !== "string") {
      parts.push(h("p", { className: "diff-notice" }, "Binary file: its contents are not shown."));
    } else if (answer.text === "") {
      parts.push(h("p", { className: "empty-note" }, "The file is empty."));
    } else {
      parts.push(h("pre", { className: "file-text", attrs: { "data-testid": "file-text" } }, answer.text));
    }
    replaceChildren(this.content, parts);
    this.done();
  }

  renderMessage(title, text) {
    replaceChildren(this.content,
      h("div", { className: "pane-message", attrs: { role: "status", "data-testid": "files-message" } }, h("strong", {}, title), text ? h("p", {}, text) : null));
    this.done();
  }
}
