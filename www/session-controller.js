// One open session: connection + transcript + history + view, and what the user does there.
//
// Opened at a record (`target`, from a search result): the history around it is loaded from
// the event store first, the record scrolled into view and marked, and the live WebSocket
// attaches only where the stored history ends (with `since`, so nothing is missed between).
// An archived (stopped) session has no WebSocket (the upgrade answers 409): its history is
// read-only, with Resume. That stored side is in session-archive.js, mixed in below.

import { Connection } from "./connection.js";
import { Transcript } from "./reducer.js";
import { History } from "./history.js";
import { ApiError } from "./api.js";
import { SessionView } from "./views/session-view.js";
import { confirmAndDelete } from "./session-delete.js";
import { queryTerms } from "./search.js";
import { sessionTitle } from "./format.js";
import { changesHash, filesHash, sessionHash } from "./router.js";
import { approvalPreview, toolSummary } from "./tool-format.js";
import { checkPaired, closeNeedsAuthCheck } from "./auth.js";
import { archiveMethods } from "./session-archive.js";
import {
  SessionModes, responseError, revokeCommand, setModelCommand, setPermissionModeCommand, setThinkingCommand,
} from "./modes.js";
import { normalizeCommands } from "./palette.js";
import { DraftStore, enterSends, setEnterSends } from "./drafts.js";
import { MAX_MESSAGE_BYTES, formatBytes, messageBytes } from "./images.js";
import { isTerminal } from "./terminal.js";

/** How often a crashed session is checked for a restart made elsewhere. */
const RESTART_POLL_MS = 4000;

/** Agents that speak pi's RPC commands (get_state, get_messages, get_commands, set_model...). */
const PI_LIKE = new Set(["pi", "demo", "claude-code"]);

/** How long a command sent on the WebSocket waits for its response. */
const REQUEST_TIMEOUT_MS = 15_000;

let commandCounter = 0;
const commandId = () => `web-${Date.now().toString(36)}-${(commandCounter++).toString(36)}`;

export class SessionController {
  /**
   * @param {{sessionId: string, api: object, attention: object, win?: Window,
   *   target?: {seq: number, q?: string} | null, onTerminal?: (summary: object) => void}} options
   *   target: open at this record; onTerminal: the session is a terminal session (issue 16),
   *   shown by terminal-controller.js instead when it answers true
   */
  constructor({ sessionId, api, attention, win = globalThis.window, target = null, onTerminal = null }) {
    this.onTerminal = onTerminal;
    this.id = sessionId;
    this.target = typeof target?.seq === "number" ? { seq: target.seq, terms: queryTerms(target.q ?? "") } : null;
    /** The record this screen was opened at (app.js compares it with the route's). */
    this.targetSeq = this.target?.seq ?? null;
    /** History was loaded before the WebSocket: it attaches with `since` = storedUpTo. */
    this.historyReady = false;
    this.storedUpTo = null;
    this.liveAttached = false;
    this.archived = false;
    this.baseTitle = null;
    this.api = api;
    this.attention = attention;
    this.win = win;
    this.summary = null;
    this.hello = null;
    this.hellos = 0;
    this.replay = false;
    this.messagesRequest = null;
    this.seqLog = [];
    this.frame = null;
    this.destroyed = false;
    this.transcript = new Transcript();
    if (this.target) this.transcript.setTarget(this.target.seq);
    this.history = new History({ api, sessionId, transcript: this.transcript });
    this.connection = new Connection({ sessionId, doc: document }); // sends presence (issue 10)
    /** The model, thinking level, permission mode and allowed tools the agent reported. */
    this.modes = new SessionModes();
    /** Commands sent with an id, waiting for their response: id -> {resolve, timer}. */
    this.requests = new Map();
    /** Per connection: the agent's commands and models, asked once. */
    this.commandsPromise = null;
    this.modelsView = { state: "idle" };
    this.modesPending = null;
    this.modesError = null;
    this.drafts = new DraftStore();
    this.view = new SessionView({ enterSends: enterSends() });
    this.connState = { state: "connecting" };
    this.bind();
  }

