// Deleting a session, from the list or from the session screen: the question first (for a
// worktree session with the choice to remove its worktree even with changes, which must be
// made before the session is gone), then DELETE, then a notice when the worktree was kept.

import { ConfirmDialog } from "./views/confirm-dialog.js";
import { h } from "./views/dom.js";
import { sessionTitle } from "./format.js";
import { keptWorktree } from "./worktree.js";

/**
 * @param {{api: object, summary: object, title?: string}} options  summary: the session's
 * @returns {Promise<boolean>} true when the session is gone (deleted here, or already), false
 *   when the user cancelled
 * @throws {ApiError} any other refusal
 */
export async function confirmAndDelete({ api, summary, title = sessionTitle(summary) }) {
  const wt = summary?.worktree && typeof summary.worktree === "object" ? summary.worktree : null;
  const text = summary?.status === "stopped"
    ? "The session and its transcript are removed for every device."
    : "The agent is stopped and the session is removed for every device.";
  const answer = await ConfirmDialog.choose({
    title: `Delete “${title}”?`,
    text,
    body: wt
      ? [h("p", {}, "Its git worktree ", h("code", { className: "mono-path" }, String(wt.path ?? "")),
        " is removed too if it has no changes; the branch ", h("code", { className: "mono-path" }, String(wt.branch ?? "")), " is kept.")]
      : [],
    option: wt ? { label: "Also remove the worktree even if it has changes", testid: "worktree-force" } : null,
    confirmLabel: "Delete", danger: true,
  });
  if (!answer) return false;
  let result = null;
  try {
    result = await api.deleteSession(summary.id, { removeWorktree: answer.option });
  } catch (e) {
    if (e?.status === 404) return true;
    throw e;
  }
  const kept = keptWorktree(result);
  if (kept) tellKept(kept, wt);
  return true;
}

/** The worktree was left behind: where, and why. */
function tellKept(kept, wt) {
  const where = h("p", {}, "It is still at ", h("code", { className: "mono-path" }, kept.path || String(wt?.path ?? "")),
    wt?.branch ? [" on the branch ", h("code", { className: "mono-path" }, String(wt.branch))] : null, ".");
  ConfirmDialog.tell({
    title: "The worktree was kept",
    testid: "worktree-kept",
    body: kept.dirty
      ? ["It has changes that are not committed (or files git does not track), so it was not removed.", where,
        h("p", {}, "Commit or copy what you need, then remove it with ",
          h("code", { className: "mono-path" }, "git worktree remove --force"), ".")]
      : [`git could not remove it: ${kept.reason}`, where],
  });
}
