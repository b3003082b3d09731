// Search on the session list: runs GET /search while the user types (debounced) or at once on
// Enter, pages with "Load more" (the answer's `next` as `before`), and drops answers to a
// query that is no longer the current one.
//
// Events: "change" when the search turns on or off (`active`): the list hides behind results.

import { ApiError } from "./api.js";
import { groupResults } from "./search.js";

export const SEARCH_DEBOUNCE_MS = 300;
export const SEARCH_LIMIT = 20;

/** The query of the last search, for the list shown again after a result was opened. */
let remembered = "";

export class SearchController extends EventTarget {
  /**
   * @param {object} options
   * @param {import("./api.js").Api} options.api
   * @param {import("./views/search-view.js").SearchView} options.view
   * @param {() => Map<string, object>} [options.sessions] the list's summaries by id
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
   */
  constructor({ api, view, sessions = () => new Map(), timers = globalThis, debounceMs = SEARCH_DEBOUNCE_MS, limit = SEARCH_LIMIT }) {
    super();
    this.api = api;
    this.view = view;
    this.sessions = sessions;
    this.timers = timers;
    this.debounceMs = debounceMs;
    this.limit = limit;
    this.q = "";
    this.results = [];
    this.next = null;
    this.loading = false;
    this.loadingMore = false;
    this.failed = false;
    /** Bumped by every new query: an answer from an older one is dropped. */
    this.generation = 0;
    this.timer = null;
    view.addEventListener("query", (e) => this.query(e.detail.q, e.detail.now));
    view.addEventListener("more", () => this.more());
  }

  get active() {
    return this.q !== "";
  }

  /** Runs the search of the previous visit of the list again, if there was one. */
  restore() {
    if (remembered === "") return;
    this.view.input.value = remembered;
    this.run(remembered);
  }

  /** What the box holds now; `now`: Enter was pressed. */
  query(text, now = false) {
    const q = String(text ?? "").trim();
    this.cancelTimer();
    if (q === "") {
      this.reset();
      return;
    }
    if (now) this.run(q);
    else this.timer = this.timers.setTimeout(() => { this.timer = null; this.run(q); }, this.debounceMs);
  }

  async run(q) {
    this.cancelTimer();
    const generation = ++this.generation;
    const wasActive = this.active;
    remembered = q;
    Object.assign(this, { q, results: [], next: null, loading: true, loadingMore: false, failed: false });
    this.view.showError(null);
    this.render();
    if (!wasActive) this.dispatchEvent(new Event("change"));
    let answer;
    try {
      answer = await this.api.search({ q, limit: this.limit });
    } catch (e) {
      if (generation !== this.generation) return;
      this.fail(e);
      return;
    }
    if (generation !== this.generation) return;
    this.loading = false;
    this.take(answer);
    this.render();
  }

  async more() {
    if (!this.next || this.loading || this.loadingMore) return;
    const generation = this.generation;
    this.loadingMore = true;
    this.render();
    let answer;
    try {
      answer = await this.api.search({ q: this.q, limit: this.limit, before: this.next });
    } catch (e) {
      if (generation !== this.generation) return;
      this.loadingMore = false;
      this.view.showError(e.message);
      this.render();
      return;
    }
    if (generation !== this.generation) return;
    this.loadingMore = false;
    this.take(answer);
    this.render();
  }

  take(answer) {
    const results = Array.isArray(answer?.results) ? answer.results : [];
    this.results = this.results.concat(results);
    this.next = typeof answer?.next === "string" && answer.next !== "" ? answer.next : null;
  }

  fail(e) {
    this.loading = false;
    this.failed = true;
    // 400 bad_query: the server says what is wrong with the query, shown under the box.
    const badQuery = e instanceof ApiError && e.code === "bad_query";
    this.view.showError(badQuery ? e.detail ?? e.message : e.message);
    this.render();
  }

  render() {
    this.view.render({
      q: this.q, groups: groupResults(this.results, this.sessions()),
      loading: this.loading, hasMore: this.next !== null, loadingMore: this.loadingMore, failed: this.failed,
    });
  }

  /** The list polled: statuses in the results follow. */
  sessionsChanged() {
    if (!this.active) return;
    const statuses = new Map([...this.sessions()].map(([id, s]) => [id, s.status ?? null]));
    this.view.updateStatuses(statuses);
  }

  reset() {
    const wasActive = this.active;
    remembered = "";
    this.generation += 1;
    Object.assign(this, { q: "", results: [], next: null, loading: false, loadingMore: false, failed: false });
    this.view.showError(null);
    this.render();
    if (wasActive) this.dispatchEvent(new Event("change"));
  }

  cancelTimer() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  destroy() {
    this.cancelTimer();
    this.generation += 1;
  }
}