  bind() {
    const c = this.connection;
    c.addEventListener("record", (e) => this.onRecord(e.detail.record));
    c.addEventListener("state", (e) => this.onState(e.detail));
    c.addEventListener("close", (e) => this.onClose(e.detail));
    const v = this.view;
    v.composer.addEventListener("send", (e) => this.send(e.detail));
    v.composer.addEventListener("draft", (e) => this.drafts.save(this.id, e.detail.text));
    v.composer.addEventListener("focus", () => v.transcript.keepNewest());
    v.addEventListener("modes", () => this.openModes());
    v.addEventListener("revoke", (e) => this.revoke(e.detail.toolName));
    const sheet = v.modesSheet;
    sheet.addEventListener("model", (e) => this.change(setModelCommand(e.detail.model), `Switching to ${e.detail.model.name}…`));
    sheet.addEventListener("thinking", (e) => this.change(setThinkingCommand(e.detail.level), `Thinking: ${e.detail.level}…`));
    sheet.addEventListener("permission", (e) => this.change(setPermissionModeCommand(e.detail.mode), "Switching the permission mode…"));
    sheet.addEventListener("revoke", (e) => this.revoke(e.detail.toolName));
    v.addEventListener("enter", (e) => {
      setEnterSends(e.detail.value);
      v.setEnterSends(e.detail.value);
    });
    this.onPageHide = () => v.composer.flushDraft();
    this.win.addEventListener("pagehide", this.onPageHide);
    v.composer.addEventListener("abort", () => this.connection.send({ type: "abort" }));
    v.dock.addEventListener("answer", (e) => this.answer(e.detail.response));
    v.addEventListener("restart", () => this.restart());
    v.addEventListener("retry", () => this.retry());
    v.addEventListener("delete", () => this.remove());
    v.addEventListener("rename", () => this.rename());
    v.addEventListener("stop", () => this.stop());
    v.addEventListener("resume", () => this.resume());
    v.addEventListener("changes", () => { this.win.location.hash = changesHash(this.id); });
    v.addEventListener("files", () => { this.win.location.hash = filesHash(this.id); });
    v.addEventListener("notify", async () => {
      await this.attention.requestPermission();
      v.setNotifyAvailable(this.attention.permission === "default");
    });
    v.setNotifyAvailable(this.attention.permission === "default");
    v.transcript.addEventListener("needolder", () => this.loadOlder());
    v.transcript.addEventListener("neednewer", () => this.fillForward());
    v.transcript.addEventListener("latest", () => { this.win.location.hash = sessionHash(this.id); });
    this.onVisible = () => { if (!document.hidden) this.retrySoon(); };
    this.onOnline = () => this.retrySoon();
    document.addEventListener("visibilitychange", this.onVisible);
    this.win.addEventListener("online", this.onOnline);
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.view.composer.restoreDraft(this.drafts.load(this.id));
    this.start();
  }

  async start() {
    this.view.setHeader({ title: "Session", instanceId: "" });
    let summary;
    try {
      summary = await this.api.session(this.id);
    } catch (e) {
      if (this.destroyed) return;
      if (e instanceof ApiError && e.status === 404) {
        this.view.showBanner("missing");
        this.setOffline();
        this.view.composer.setConnected(false, "No such session");
        return;
      }
      this.view.showBanner("error", { text: e.message });
      return;
    }
    if (this.destroyed) return;
    if (isTerminal(summary) && this.onTerminal?.(summary)) return;
    this.setSummary(summary);
    if (summary.status === "stopped") {
      this.showArchived();
      this.loadStored(summary, "an archived");
      return;
    }
    if (summary.status === "crashed") {
      this.showCrash(summary);
      this.setOffline();
      this.loadStored(summary, "a crashed");
      return;
    }
    if (this.target) {
      this.view.setConnection({ state: "history" });
      this.view.composer.setConnected(false, "Older history: scroll down to the latest to write");
      this.openAtTarget(summary);
      return;
    }
    this.attachLive();
  }

