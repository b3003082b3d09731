// The Changes screen of one session ("#/s/<id>/changes", a file's diff with "?path=<file>"):
// GET /sessions/<id>/changes and, for the diff, ?path=. Refreshed when a run of the agent
// ends (an `agent_end` record on the session's live stream, which this screen follows while it
// is open), when the page comes back into view, and on the refresh button.

import { Connection } from "./connection.js";
import { ApiError } from "./api.js";
import { ChangesView } from "./views/changes-view.js";
import { sessionTitle } from "./format.js";
import { changesHash, filesHash, sessionHash } from "./router.js";

/** Records after which the working tree may have changed: the end of a run. */
const RUN_END = new Set(["agent_end"]);

export class ChangesController {
  /**
   * @param {{sessionId: string, path?: string|null, api: object, attention: object, win?: Window,
   *   connect?: boolean}} options  path: the file whose diff is open; connect: follow the live
   *   stream for the ends of runs (tests turn it off)
   */
  constructor({ sessionId, path = null, api, attention, win = globalThis.window, connect = true }) {
    this.id = sessionId;
    this.api = api;
    this.attention = attention;
    this.win = win;
    this.path = path || null;
    this.summary = null;
    this.answer = null;
    this.destroyed = false;
    /** Loads done (a test hook: the Chromium test waits for a refresh). */
    this.loads = 0;
    this.loading = null;
    this.again = false;
    this.textCache = new Map();
    this.view = new ChangesView();
    this.view.addEventListener("refresh", () => this.refresh());
    this.connection = connect ? new Connection({ sessionId, doc: globalThis.document ?? null }) : null;
    this.connection?.addEventListener("record", (e) => this.onRecord(e.detail.record));
    this.connection?.addEventListener("close", (e) => this.onClose(e.detail));
    this.onVisible = () => { if (!document.hidden) this.refresh(); };
    document.addEventListener("visibilitychange", this.onVisible);
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.renderHeader();
    this.start();
  }

  async start() {
    try {
      this.summary = await this.api.session(this.id);
    } catch (e) {
      if (this.destroyed) return;
      if (e instanceof ApiError && e.status === 404) {
        this.view.renderListMessage("No such session.", "It may have been deleted.", [{ href: "#/", label: "All sessions" }]);
        this.view.showListPane();
        return;
      }
      this.summary = null; // the title waits; the changes may still load
    }
    if (this.destroyed) return;
    this.renderHeader();
    if (this.summary?.status === "running") this.connection?.open();
    this.refresh();
  }

  renderHeader() {
    const name = sessionTitle(this.summary ?? { id: this.id });
    const branch = typeof this.summary?.worktree?.branch === "string" ? `⎇ ${this.summary.worktree.branch}` : "";
    this.attention.setBaseTitle(`${this.path ? this.path.split("/").pop() : "Changes"} · ${name} · amarre`);
    this.view.setHeader({
      title: this.path ? "Diff" : "Changes",
      subtitle: [name, branch].filter(Boolean).join(" · "),
      backHref: this.path ? changesHash(this.id) : sessionHash(this.id),
    });
  }

  /** Another route of this screen: the list, or another file's diff. */
  navigate(route) {
    const path = route.path || null;
    if (path === this.path) return;
    this.path = path;
    this.renderHeader();
    this.refresh({ fresh: true });
  }

  /**
   * Loads what is on screen again: the list, and the open diff. Calls made while a load runs
   * end in one more load after it.
   */
  async refresh({ fresh = false } = {}) {
    if (this.destroyed) return;
    if (this.loading) {
      this.again = true;
      this.againFresh ||= fresh;
      return this.loading;
    }
    this.loading = this.load({ fresh });
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
    if (this.again && !this.destroyed) {
      const againFresh = this.againFresh;
      this.again = false;
      this.againFresh = false;
      await this.refresh({ fresh: againFresh });
    }
  }

  async load({ fresh }) {
    const path = this.path;
    this.view.setBusy(true);
    this.textCache.clear();
    if (path) {
      if (fresh) this.view.showDiffLoading(path, this.fileOf(path));
      // The list says where the repository is (can the file's text be read?) and the counts.
      const list = this.loadList({ draw: false });
      if (!this.answer) await list;
      await Promise.all([this.loadDiff(path, { keepScroll: !fresh }), list]);
    } else {
      this.view.showListPane();
      await this.loadList({ draw: true });
    }
    if (this.destroyed) return;
    this.view.setBusy(false);
    this.loads += 1;
  }

