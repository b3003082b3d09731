// Worktree sessions on the page: the POST /sessions body the create dialog sends, the branch
// the server will choose, the repositories used last (localStorage), and what a DELETE answer
// says about the worktree. Pure but for the Storage passed in.

/** localStorage key of the repositories used last, most recent first. */
export const RECENT_REPOS_KEY = "amarre.recentRepos";
export const MAX_RECENT_REPOS = 6;

const trimmed = (v) => (typeof v === "string" ? v.trim() : "");

/**
 * The body of POST /sessions from the create dialog's fields. With the worktree on, the
 * worktree is the working directory: `cwd` is left out. Empty fields are left out.
 * @param {{instanceId?: string, name?: string, cwd?: string,
 *   worktree?: {enabled?: boolean, repo?: string, branch?: string, base?: string}}} values
 * @returns {{instanceId?: string, name?: string, cwd?: string, worktree?: {repo: string, branch?: string, base?: string}}}
 * @throws {Error} the worktree is on but no repository was given
 */
export function createFields({ instanceId, name, cwd, worktree } = {}) {
  const body = {};
  if (trimmed(instanceId)) body.instanceId = trimmed(instanceId);
  if (trimmed(name)) body.name = trimmed(name);
  if (worktree?.enabled) {
    const repo = trimmed(worktree.repo);
    if (!repo) throw new Error("Enter the path of the git repository the worktree is made from.");
    body.worktree = { repo };
    if (trimmed(worktree.branch)) body.worktree.branch = trimmed(worktree.branch);
    if (trimmed(worktree.base)) body.worktree.base = trimmed(worktree.base);
  } else if (trimmed(cwd)) {
    body.cwd = trimmed(cwd);
  }
  return body;
}

/**
 * The branch the server makes when none is given: `amarre/<name made safe>` (lowercase
 * letters, digits, `-`, `_`, `.`, `/`; runs of anything else become `-`), or
 * `amarre/<session id>` without a name (shown as "amarre/<name>").
 */
export function defaultBranch(name) {
  const safe = trimmed(name).toLowerCase().replace(/[^a-z0-9_./-]+/g, "-");
  return `amarre/${safe || "<name>"}`;
}

/** The repositories used last, most recent first (bad or missing storage: none). */
export function recentRepos(storage) {
  try {
    const list = JSON.parse(storage?.getItem(RECENT_REPOS_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((r) => typeof r === "string" && r.trim()).slice(0, MAX_RECENT_REPOS) : [];
  } catch {
    return [];
  }
}

/** Puts `repo` first in the list of repositories used last. */
export function rememberRepo(storage, repo) {
  const r = trimmed(repo);
  if (!r || !storage) return recentRepos(storage);
  const list = [r, ...recentRepos(storage).filter((x) => x !== r)].slice(0, MAX_RECENT_REPOS);
  try {
    storage.setItem(RECENT_REPOS_KEY, JSON.stringify(list));
  } catch {
    // Private mode or full: the list is a convenience only.
  }
  return list;
}

/**
 * What a DELETE answer says about the session's worktree, when it was kept: null when there is
 * nothing to tell (removed, or not a worktree session).
 * @param {unknown} answer  {"worktree": {"path", "removed", "reason"?}} or null (204)
 * @returns {{path: string, reason: string, dirty: boolean} | null}
 */
export function keptWorktree(answer) {
  const wt = answer && typeof answer === "object" ? answer.worktree : null;
  if (!wt || typeof wt !== "object" || wt.removed !== false) return null;
  const reason = typeof wt.reason === "string" ? wt.reason : "";
  return { path: typeof wt.path === "string" ? wt.path : "", reason, dirty: reason === "" || reason === "dirty" };
}