  /**
   * Opens the live stream. After history loaded here first, from where it ends: the server
   * replays what came since, then goes live.
   */
  attachLive() {
    if (this.liveAttached || this.destroyed) return;
    this.liveAttached = true;
    if (this.historyReady && typeof this.storedUpTo === "number") {
      this.transcript.setBaseline(this.storedUpTo);
      this.connection.noteSeq(this.storedUpTo);
    }
    this.connection.open();
  }

  setSummary(summary) {
    this.summary = summary;
    this.renderHeader();
  }

  /** The session's name: a rename seen in the records (live), else the summary's. */
  get title() {
    const renamed = this.transcript.sessionName;
    if (renamed !== undefined) return sessionTitle({ id: this.id, name: renamed });
    const s = this.summary ?? {};
    return sessionTitle(s.id ? s : { id: this.id });
  }

  renderHeader() {
    const s = this.summary ?? {};
    const h = this.hello ?? {};
    const model = this.transcript.model;
    const modes = this.modes.summary;
    const name = this.title;
    if (name !== this.baseTitle) {
      this.baseTitle = name;
      this.attention.setBaseTitle(`${name} · amarre`);
    }
    this.view.setActions({ canStop: !this.archived && s.status !== "stopped" });
    this.view.setHeader({
      title: this.transcript.sessionName !== undefined ? name : this.transcript.title ?? name,
      instanceId: h.instanceId ?? s.instanceId,
      agent: h.agent ?? s.agent,
      status: this.archived ? "stopped" : this.transcript.crash ? "crashed" : h.status ?? s.status,
      // The modes chip shows the model when the agent reported it (get_state).
      model: modes ? null : typeof model === "object" && model ? model.name ?? model.id : typeof model === "string" ? model : null,
      branch: typeof s.worktree?.branch === "string" ? s.worktree.branch : null,
      branchHref: changesHash(this.id),
    });
  }

  // --- records -------------------------------------------------------------------------------

  onRecord(r) {
    if (r && r.type === "amarre.hello") {
      // A session handed over to the terminal (or a summary that did not say so).
      if (isTerminal(r) && this.onTerminal?.({ ...(this.summary ?? {}), agent: r.agent })) return;
      this.onHello(r);
    }
    if (this.modes.apply(r)) this.renderModes();
    if (r && r.type === "response" && r.id !== undefined && this.requests.has(String(r.id))) {
      const waiting = this.requests.get(String(r.id));
      this.requests.delete(String(r.id));
      clearTimeout(waiting.timer);
      waiting.resolve(r);
    }
    if (r && r.type === "response" && this.messagesRequest && r.id === this.messagesRequest) {
      this.messagesRequest = null;
      if (r.success && Array.isArray(r.data?.messages)) this.transcript.prependMessages(r.data.messages);
      this.schedule();
      return;
    }
    if (r && typeof r._seq === "number") this.replay = true;
    const applied = this.transcript.apply(r);
    if (applied && r && typeof r._seq === "number") {
      this.connection.noteSeq(r._seq);
      // Kept for the end-to-end tests (no loss, no duplicates across reconnects).
      if (this.seqLog.length < 100_000) this.seqLog.push(r._seq);
    }
    this.schedule();
  }

  onHello(hello) {
    this.hello = hello;
    this.hellos += 1;
    const caps = Array.isArray(hello.capabilities) ? hello.capabilities : [];
    if (caps.includes("replay") || caps.includes("since")) this.replay = true;
    if (this.hellos === 1 && this.historyReady) {
      // The history is here already; the server replays from where it ends.
      this.refreshSummary();
    } else if (this.hellos === 1) {
      this.transcript.setBaseline(hello.seq);
      if (typeof hello.seq === "number") this.connection.noteSeq(hello.seq);
      this.loadInitialHistory(hello.seq);
    } else {
      if (!this.replay && !this.freshAgent) {
        this.transcript.markDiscontinuity();
        this.transcript.addMarker("Reconnected. This server does not replay, so output sent while the connection was down is missing here.", "warn");
      }
      this.freshAgent = false;
      this.refreshSummary();
    }
    if (PI_LIKE.has(hello.agent)) {
      const id = commandId();
      this.transcript.quietIds.add(id);
      this.connection.send({ type: "get_state", id });
    }
    // A new connection (maybe to a restarted agent): its commands and models are asked again.
    this.commandsPromise = null;
    if (this.modelsView.state !== "loading") this.modelsView = { state: "idle" };
    this.modes.models = null;
    this.view.composer.setCommandSource(PI_LIKE.has(hello.agent) ? () => this.loadCommands() : null);
    if (this.view.modesSheet.isOpen) this.loadModels();
    this.renderModes();
    this.renderHeader();
  }

