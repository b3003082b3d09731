// The session screen, continued: its stored side. Opened at a record (a search result), the
// history around it is loaded first and the live stream attaches where it ends; an archived
// (stopped) session is read-only, with Resume; Stop, Resume and Rename. Mixed into
// SessionController.prototype by session-controller.js, as transcript-history.js is into
// Transcript.

import { ApiError } from "./api.js";
import { sessionHash } from "./router.js";
import { TextDialog } from "./views/text-dialog.js";

/**
 * Opened at a record of a running session, this many newer records are loaded at once to reach
 * the live end; past that, they load as the user scrolls down (or "↓ Latest" starts afresh).
 */
export const AUTO_FILL_RECORDS = 1000;

/**
 * Stops the agent and keeps the session (the archive); the page turns read-only. A method of
 * both session screens (the transcript's and the terminal's): it uses their `api`, `id`,
 * `destroyed`, `view.showBanner`, `refreshSummary`, `setSummary` and `showArchived`.
 */
export async function stopAndArchive() {
  let summary;
  try {
    summary = await this.api.stopSession(this.id);
  } catch (e) {
    if (this.destroyed) return;
    if (e instanceof ApiError && e.code === "not_running") {
      summary = await this.refreshSummary();
      if (summary?.status === "stopped") this.showArchived();
      return;
    }
    this.view.showBanner("error", { text: `Stop failed: ${e.message}` });
    return;
  }
  if (this.destroyed) return;
  this.setSummary(summary);
  this.showArchived();
}

export const archiveMethods = {
  /** The history of a session without a live stream (crashed or archived). */
  loadStored(summary, what) {
    if (this.target) {
      this.openAtTarget(summary);
    } else if (typeof summary.lastSeq === "number") {
      this.history.initial(summary.lastSeq).then((kept) => {
        if (kept) {
          this.storedUpTo = summary.lastSeq;
          if (this.archived) this.historyReady = true;
        }
        this.afterHistory();
      }).catch(() => {});
    } else {
      this.view.transcript.setHistoryNote(`This server keeps no history: the transcript of ${what} session is not available.`);
    }
  },

  /** Loads the history around the target record, shows it marked, then goes on to the live end. */
  async openAtTarget(summary) {
    let kept = false;
    try {
      kept = await this.history.around(this.target.seq, { lastSeq: summary.lastSeq ?? null });
    } catch (e) {
      if (this.destroyed) return;
      this.view.showBanner("error", { text: `The history could not be loaded: ${e.message}` });
      return;
    }
    if (this.destroyed) return;
    if (!kept) {
      // No event store: there is no record to go to; the session opens as usual.
      this.target = null;
      this.transcript.setTarget(null);
      if (this.summary?.status === "running") this.attachLive();
      else this.view.transcript.setHistoryNote("This server keeps no history.");
      return;
    }
    this.historyReady = true;
    this.storedUpTo = this.history.newest;
    this.renderNow();
    if (!this.view.transcript.reveal(this.transcript.targetKey, this.target.terms)) {
      this.view.showBanner("gone", { href: sessionHash(this.id) });
    }
    this.view.transcript.setMoreBelow(!this.history.caughtUp);
    this.afterHistory();
    this.fillForward();
  },

  /**
   * Loads newer pages while the user is near the bottom, or while the live end is close (then
   * the live stream attaches; see AUTO_FILL_RECORDS).
   */
  async fillForward() {
    while (!this.destroyed && this.target && !this.history.caughtUp) {
      const left = typeof this.summary?.lastSeq === "number" ? this.summary.lastSeq - (this.history.newest ?? 0) : Infinity;
      const running = this.summary?.status === "running" && !this.archived;
      if (!(running && left <= AUTO_FILL_RECORDS) && !this.view.transcript.nearBottom()) return;
      if (!this.history.canLoadNewer) return; // a page is on its way; its end calls again
      try {
        await this.history.newer();
      } catch {
        return;
      }
      if (this.destroyed) return;
      this.storedUpTo = this.history.newest;
      this.renderNow();
    }
    if (this.destroyed || !this.target) return;
    this.view.transcript.setMoreBelow(false);
    if (this.summary?.status === "running" && !this.archived) this.attachLive();
  },

  /** Archived (stopped): no agent, no WebSocket; the transcript stays, read-only, with Resume. */
  showArchived() {
    // A later Resume attaches from what this page has seen.
    if (this.liveAttached && typeof this.connection.since === "number") {
      this.storedUpTo = this.connection.since;
      this.historyReady = true;
    }
    this.archived = true;
    this.liveAttached = false;
    clearTimeout(this.restartWatch);
    this.restartWatch = null;
    this.crashInfo = null;
    this.connection.close();
    this.setOffline();
    this.view.showBanner(null);
    this.view.setReadOnly(true);
    this.view.composer.setConnected(false, "The session is archived");
    this.renderHeader();
  },

  stop: stopAndArchive,

  /** Resumes an archived session: the agent starts again and the live stream attaches. */
  async resume() {
    if (this.resuming) return;
    this.resuming = true;
    this.view.setReadOnly(true, { resuming: true });
    let summary = null;
    try {
      summary = await this.api.restartSession(this.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === "already_running")) {
        this.resuming = false;
        if (this.destroyed) return;
        this.view.setReadOnly(true);
        this.view.showBanner("error", { text: `Resume failed: ${e.message}` });
        return;
      }
    }
    this.resuming = false;
    if (this.destroyed) return;
    if (summary) this.setSummary(summary);
    else await this.refreshSummary();
    if (this.destroyed) return;
    if (this.target && !this.history.caughtUp) {
      this.win.location.hash = sessionHash(this.id);
      return;
    }
    this.archived = false;
    this.view.setReadOnly(false);
    this.view.showBanner(null);
    this.renderHeader();
    this.attachLive();
  },

  /** Renames the session for everyone (PATCH); "" removes the name. */
  async rename() {
    const renamed = this.transcript.sessionName;
    const current = renamed !== undefined ? renamed ?? "" : typeof this.summary?.name === "string" ? this.summary.name : "";
    const summary = await TextDialog.ask({
      title: "Rename session", label: "Name", value: current, placeholder: "e.g. fix login bug",
      hint: "Every device sees the new name. Leave it empty to remove the name.", confirmLabel: "Rename",
      submit: (name) => this.api.renameSession(this.id, name.trim()),
    });
    if (!summary || this.destroyed) return;
    this.transcript.setSessionName(typeof summary.name === "string" ? summary.name : null);
    this.setSummary(summary);
    this.schedule();
  },
};
