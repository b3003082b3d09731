// The search box of the session list and its results, grouped by session. Every result is a
// link to the session opened at its record; the snippet is text with the matches in <mark>.
//
// Events: "query" detail {q, now} (now: Enter, search at once; else the user is typing),
// "more" (load the next page).

import { h, replaceChildren } from "./dom.js";
import { markedNodes } from "./highlight.js";
import { kindLabel } from "../search.js";
import { relativeTime, sessionTitle } from "../format.js";
import { sessionHash } from "../router.js";

/** A result's snippet: its text, the `matches` ranges in <mark> elements. */
export function snippetView(snippet) {
  const text = typeof snippet?.text === "string" ? snippet.text : "";
  return h("span", { className: "snippet" }, markedNodes(text, snippet?.matches));
}

/** One result: a link to its session at its record (`q` marks the terms there). */
export function resultView(result, q, now = Date.now()) {
  const kind = typeof result.kind === "string" ? result.kind : "";
  return h("li", {},
    h("a", {
      className: "search-result", href: sessionHash(result.sessionId, { seq: result.seq, q }),
      attrs: { "data-testid": "search-result", "data-session": result.sessionId, "data-seq": String(result.seq) },
    },
    h("span", { className: "result-top" },
      h("span", { className: `result-kind kind-${kind.replace(/[^a-z_]/g, "")}` }, kindLabel(kind)),
      typeof result.time === "number" ? h("span", { className: "result-time" }, relativeTime(result.time, now)) : null),
    snippetView(result.snippet)));
}

export class SearchView extends EventTarget {
  constructor() {
    super();
    this.input = h("input", {
      type: "search", className: "search-input", name: "q", placeholder: "Search all sessions",
      maxLength: 1000,
      attrs: {
        "data-testid": "search", "aria-label": "Search everything said in all sessions",
        enterkeyhint: "search", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
      },
    });
    this.input.addEventListener("input", () => this.emit("query", { q: this.input.value, now: false }));
    this.form = h("form", { className: "search-form", attrs: { role: "search" } }, this.input);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.emit("query", { q: this.input.value, now: true });
      // On a phone the keyboard would hide the results.
      if (globalThis.matchMedia?.("(pointer: coarse)").matches) this.input.blur();
    });
    this.error = h("p", { className: "search-error", hidden: true, attrs: { role: "alert" } });
    this.status = h("p", { className: "search-status muted", attrs: { role: "status" } });
    this.groups = h("div", { className: "search-groups" });
    this.moreButton = h("button", {
      type: "button", className: "btn small search-more", hidden: true, onclick: () => this.emit("more"),
    }, "Load more");
    this.results = h("div", { className: "search-results", hidden: true }, this.status, this.groups, this.moreButton);
    this.pills = new Map();
    this.el = h("div", { className: "search" }, this.form, this.error, this.results);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** The server's word on a query it refused (bad_query), or any other failure; null hides it. */
  showError(text) {
    this.error.hidden = !text;
    this.error.textContent = text ?? "";
  }

  /**
   * @param {{q: string, groups: Array<object>, loading?: boolean, hasMore?: boolean,
   *   loadingMore?: boolean, failed?: boolean}} state  groups from search.js groupResults
   */
  render({ q, groups, loading = false, hasMore = false, loadingMore = false, failed = false }, now = Date.now()) {
    this.results.hidden = !q;
    this.pills.clear();
    const count = groups.reduce((n, g) => n + g.results.length, 0);
    this.status.textContent = loading ? "Searching…" : failed ? "" : count === 0 ? `Nothing found for “${q}”.` : "";
    this.status.hidden = this.status.textContent === "";
    replaceChildren(this.groups, loading ? [] : groups.map((g) => this.groupView(g, q, now)));
    this.moreButton.hidden = loading || !hasMore;
    this.moreButton.disabled = loadingMore;
    this.moreButton.textContent = loadingMore ? "Loading…" : "Load more";
  }

  groupView(group, q, now) {
    const pill = h("span", { className: `status-pill ${group.status ?? ""}`, hidden: !group.status }, group.status ?? "");
    this.pills.set(group.sessionId, pill);
    return h("section", { className: "search-group", dataset: { session: group.sessionId } },
      h("h2", { className: "search-group-head" },
        h("span", { className: "group-title" }, sessionTitle({ id: group.sessionId, name: group.name })), pill),
      h("ul", { className: "search-list" }, group.results.map((r) => resultView(r, q, now))));
  }

  /** Newer statuses from the list's polling, without rebuilding the results. */
  updateStatuses(statusById) {
    for (const [id, pill] of this.pills) {
      const status = statusById.get(id) ?? null;
      pill.hidden = !status;
      pill.textContent = status ?? "";
      pill.className = `status-pill ${status ?? ""}`;
    }
  }

  clear() {
    if (this.input.value !== "") this.input.value = "";
    this.showError(null);
    this.render({ q: "", groups: [] });
  }
}