  async loadInitialHistory(boundary) {
    let kept = false;
    try {
      kept = await this.history.initial(boundary);
    } catch {
      kept = false;
    }
    if (this.destroyed) return;
    if (!kept && PI_LIKE.has(this.hello?.agent)) {
      // No event store on the server: ask the agent for the conversation instead.
      const id = commandId();
      this.messagesRequest = id;
      this.transcript.quietIds.add(id);
      this.connection.send({ type: "get_messages", id });
    } else if (!kept) {
      this.view.transcript.setHistoryNote("Output from before this page was opened is not stored on this server.");
    }
    this.afterHistory();
    // Questions in the history page that were answered meanwhile, or older than the page.
    this.refreshSummary();
  }

  async loadOlder() {
    if (!this.history.canLoadOlder) return;
    try {
      await this.history.older();
    } catch {
      return;
    }
    this.afterHistory();
  }

  afterHistory() {
    if (this.destroyed) return;
    this.renderNow();
    if (this.history.mode === "events" && this.history.exhausted) this.view.transcript.setHistoryNote("Start of the session");
    // A short first page does not fill the screen: keep going while the top is in view.
    if (this.history.canLoadOlder && this.view.transcript.sentinelVisible()) this.loadOlder();
  }

  async refreshSummary() {
    const before = this.transcript.applied;
    try {
      const summary = await this.api.session(this.id);
      if (this.destroyed) return;
      this.setSummary(summary);
      if (Array.isArray(summary.pendingRequests)) this.transcript.syncPending(summary.pendingRequests, before);
      this.schedule();
      return summary;
    } catch (e) {
      return e instanceof ApiError && e.status === 404 ? "missing" : null;
    }
  }

  // --- rendering (at most once per frame) ------------------------------------------------------

  schedule() {
    if (this.frame !== null || this.destroyed) return;
    const run = () => { this.frame = null; this.renderNow(); };
    // Hidden tabs get no animation frames; a timer still keeps the title and notifications going.
    this.frame = document.hidden ? { t: setTimeout(run, 250) } : { r: requestAnimationFrame(run) };
  }

  renderNow() {
    if (this.frame) {
      if (this.frame.t) clearTimeout(this.frame.t);
      if (this.frame.r) cancelAnimationFrame(this.frame.r);
      this.frame = null;
    }
    const t = this.transcript;
    const changes = t.takeChanges();
    this.view.transcript.apply(changes);
    const approvals = [...changes.prepended, ...changes.added, ...changes.updated].filter((i) => i.kind === "approval");
    if (approvals.length) this.view.dock.update(approvals);
    if (changes.meta || approvals.length) {
      this.view.composer.setBusy(t.streaming);
      this.view.setStrip({ statuses: t.statuses, widgets: t.widgets, queue: t.queue });
      this.view.setTotals(t.totals);
      this.view.setConnection(this.connState, { working: t.streaming });
      this.renderHeader();
      if (t.editorText !== null && t.editorTextRev !== this.editorTextRev) {
        this.editorTextRev = t.editorTextRev;
        this.view.composer.setText(t.editorText);
      }
      if (t.crash) this.showCrash(t.crash);
    }
    for (const a of changes.attention) this.raise(a);
    if (this.win.__amarre) this.win.__amarre.renders = (this.win.__amarre.renders ?? 0) + 1;
  }

