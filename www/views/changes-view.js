// The Changes screen: the files the session's agent changed (status, +N/−N, binary), and one
// file's diff (views/diff-view.js). Knows nothing about the network; changes-controller.js
// feeds it and gives it the links.
//
// Events: "refresh".

import { h, replaceChildren } from "./dom.js";
import { icon } from "./icons.js";
import { renderDiff as diffElement } from "./diff-view.js";
import { changeRow, changesSummary, splitPath } from "../changes.js";
import { parseDiff } from "../diff.js";

export class ChangesView extends EventTarget {
  constructor() {
    super();
    this.back = h("a", { className: "icon-button back", href: "#/", attrs: { "aria-label": "Back" } }, icon("back", { size: 24 }));
    this.title = h("h1", { className: "session-title" }, "Changes");
    this.subtitle = h("div", { className: "session-sub" });
    this.refreshButton = h("button", {
      type: "button", className: "icon-button refresh", attrs: { "aria-label": "Refresh", "data-testid": "changes-refresh" },
      onclick: () => this.dispatchEvent(new CustomEvent("refresh")),
    }, icon("refresh", { size: 22 }));
    this.banner = h("div", { className: "banner error", hidden: true, attrs: { role: "alert" } });
    this.listPane = h("section", { className: "pane changes-pane", attrs: { "data-testid": "changes", "aria-busy": "true" } },
      h("p", { className: "loading" }, "Loading…"));
    this.diffPane = h("section", { className: "pane diff-pane", hidden: true, attrs: { "data-testid": "diff-pane" } });
    this.el = h("div", { className: "screen changes-screen" },
      h("header", { className: "bar session-bar" },
        this.back,
        h("div", { className: "session-heading" }, this.title, h("div", { className: "session-meta" }, this.subtitle)),
        this.refreshButton),
      this.banner,
      h("main", { className: "pane-main" }, this.listPane, this.diffPane));
    this.listScroll = 0;
  }

  /** @param {{title: string, subtitle?: string, backHref: string}} header */
  setHeader({ title, subtitle = "", backHref }) {
    this.title.textContent = title;
    this.subtitle.textContent = subtitle;
    this.back.href = backHref;
  }

  setBusy(busy) {
    this.refreshButton.classList.toggle("busy", busy);
    (this.diffPane.hidden ? this.listPane : this.diffPane).setAttribute("aria-busy", String(busy));
  }

  /** A failure that leaves what is shown in place (a refresh that did not work). */
  showError(text) {
    this.banner.hidden = !text;
    replaceChildren(this.banner, text ? h("div", { className: "banner-text" }, text) : null);
  }

  showListPane() {
    if (!this.diffPane.hidden) {
      this.diffPane.hidden = true;
      this.listPane.hidden = false;
      this.listPane.scrollTop = this.listScroll;
    }
  }

  showDiffPane() {
    if (this.diffPane.hidden) {
      this.listScroll = this.listPane.scrollTop;
      this.listPane.hidden = true;
      this.diffPane.hidden = false;
    }
  }

  /**
   * @param {object} answer  GET /sessions/<id>/changes
   * @param {{fileHref: (path: string) => string, filesHref: string}} links
   */
  renderList(answer, { fileHref, filesHref }) {
    const summary = changesSummary(answer);
    const items = summary.rows.map((row) => h("li", {},
      h("a", {
        className: `changed-file status-${row.status}`, href: fileHref(row.path),
        attrs: { "data-testid": "changed-file", "data-path": row.path, "data-status": row.status },
      },
      h("span", { className: `change-letter status-${row.status}`, attrs: { title: row.label, "aria-label": row.label } }, row.letter),
      h("span", { className: "change-path" },
        row.dir ? h("span", { className: "change-dir" }, row.dir) : null,
        h("span", { className: "change-name" }, row.name),
        row.oldPath ? h("span", { className: "change-from" }, `from ${row.oldPath}`) : null),
      h("span", { className: `change-counts${row.binary ? " binary" : ""}`, attrs: { "aria-label": row.countsLabel } },
        row.binary ? "binary" : [h("span", { className: "count-add" }, `+${row.added}`), " ", h("span", { className: "count-del" }, `−${row.removed}`)]))));
    replaceChildren(this.listPane,
      h("div", { className: "changes-head" },
        h("strong", { className: "changes-title" }, summary.title),
        summary.against ? h("span", { className: "muted changes-base" }, summary.against) : null),
      items.length
        ? h("ul", { className: "changes-list" }, items)
        : h("p", { className: "empty-note" }, "Nothing differs from the base: no file was added, changed or deleted."),
      h("p", { className: "pane-foot" }, h("a", { href: filesHref, className: "btn small" }, icon("folder", { size: 18 }), "Browse files")));
    this.listPane.setAttribute("aria-busy", "false");
  }