  fileOf(path) {
    return Array.isArray(this.answer?.files) ? this.answer.files.find((f) => f.path === path) ?? null : null;
  }

  async loadList({ draw }) {
    let answer;
    try {
      answer = await this.api.changes(this.id);
    } catch (e) {
      if (this.destroyed) return;
      if (!draw) return;
      if (e instanceof ApiError && e.status === 404) {
        this.answer = null;
        this.view.showError(null);
        this.view.renderListMessage(
          "Not a git repository.",
          "This session's directory is not in a git repository, so there are no changes to show.",
          [{ href: filesHash(this.id), label: "Browse files" }]);
        return;
      }
      this.showFailure(e);
      return;
    }
    if (this.destroyed) return;
    this.answer = answer;
    this.view.showError(null);
    if (draw) {
      this.view.renderList(answer, {
        fileHref: (p) => changesHash(this.id, p),
        filesHref: filesHash(this.id),
      });
    }
  }

  async loadDiff(path, { keepScroll }) {
    let answer;
    try {
      answer = await this.api.diff(this.id, path);
    } catch (e) {
      if (this.destroyed || path !== this.path) return;
      if (e instanceof ApiError && e.status === 404) {
        this.view.showError(null);
        this.view.showDiffPane();
        this.view.renderDiffMessage(path, null, "No changes in this file.",
          "It is the same as at the base now, or the session's directory is not in a git repository.", changesHash(this.id));
        return;
      }
      this.showFailure(e);
      return;
    }
    if (this.destroyed || path !== this.path) return;
    this.view.showError(null);
    this.view.showDiffPane();
    const inCwd = this.fileInCwd(answer);
    this.view.renderDiff(answer, {
      file: this.fileOf(path),
      keepScroll,
      fileHref: inCwd ? filesHash(this.id, path) : null,
      loadText: inCwd && answer.status !== "deleted" && answer.binary !== true ? () => this.fileText(path) : null,
    });
  }

  /**
   * Whether a changed file is also at the same path for the file browser: the repository's top
   * level is the session's directory (a worktree session), and the file still exists.
   */
  fileInCwd(answer) {
    const root = this.answer?.root;
    const cwd = this.summary?.cwd;
    if (typeof root !== "string" || typeof cwd !== "string") return false;
    const trim = (p) => p.replace(/\/+$/, "");
    return trim(root) === trim(cwd) && answer.status !== "deleted";
  }

  /** The file's current text (for the unchanged lines between hunks), once per load. */
  fileText(path) {
    if (!this.textCache.has(path)) {
      this.textCache.set(path, this.api.files(this.id, path).then(
        (f) => (f?.type === "file" && typeof f.text === "string" ? f.text : null),
        () => null));
    }
    return this.textCache.get(path);
  }

  showFailure(e) {
    this.view.showError(`The changes could not be loaded: ${e.message}`);
    if (!this.answer && !this.path) {
      this.view.renderListMessage("The changes could not be loaded.", e.message, [{ href: sessionHash(this.id), label: "Back to the session" }]);
    }
  }

  // --- the live stream: only to learn when a run ends -----------------------------------------

  onRecord(r) {
    if (!r || typeof r !== "object") return;
    if (r.type === "amarre.hello" && typeof r.seq === "number") this.connection.noteSeq(r.seq);
    if (typeof r._seq === "number") this.connection.noteSeq(r._seq);
    if (RUN_END.has(r.type)) this.refresh();
  }

  async onClose({ opened, action }) {
    if (this.destroyed) return;
    if (action !== "retry" || !opened) {
      // Deleted, stopped, crashed, or the handshake refused: is there still an agent to follow?
      let summary = null;
      try {
        summary = await this.api.session(this.id);
      } catch {
        summary = null;
      }
      if (this.destroyed) return;
      if (summary?.status !== "running") {
        this.connection.close();
        this.refresh(); // its last run may have ended with it
      }
    }
  }

  destroy() {
    this.destroyed = true;
    this.connection?.close();
    document.removeEventListener("visibilitychange", this.onVisible);
    this.view.destroy();
  }
}