  raise(a) {
    const name = this.title;
    const hash = sessionHash(this.id);
    if (a.kind === "approval") {
      const p = approvalPreview(a.item);
      const body = p.details?.kind === "command" ? `$ ${p.details.command}` : toolSummary(p.tool, p.details?.text ?? p.text) || a.item.title;
      this.attention.raise({ title: `${name}: ${a.item.title}`, body, tag: `approval-${this.id}`, hash });
    } else if (a.kind === "done") {
      this.attention.raise({ title: `${name}: the agent is done`, body: "Its turn ended.", tag: `done-${this.id}`, hash });
    } else if (a.kind === "crash") {
      this.attention.raise({ title: `${name}: the agent crashed`, body: "Open the session to restart it.", tag: `crash-${this.id}`, hash });
    }
  }

  // --- connection state ----------------------------------------------------------------------

  onState(detail) {
    this.connState = detail;
    this.renderModes();
    this.view.setConnection(detail, { working: this.transcript.streaming });
    this.view.composer.setConnected(detail.state === "open", detail.state === "waiting" || detail.state === "connecting" ? "Reconnecting…" : "Not connected");
    if (detail.state === "waiting") this.view.showBanner("network", { delayMs: detail.delayMs });
    else if (detail.state === "open" && this.bannerKind() === "network") this.view.showBanner(null);
  }

  bannerKind() {
    return this.view.banner.hidden ? null : [...this.view.banner.classList].find((c) => c !== "banner") ?? null;
  }

  async onClose(close) {
    const { action, opened } = close;
    if (this.destroyed) return;
    if (closeNeedsAuthCheck(close)) {
      // Revoked, or a refused handshake (a 401 looks like any other 1006 to the page): still paired?
      const verdict = await checkPaired(this.api);
      if (this.destroyed) return;
      if (verdict === "unpaired") {
        // api.js has announced it and the App shows the pairing screen; stop reconnecting.
        this.connection.close();
        this.setOffline();
        return;
      }
    }
    if (action === "ended") {
      // 1000: deleted, or stopped (archived) here or elsewhere.
      const summary = await this.refreshSummary();
      if (this.destroyed) return;
      if (summary && summary.status === "stopped") {
        this.showArchived();
        return;
      }
      this.view.showBanner("ended");
      this.view.composer.setConnected(false, "This session was deleted");
      return;
    }
    if (action === "crashed" || !opened) {
      // Crash, or a handshake refused (404 deleted, 409 not running): ask the REST plane.
      const summary = await this.refreshSummary();
      if (this.destroyed) return;
      if (summary === "missing") {
        this.connection.close();
        this.view.showBanner(this.hellos ? "ended" : "missing");
        this.setOffline();
        return;
      }
      if (summary && summary.status === "stopped") {
        this.showArchived();
        return;
      }
      if (summary && summary.status === "crashed") {
        this.connection.close();
        this.showCrash(this.transcript.crash ?? summary);
        this.setOffline();
        return;
      }
      if (action === "crashed" && summary && summary.status === "running") this.resumeAfterRestart();
    }
  }

  setOffline() {
    this.connState = { state: this.archived ? "archived" : "closed" };
    this.view.setConnection(this.connState);
  }

  showCrash(info) {
    this.crashInfo = { exitCode: info.exitCode ?? null, signal: info.signal ?? null };
    this.view.showBanner("crashed", { ...this.crashInfo, restarting: this.restarting });
    this.view.composer.setConnected(false, "The agent is not running");
    this.watchForRestart();
  }

  /**
   * While crashed, asks the server now and then whether the session runs again (restarted
   * automatically by its instance's policy, or from another device), then reconnects.
   */
  watchForRestart() {
    if (this.restartWatch || this.destroyed) return;
    const tick = async () => {
      this.restartWatch = null;
      if (this.destroyed || !this.crashInfo) return;
      if (!document.hidden && !this.restarting) {
        const summary = await this.refreshSummary();
        if (this.destroyed || !this.crashInfo) return;
        if (summary === "missing") {
          this.crashInfo = null;
          this.view.showBanner("ended");
          return;
        }
        if (summary && summary.status === "running") {
          this.resumeAfterRestart();
          return;
        }
      }
      this.restartWatch = setTimeout(tick, RESTART_POLL_MS);
    };
    this.restartWatch = setTimeout(tick, RESTART_POLL_MS);
  }

