import { test } from "node:test";
import assert from "node:assert/strict";
import { SearchController } from "../search-controller.js";
import { ApiError } from "../api.js";

/** Timers run by hand. */
function fakeTimers() {
  let next = 1;
  const pending = new Map();
  return {
    pending,
    setTimeout(fn, ms) { const id = next++; pending.set(id, { fn, ms }); return id; },
    clearTimeout(id) { pending.delete(id); },
    fire() { const all = [...pending.values()]; pending.clear(); for (const t of all) t.fn(); },
  };
}

/** The view's side: what was rendered and shown. */
class FakeView extends EventTarget {
  constructor() {
    super();
    this.renders = [];
    this.errors = [];
    this.input = { value: "" };
  }
  render(state) { this.renders.push(state); }
  showError(text) { this.errors.push(text); }
  updateStatuses(map) { this.statuses = map; }
  type(q, now = false) { this.dispatchEvent(new CustomEvent("query", { detail: { q, now } })); }
  more() { this.dispatchEvent(new Event("more")); }
  get last() { return this.renders[this.renders.length - 1]; }
}

const result = (sessionId, seq) => ({ sessionId, sessionName: null, seq, kind: "assistant", time: 0, snippet: { text: "x", matches: [[0, 1]] } });
const settle = () => new Promise((resolve) => setImmediate(resolve));

function setup(search) {
  const calls = [];
  const api = { search: async (q) => { calls.push(q); return search(q); } };
  const view = new FakeView();
  const timers = fakeTimers();
  const sessions = new Map([["a", { id: "a", status: "running" }]]);
  const c = new SearchController({ api, view, timers, sessions: () => sessions });
  const changes = [];
  c.addEventListener("change", () => changes.push(c.active));
  return { c, api, view, timers, calls, changes, sessions };
}

test("typing searches once the user pauses; Enter searches at once", async () => {
  const { view, timers, calls } = setup(() => ({ results: [result("a", 1)], next: null }));
  view.type("mig");
  view.type("migra");
  view.type("migration");
  assert.equal(calls.length, 0);
  assert.equal(timers.pending.size, 1, "one timer, restarted by each key");
  timers.fire();
  await settle();
  assert.deepEqual(calls, [{ q: "migration", limit: 20 }]);
  view.type("other", true);
  assert.equal(timers.pending.size, 0);
  await settle();
  assert.deepEqual(calls.map((c) => c.q), ["migration", "other"]);
  const last = view.last;
  assert.equal(last.q, "other");
  assert.equal(last.loading, false);
  assert.deepEqual(last.groups.map((g) => [g.sessionId, g.status, g.results.length]), [["a", "running", 1]]);
});

test("an answer to an older query is dropped", async () => {
  const answers = [];
  const { view } = setup(() => new Promise((resolve) => answers.push(resolve)));
  view.type("first", true);
  view.type("second", true);
  answers[1]({ results: [result("b", 2)], next: null });
  await settle();
  answers[0]({ results: [result("a", 1)], next: null });
  await settle();
  assert.equal(view.last.q, "second");
  assert.deepEqual(view.last.groups.map((g) => g.sessionId), ["b"]);
});

test("Load more asks for the page before `next` and appends it", async () => {
  const { view, calls } = setup((q) => (q.before === "cursor-1"
    ? { results: [result("a", 5)], next: null }
    : { results: [result("a", 9), result("b", 7)], next: "cursor-1" }));
  view.type("fix", true);
  await settle();
  assert.equal(view.last.hasMore, true);
  view.more();
  await settle();
  assert.deepEqual(calls[1], { q: "fix", limit: 20, before: "cursor-1" });
  assert.equal(view.last.hasMore, false);
  assert.deepEqual(view.last.groups.map((g) => [g.sessionId, g.results.map((r) => r.seq)]), [["a", [9, 5]], ["b", [7]]]);
});

test("a query the server refuses shows its detail under the box", async () => {
  const { view } = setup(() => { throw new ApiError(400, "bad_query", "unbalanced quote", { error: "bad_query", detail: "unbalanced quote" }); });
  view.type('"fix', true);
  await settle();
  assert.equal(view.errors[view.errors.length - 1], "unbalanced quote");
  assert.equal(view.last.failed, true);
  assert.deepEqual(view.last.groups, []);
});

test("clearing the box goes back to the list at once", async () => {
  const { view, changes, timers, c } = setup(() => ({ results: [], next: null }));
  view.type("fix", true);
  await settle();
  view.type("fixe");
  view.type("   ");
  assert.equal(timers.pending.size, 0, "the pending search is cancelled");
  assert.equal(c.active, false);
  assert.deepEqual(changes, [true, false]);
  assert.equal(view.last.q, "");
});

test("the list's polling updates the statuses in the results", async () => {
  const { view, c, sessions } = setup(() => ({ results: [result("a", 1)], next: null }));
  view.type("fix", true);
  await settle();
  sessions.set("a", { id: "a", status: "stopped" });
  c.sessionsChanged();
  assert.equal(view.statuses.get("a"), "stopped");
});