  /** A sentence instead of the list (not a git repository, no such session). */
  renderListMessage(title, text, links = []) {
    replaceChildren(this.listPane,
      h("div", { className: "pane-message", attrs: { role: "status", "data-testid": "changes-message" } },
        h("strong", {}, title), text ? h("p", {}, text) : null,
        links.length ? h("p", { className: "pane-links" }, links.map(({ href, label }) => h("a", { href, className: "btn small" }, label))) : null));
    this.listPane.setAttribute("aria-busy", "false");
  }

  /**
   * The top of a diff: the path, and its status and counts when the list gave them (`file`),
   * else the status alone (`status`, from the diff's answer).
   */
  diffHeading(path, file, status = null) {
    const row = file ? changeRow(file) : status ? changeRow({ path, status }) : null;
    const { dir, name } = splitPath(path);
    let counts = null;
    if (file) {
      counts = row.binary ? " · binary"
        : [" · ", h("span", { className: "count-add" }, `+${row.added}`), " ", h("span", { className: "count-del" }, `−${row.removed}`)];
    }
    return h("div", { className: "diff-head" },
      h("div", { className: "diff-path" }, dir ? h("span", { className: "change-dir" }, dir) : null, h("strong", {}, name)),
      row ? h("div", { className: "diff-meta" },
        h("span", { className: `change-letter status-${row.status}` }, row.letter), ` ${row.label}`,
        row.oldPath ? ` from ${row.oldPath}` : "", counts) : null);
  }

  showDiffLoading(path, file) {
    this.showDiffPane();
    replaceChildren(this.diffPane, this.diffHeading(path, file), h("p", { className: "loading" }, "Loading…"));
    this.diffPane.scrollTop = 0;
  }

  /**
   * @param {object} answer  GET /sessions/<id>/changes?path=: {path, status, diff, truncated, binary}
   * @param {{file?: object, fileHref?: string|null, loadText?: Function|null, keepScroll?: boolean}} options
   */
  renderDiff(answer, { file = null, fileHref = null, loadText = null, keepScroll = false } = {}) {
    const scroll = this.diffPane.scrollTop;
    const parsed = parseDiff(answer.diff ?? "");
    const binary = answer.binary === true || parsed.binary;
    const notes = [];
    if (answer.truncated === true) {
      notes.push(h("p", { className: "diff-notice warn", attrs: { role: "note", "data-testid": "diff-truncated" } },
        h("strong", {}, "This diff is cut short."), " It is longer than the server sends; the rest is not shown."));
    }
    let body;
    if (binary) body = h("p", { className: "diff-notice" }, "Binary file: there is no text diff to show.");
    else if (parsed.hunks.length === 0) body = h("p", { className: "diff-notice" }, "No line changed (only the file's mode or name).");
    else body = diffElement(parsed, { loadText });
    replaceChildren(this.diffPane,
      this.diffHeading(answer.path ?? "", file, answer.status),
      notes,
      body,
      fileHref ? h("p", { className: "pane-foot" }, h("a", { href: fileHref, className: "btn small" }, icon("file", { size: 18 }), "Whole file")) : null);
    this.diffPane.setAttribute("aria-busy", "false");
    if (keepScroll) this.diffPane.scrollTop = scroll;
  }

  renderDiffMessage(path, file, title, text, backHref) {
    replaceChildren(this.diffPane, this.diffHeading(path, file),
      h("div", { className: "pane-message", attrs: { role: "status" } }, h("strong", {}, title), text ? h("p", {}, text) : null,
        h("p", {}, h("a", { href: backHref, className: "btn small" }, "All changes"))));
    this.diffPane.setAttribute("aria-busy", "false");
  }

  destroy() {}
}