  /** The agent runs again (restarted here, elsewhere or by the server): reconnect. */
  resumeAfterRestart({ local = false } = {}) {
    clearTimeout(this.restartWatch);
    this.restartWatch = null;
    this.crashInfo = null;
    if (this.target && !this.history.caughtUp) {
      // Opened far back in the history: start again at the live end.
      this.win.location.hash = sessionHash(this.id);
      return;
    }
    // A server that replays sends its own "restarted" event when it restarted by itself (and
    // replays the one of a restart made here when the history was loaded first).
    if (!this.historyReady && (local || !this.replay)) this.transcript.apply({ type: "amarre.session_event", event: "restarted" }, { live: false });
    else this.transcript.clearCrash();
    this.freshAgent = true;
    this.view.showBanner(null);
    if (this.connection.state === "waiting") this.connection.retryNow();
    else if (!this.liveAttached) this.attachLive();
    else this.connection.open();
    this.schedule();
  }

  retrySoon() {
    if (this.connection.state === "waiting") this.connection.retryNow();
  }

  retry() {
    if (this.connection.state === "waiting") this.connection.retryNow();
    else if (!this.summary) this.start();
    else if (this.target && this.history.mode === "unknown") this.openAtTarget(this.summary);
  }

  // --- user actions ----------------------------------------------------------------------------

  send({ text, mode, images = [] }) {
    const record = commandFor(text, mode, images);
    if (images.length && messageBytes(record) > MAX_MESSAGE_BYTES) {
      this.view.composer.showError(`This message is larger than ${formatBytes(MAX_MESSAGE_BYTES)}: remove an image or shorten the text.`);
      return;
    }
    if (this.connection.send(record)) {
      this.view.composer.sent();
      this.drafts.clear(this.id);
      this.view.transcript.scrollToBottom();
    }
  }

  // --- commands with a response: the palette's commands, models and modes -----------------------

