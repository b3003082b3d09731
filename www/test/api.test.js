import { test } from "node:test";
import assert from "node:assert/strict";
import { Api, ApiError, isUnauthorized } from "../api.js";

/** The page's directory: the client is served under a prefix (issue 15). */
const BASE = "https://box.example/amarre/";

/**
 * A fetch that answers from a table keyed by "METHOD /path" (the path below BASE); records what
 * was asked (`calls`: that path, `urls`: the full URLs fetched).
 */
function fakeFetch(table) {
  const calls = [];
  const urls = [];
  const impl = async (full, init) => {
    urls.push(full);
    const url = full.startsWith(BASE) ? `/${full.slice(BASE.length)}` : full;
    calls.push({ url, method: init.method, body: init.body ? JSON.parse(init.body) : undefined });
    const answer = table[`${init.method} ${url}`];
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer();
    const [status, body] = answer ?? [404, { error: "not_found" }];
    return { ok: status >= 200 && status < 300, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
  };
  return { impl, calls, urls };
}

function setup(table) {
  const f = fakeFetch(table);
  const api = new Api({ base: `${BASE}#/s/0123456789ab`, fetchImpl: f.impl });
  const events = [];
  api.addEventListener("unauthorized", (e) => events.push(e.detail));
  return { api, events, calls: f.calls, urls: f.urls };
}

test("every request goes below the page's directory, never to the origin's root", async () => {
  const { api, urls } = setup({ "GET /sessions": [200, []], "GET /sessions/a1/events?limit=5": [200, []] });
  await api.sessions();
  await api.events("a1", { limit: 5 });
  await api.device().catch(() => null);
  assert.deepEqual(urls, [
    "https://box.example/amarre/sessions",
    "https://box.example/amarre/sessions/a1/events?limit=5",
    "https://box.example/amarre/auth/device",
  ]);
});

test("401 means unauthorized everywhere except a wrong pairing code", () => {
  assert.equal(isUnauthorized(401, "sessions"), true);
  assert.equal(isUnauthorized(401, "auth/device"), true);
  assert.equal(isUnauthorized(401, "auth/logout"), true);
  assert.equal(isUnauthorized(401, "auth/pair"), false);
  for (const status of [200, 403, 404, 409, 429, 502]) assert.equal(isUnauthorized(status, "sessions"), false, String(status));
});

test("a 401 from any API call announces that the page must pair, and still throws", async () => {
  const { api, events } = setup({ "GET /sessions": [401, { error: "unauthorized" }] });
  await assert.rejects(api.sessions(), (e) => e instanceof ApiError && e.status === 401 && e.code === "unauthorized");
  assert.deepEqual(events, [{ status: 401, path: "sessions" }]);
});

test("other failures are not announced", async () => {
  const { api, events } = setup({ "GET /sessions": [502, undefined], "GET /instances": new TypeError("offline") });
  await assert.rejects(api.sessions(), (e) => e.status === 502);
  await assert.rejects(api.instances(), (e) => e.status === 0 && e.code === "network");
  assert.deepEqual(events, []);
});

test("pairing posts the code and the name, and a wrong code is not 'unauthorized'", async () => {
  const { api, events, calls } = setup({ "POST /auth/pair": [401, { error: "invalid_code" }] });
  await assert.rejects(api.pair("abcd", "  Phone "), (e) => e.status === 401 && e.code === "invalid_code" && /wrong, expired or already used/.test(e.message));
  assert.deepEqual(calls[0], { url: "/auth/pair", method: "POST", body: { code: "abcd", name: "Phone" } });
  assert.deepEqual(events, []);
});

test("an empty device name is left out", async () => {
  const { api, calls } = setup({ "POST /auth/pair": [200, { id: "0123456789abcdef", name: "", kind: "browser" }] });
  await api.pair("abcd", "  ");
  assert.deepEqual(calls[0].body, { code: "abcd" });
});

test("too many attempts: 429 with the server's code", async () => {
  const { api } = setup({ "POST /auth/pair": [429, { error: "too_many_attempts" }] });
  await assert.rejects(api.pair("abcd"), (e) => e.status === 429 && /Wait a minute/.test(e.message));
});

test("a 401 to a request sent before a successful pairing is old news", async () => {
  let release;
  const late = new Promise((resolve) => { release = resolve; });
  const { api, events } = setup({
    "GET /sessions": () => late,
    "POST /auth/pair": [200, { id: "0123456789abcdef", name: "Phone", kind: "browser" }],
  });
  const pending = api.sessions();
  assert.deepEqual(await api.pair("abcd", "Phone"), { id: "0123456789abcdef", name: "Phone", kind: "browser" });
  release({ ok: false, status: 401, text: async () => '{"error":"unauthorized"}' });
  await assert.rejects(pending, (e) => e.status === 401);
  assert.deepEqual(events, []);
});

test("signing out revokes this device, then the page is unauthorized", async () => {
  const { api, events, calls } = setup({ "POST /auth/logout": [204, undefined] });
  await api.logout();
  assert.deepEqual(calls.map((c) => `${c.method} ${c.url}`), ["POST /auth/logout"]);
  assert.deepEqual(events, [{ reason: "signed-out" }]);
});

test("GET /auth/device in none mode answers without any 401", async () => {
  const { api, events } = setup({ "GET /auth/device": [200, { auth: "none" }] });
  assert.deepEqual(await api.device(), { auth: "none" });
  assert.deepEqual(events, []);
});

test("search: the query percent-encoded, the cursor passed as before", async () => {
  const q = 'migr* "the fix" & é=1';
  const { api, calls } = setup({});
  await assert.rejects(api.search({ q, limit: 20, before: "c/1" }));
  const url = new URL(calls[0].url, "http://x");
  assert.equal(url.pathname, "/search");
  assert.equal(url.searchParams.get("q"), q);
  assert.equal(url.searchParams.get("before"), "c/1");
  assert.equal(url.searchParams.get("limit"), "20");
  assert.ok(!calls[0].url.includes(" ") && !calls[0].url.includes('"'), calls[0].url);
});

test("a refused search is bad_query with the server's detail", async () => {
  const { api } = setup({ "GET /search?q=%22x&limit=20": [400, { error: "bad_query", detail: "unbalanced quote" }] });
  await assert.rejects(api.search({ q: '"x' }), (e) => e.code === "bad_query" && e.detail === "unbalanced quote" && /unbalanced quote/.test(e.message));
});

test("stop, rename and the status filter", async () => {
  const { api, calls } = setup({
    "POST /sessions/a1/stop": [200, { id: "a1", status: "stopped" }],
    "PATCH /sessions/a1": [200, { id: "a1", name: "new" }],
    "GET /sessions?status=stopped": [200, []],
  });
  assert.equal((await api.stopSession("a1")).status, "stopped");
  assert.equal((await api.renameSession("a1", "new")).name, "new");
  assert.deepEqual(await api.sessions({ status: "stopped" }), []);
  assert.deepEqual(calls.map((c) => [c.method, c.url, c.body]), [
    ["POST", "/sessions/a1/stop", undefined],
    ["PATCH", "/sessions/a1", { name: "new" }],
    ["GET", "/sessions?status=stopped", undefined],
  ]);
});

test("changes, a file's diff and the file browser: paths percent-encoded in the query", async () => {
  const { api, calls } = setup({
    "GET /sessions/a1/changes": [200, { root: "/r", files: [] }],
    "GET /sessions/a1/changes?path=src%2Fa+b%26c.js": [200, { path: "src/a b&c.js", diff: "" }],
    "GET /sessions/a1/files": [200, { type: "directory", entries: [] }],
    "GET /sessions/a1/files?path=..%2Fx": [403, { error: "forbidden", detail: "outside the session's directory" }],
  });
  assert.deepEqual(await api.changes("a1"), { root: "/r", files: [] });
  assert.equal((await api.diff("a1", "src/a b&c.js")).path, "src/a b&c.js");
  assert.equal((await api.files("a1")).type, "directory");
  await assert.rejects(api.files("a1", "../x"), (e) => e.status === 403 && e.code === "forbidden");
  assert.equal(calls.length, 4);
});
