import { test } from "node:test";
import assert from "node:assert/strict";
import { createFields, defaultBranch, keptWorktree, recentRepos, rememberRepo, RECENT_REPOS_KEY } from "../worktree.js";
import { Api } from "../api.js";

test("the create dialog's body: a worktree replaces the working directory", () => {
  assert.deepEqual(createFields({ instanceId: "pi", name: " fix ", cwd: "/tmp", worktree: { enabled: false, repo: "/r" } }),
    { instanceId: "pi", name: "fix", cwd: "/tmp" });
  assert.deepEqual(createFields({ instanceId: "pi", name: "", cwd: "/tmp", worktree: { enabled: true, repo: " /src/app ", branch: "", base: "" } }),
    { instanceId: "pi", worktree: { repo: "/src/app" } });
  assert.deepEqual(createFields({ instanceId: "pi", worktree: { enabled: true, repo: "/src/app", branch: "feat/x ", base: "v1.2" } }),
    { instanceId: "pi", worktree: { repo: "/src/app", branch: "feat/x", base: "v1.2" } });
  assert.throws(() => createFields({ worktree: { enabled: true, repo: "  " } }), /repository/);
  assert.deepEqual(createFields({}), {});
});

test("the body reaches POST /sessions as it is, empty worktree fields left out", async () => {
  const calls = [];
  const api = new Api({
    base: "https://box.example/",
    fetchImpl: async (full, init) => {
      const url = full.replace(/^https:\/\/box\.example/, "");
      calls.push({ url, method: init.method, body: JSON.parse(init.body) });
      return { ok: true, status: 201, text: async () => JSON.stringify({ id: "abc" }) };
    },
  });
  await api.createSession(createFields({ instanceId: "echo", name: "n", cwd: "/ignored", worktree: { enabled: true, repo: "/r", branch: "b" } }));
  await api.createSession({ instanceId: "echo", cwd: " ", worktree: { repo: "/r", branch: "", base: " " } });
  assert.deepEqual(calls, [
    { url: "/sessions", method: "POST", body: { instanceId: "echo", name: "n", worktree: { repo: "/r", branch: "b" } } },
    { url: "/sessions", method: "POST", body: { instanceId: "echo", worktree: { repo: "/r" } } },
  ]);
});

test("the default branch is the name made safe, as the server makes it", () => {
  assert.equal(defaultBranch(""), "amarre/<name>");
  assert.equal(defaultBranch("Fix Login bug!"), "amarre/fix-login-bug-");
  assert.equal(defaultBranch("feat/a.b_c"), "amarre/feat/a.b_c");
});

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), data };
}

test("the repositories used last are remembered, most recent first, without duplicates", () => {
  const s = memoryStorage();
  assert.deepEqual(recentRepos(s), []);
  rememberRepo(s, "/a");
  rememberRepo(s, "/b");
  assert.deepEqual(rememberRepo(s, " /a "), ["/a", "/b"]);
  for (let i = 0; i < 10; i++) rememberRepo(s, `/r${i}`);
  assert.equal(recentRepos(s).length, 6);
  assert.equal(recentRepos(s)[0], "/r9");
  assert.deepEqual(recentRepos(memoryStorage({ [RECENT_REPOS_KEY]: "not json" })), []);
  assert.deepEqual(recentRepos(memoryStorage({ [RECENT_REPOS_KEY]: '[1, "", "/ok"]' })), ["/ok"]);
  assert.deepEqual(recentRepos(null), []);
  const full = { getItem: () => null, setItem: () => { throw new Error("quota"); } };
  assert.deepEqual(rememberRepo(full, "/x"), ["/x"]);
});

test("a delete answer tells when the worktree was kept, and why", () => {
  assert.equal(keptWorktree(null), null);
  assert.equal(keptWorktree({ worktree: { path: "/w", removed: true } }), null);
  assert.deepEqual(keptWorktree({ worktree: { path: "/w", removed: false, reason: "dirty" } }), { path: "/w", reason: "dirty", dirty: true });
  assert.deepEqual(keptWorktree({ worktree: { path: "/w", removed: false, reason: "fatal: locked" } }), { path: "/w", reason: "fatal: locked", dirty: false });
});

test("DELETE forces the worktree's removal only when asked", async () => {
  const urls = [];
  const api = new Api({
    base: "https://box.example/",
    fetchImpl: async (full, init) => {
      const url = full.replace(/^https:\/\/box\.example/, "");
      urls.push(`${init.method} ${url}`);
      return { ok: true, status: 200, text: async () => JSON.stringify({ worktree: { path: "/w", removed: true } }) };
    },
  });
  await api.deleteSession("abc");
  await api.deleteSession("abc", { removeWorktree: true });
  assert.deepEqual(urls, ["DELETE /sessions/abc", "DELETE /sessions/abc?worktree=remove"]);
});