  /**
   * Sends `record` with a fresh id and resolves with the agent's `response` to it. `quiet`: the
   * transcript does not show it (a failure of a change the user made is shown: quiet false).
   */
  request(record, { quiet = true } = {}) {
    const id = commandId();
    return new Promise((resolve, reject) => {
      if (quiet) this.transcript.quietIds.add(id);
      if (!this.connection.send({ ...record, id })) {
        this.transcript.quietIds.delete(id);
        reject(new Error("not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new Error("the agent did not answer"));
      }, REQUEST_TIMEOUT_MS);
      this.requests.set(id, { resolve, timer });
    });
  }

  /** The agent's commands for the "/" palette, asked once per connection. */
  loadCommands() {
    if (!this.commandsPromise) {
      const asked = this.request({ type: "get_commands" }).then((r) => {
        if (r.success !== true) throw new Error(responseError(r, "the agent lists no commands"));
        return normalizeCommands(r.data);
      });
      this.commandsPromise = asked;
      // A failure is asked again the next time the palette opens.
      asked.catch(() => { if (this.commandsPromise === asked) this.commandsPromise = null; });
    }
    return this.commandsPromise;
  }

  openModes() {
    this.view.toggleMenu(false);
    this.modesError = null;
    this.view.modesSheet.open();
    this.renderModes();
    if (this.connection.state === "open") {
      this.loadModels();
      this.request({ type: "get_state" }).catch(() => null);
    }
  }

  loadModels() {
    if (this.modelsView.state === "loading" || this.modes.models || this.connection.state !== "open") return;
    this.modelsView = { state: "loading" };
    this.renderModes();
    this.request({ type: "get_available_models" }).then((r) => {
      this.modelsView = r.success === true ? { state: "ready" } : { state: "error", error: responseError(r) };
    }, (e) => {
      this.modelsView = { state: "error", error: e.message };
    }).then(() => this.renderModes());
  }

  /** A change of model or mode: sent, its failure shown, then the state asked again. */
  async change(record, pendingText) {
    this.modesPending = pendingText;
    this.modesError = null;
    this.renderModes();
    try {
      const r = await this.request(record, { quiet: false });
      if (r.success !== true) this.modesError = responseError(r);
    } catch (e) {
      this.modesError = `Not changed: ${e.message}.`;
    }
    if (this.destroyed) return;
    this.modesPending = null;
    this.renderModes();
    this.request({ type: "get_state" }).catch(() => null);
  }

  /** Revokes a tool allowed for this session; the agent's session_permissions follows. */
  revoke(toolName) {
    if (typeof toolName !== "string" || !toolName) return;
    this.change(revokeCommand(toolName), `Revoking ${toolName}…`);
  }

  renderModes() {
    if (this.destroyed) return;
    const connected = this.connection.state === "open" && !this.archived;
    const agent = this.hello?.agent ?? this.summary?.agent;
    this.view.setModes({
      available: PI_LIKE.has(agent) && !this.archived,
      summary: this.modes.summary,
      allowedTools: this.modes.allowedTools,
      canRevoke: connected && !this.modesPending,
    });
    if (this.view.modesSheet.isOpen) {
      this.view.modesSheet.render({
        modes: this.modes, models: this.modelsView, pending: this.modesPending, error: this.modesError, connected,
      });
    }
    this.renderHeader();
  }

  answer(response) {
    if (this.connection.send(response)) this.transcript.answerSent(response.id, response);
    else this.transcript.answerFailed(response.id);
    this.schedule();
  }

  async restart() {
    if (this.restarting) return;
    this.restarting = true;
    this.showCrash(this.crashInfo ?? {});
    try {
      const summary = await this.api.restartSession(this.id);
      if (this.destroyed) return;
      this.setSummary(summary);
      this.restarting = false;
      this.resumeAfterRestart({ local: true });
    } catch (e) {
      this.restarting = false;
      if (e instanceof ApiError && e.code === "already_running") {
        this.resumeAfterRestart();
        return;
      }
      this.showCrash(this.crashInfo ?? {});
      this.view.showBanner("error", { text: `Restart failed: ${e.message}` });
    }
  }

  async remove() {
    const summary = { ...(this.summary ?? {}), id: this.id, status: this.archived ? "stopped" : this.summary?.status };
    try {
      if (!await confirmAndDelete({ api: this.api, summary, title: this.title })) return;
    } catch (e) {
      this.view.showBanner("error", { text: e.message });
      return;
    }
    this.win.location.hash = "#/";
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.restartWatch);
    this.connection.close();
    if (this.frame?.t) clearTimeout(this.frame.t);
    if (this.frame?.r) cancelAnimationFrame(this.frame.r);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.win.removeEventListener("online", this.onOnline);
    this.win.removeEventListener("pagehide", this.onPageHide);
    for (const waiting of this.requests.values()) clearTimeout(waiting.timer);
    this.requests.clear();
    this.view.destroy();
  }
}

Object.assign(SessionController.prototype, archiveMethods);

/**
 * The record for what the user typed. Idle: a prompt (with streamingBehavior, so that if the
 * agent turned busy meanwhile pi queues it rather than refusing or starting a second turn).
 * Busy: steer or follow_up; a slash command goes as a prompt, which runs it at once.
 * `images`: [{type:"image", data, mimeType}] (images.js), sent with any of the three.
 */
export function commandFor(text, mode, images = []) {
  const record = mode === "prompt" || text.startsWith("/")
    ? { type: "prompt", message: text, streamingBehavior: mode === "steer" ? "steer" : "followUp" }
    : { type: mode === "steer" ? "steer" : "follow_up", message: text };
  if (Array.isArray(images) && images.length) record.images = images;
  return record;
}
