// A terminal session (issue 16): a program under a pseudo-terminal on the server, shown with
// xterm.js instead of the transcript.
//
// The program's size is the server's: it follows the client that typed last, and every viewer
// gets `terminal.size` records. So this page proposes its own size (`terminal.resize`, the cells
// that fit its frame: on open, on resize, on rotation, when the phone keyboard opens) and shows
// the terminal at the size the server says (the hello's `terminal`, then `terminal.size`); a
// larger program than the screen scrolls in its frame until this page types again.
//
// Output records go through TerminalFeed (terminal-feed.js): base64 -> bytes -> one streaming
// UTF-8 decoder -> xterm. A reconnect asks for what came after the last record seen (since=),
// so the terminal keeps what it shows and continues; a replay gap starts afresh (the server's
// kept scrollback). Read-only (the menu) reconnects with ?readonly=1.
//
// xterm.js is loaded on first use (vendor/xterm/xterm.js, an ES module made from Debian's
// xterm.js 3.8.1: see vendor/xterm/README.md), with its stylesheet.

import { Connection } from "./connection.js";
import { ApiError } from "./api.js";
import { checkPaired, closeNeedsAuthCheck } from "./auth.js";
import { confirmAndDelete } from "./session-delete.js";
import { stopAndArchive } from "./session-archive.js";
import { sessionTitle } from "./format.js";
import { sessionHash } from "./router.js";
import { TextDialog } from "./views/text-dialog.js";
import { TerminalView, askPaste } from "./views/terminal-view.js";
import { TerminalFeed } from "./terminal-feed.js";
import {
  fitSize, helloTerminal, inputFrames, isTerminal, keySequence, pasteData, resizeFrame, withCtrl,
} from "./terminal.js";

/** How often an exited program is checked for a restart made elsewhere. */
const RESTART_POLL_MS = 4000;
/** Stored records shown for a session without a program (archived or exited). */
const STORED_RECORDS = 1000;
/** Lines of scrollback xterm keeps. */
const SCROLLBACK_LINES = 5000;

const THEME = {
  background: "#111418",
  foreground: "#e7eaf0",
  cursor: "#e7eaf0",
  cursorAccent: "#111418",
  selection: "rgba(111, 155, 255, 0.35)",
  // Programs that paint with colour 0 (curses without default colours) blend with the page.
  black: "#1b1f26",
};

let loading = null;

/**
 * xterm.js's Terminal class, loaded once: the vendored ES module and its stylesheet (a
 * same-origin <link>, which the page's Content-Security-Policy allows).
 */
export function loadXterm(doc = globalThis.document) {
  if (!loading) {
    const css = new URL("./vendor/xterm/xterm.css", import.meta.url).href;
    const sheet = new Promise((resolve) => {
      if ([...doc.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === css)) { resolve(); return; }
      const link = doc.createElement("link");
      link.rel = "stylesheet";
      link.href = css;
      link.addEventListener("load", () => resolve());
      link.addEventListener("error", () => resolve());
      doc.head.appendChild(link);
    });
    loading = Promise.all([import("./vendor/xterm/xterm.js"), sheet]).then(([m]) => m.Terminal);
    loading.catch(() => { loading = null; });
  }
  return loading;
}

export class TerminalController {
  /**
   * @param {{sessionId: string, api: object, attention: object, win?: Window, summary?: object|null,
   *   target?: {seq: number}|null, onStructured?: (summary: object) => void}} options  summary: the
   *   session's, when known (the session screen found it is a terminal); onStructured: the session
   *   is no terminal (any more): the transcript screen takes over when it answers true
   */
  constructor({ sessionId, api, attention, win = globalThis.window, summary = null, target = null, onStructured = null, loadTerminal = loadXterm }) {
    this.id = sessionId;
    this.targetSeq = typeof target?.seq === "number" ? target.seq : null;
    this.api = api;
    this.attention = attention;
    this.win = win;
    this.summary = summary;
    this.onStructured = onStructured;
    this.loadTerminal = loadTerminal;
    this.hello = null;
    this.hellos = 0;
    /** Records up to this _seq are replayed (the hello's seq): their answers are not sent. */
    this.replayUpTo = -1;
    /** After a replay gap: the next connection starts afresh, with the server's scrollback. */
    this.fresh = true;
    this.readonly = false;
    this.serverReadonly = false;
    this.ctrl = false;
    this.archived = false;
    this.crashInfo = null;
    this.restarting = false;
    this.destroyed = false;
    this.term = null;
    this.feed = null;
    /** The size this page last proposed (terminal.resize), and what fits now. */
    this.sentSize = null;
    this.fitted = null;
    this.fitFrame = null;
    /** _seq of every record applied, for the end-to-end tests (no loss, no duplicates). */
    this.seqLog = [];
    this.renamed = undefined;
    this.connection = new Connection({ sessionId, doc: document });
    this.view = new TerminalView();
    this.connState = { state: "connecting" };
    this.bind();
  }

  bind() {
    const c = this.connection;
    c.addEventListener("record", (e) => this.onRecord(e.detail.record));
    c.addEventListener("state", (e) => this.onState(e.detail));
    c.addEventListener("close", (e) => this.onClose(e.detail));
    const v = this.view;
    v.addEventListener("key", (e) => this.key(e.detail.id));
    v.addEventListener("readonly", (e) => this.setReadonly(e.detail.value));
    v.addEventListener("restart", () => this.restart());
    v.addEventListener("retry", () => this.retry());
    v.addEventListener("resume", () => this.resume());
    v.addEventListener("rename", () => this.rename());
    v.addEventListener("stop", () => this.stop());
    v.addEventListener("delete", () => this.remove());
    v.addEventListener("notify", async () => {
      await this.attention.requestPermission();
      v.setNotifyAvailable(this.attention.permission === "default");
    });
    v.setNotifyAvailable(this.attention.permission === "default");
    this.scheduleFit = () => {
      if (this.fitFrame !== null || this.destroyed) return;
      this.fitFrame = this.win.requestAnimationFrame(() => {
        this.fitFrame = null;
        this.fit();
      });
    };
    this.onVisible = () => { if (!document.hidden) this.retrySoon(); };
    this.onOnline = () => this.retrySoon();
    document.addEventListener("visibilitychange", this.onVisible);
    this.win.addEventListener("online", this.onOnline);
    this.win.addEventListener("resize", this.scheduleFit);
    this.win.addEventListener("orientationchange", this.scheduleFit);
    // The phone keyboard shrinks the visual viewport (viewport.js resizes the app to it).
    this.win.visualViewport?.addEventListener("resize", this.scheduleFit);
    if (typeof this.win.ResizeObserver === "function") {
      this.observer = new this.win.ResizeObserver(this.scheduleFit);
      this.observer.observe(this.view.frame);
    }
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.start();
  }

  async start() {
    this.renderHeader();
    let summary = this.summary;
    if (!summary) {
      try {
        summary = await this.api.session(this.id);
      } catch (e) {
        if (this.destroyed) return;
        this.view.setLoading(null);
        if (e instanceof ApiError && e.status === 404) {
          this.view.showBanner("missing");
          this.setOffline();
          return;
        }
        this.view.showBanner("error", { text: e.message });
        return;
      }
      if (this.destroyed) return;
    }
    this.setSummary(summary);
    if (this.destroyed || !await this.openTerminal()) return;
    if (summary.status === "stopped") {
      this.showArchived();
      this.loadStored(summary);
      return;
    }
    if (summary.status === "crashed") {
      this.showCrash(summary);
      this.setOffline();
      this.loadStored(summary);
      return;
    }
    this.connection.open();
  }

  /** Loads xterm.js and opens the terminal in the view; false when it could not. */
  async openTerminal() {
    let Terminal;
    try {
      Terminal = await this.loadTerminal(document);
    } catch (e) {
      if (this.destroyed) return false;
      this.view.setLoading(null);
      this.view.showBanner("error", { text: `The terminal could not be loaded: ${e.message}` });
      return false;
    }
    if (this.destroyed) return false;
    const coarse = this.win.matchMedia?.("(pointer: coarse)").matches ?? false;
    this.term = new Terminal({
      cols: 80, rows: 24, scrollback: SCROLLBACK_LINES, cursorBlink: true, theme: THEME,
      fontFamily: 'ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: coarse ? 13 : 14, rendererType: "canvas", disableStdin: this.readonly,
    });
    this.term.open(this.view.host);
    this.feed = new TerminalFeed({
      term: this.term,
      onKeys: (data) => this.typed(data),
      onAnswer: (data) => this.sendInput(data),
    });
    this.view.setLoading(null);
    if (!coarse) this.term.focus();
    this.fit();
    return true;
  }

  setSummary(summary) {
    this.summary = summary;
    // Another kind of session (or one handed over to structured mode): the transcript view.
    if (!isTerminal(summary) && this.onStructured?.(summary)) return;
    this.renderHeader();
  }

  get title() {
    if (this.renamed !== undefined) return sessionTitle({ id: this.id, name: this.renamed });
    const s = this.summary ?? {};
    return sessionTitle(s.id ? s : { id: this.id });
  }

  renderHeader() {
    const s = this.summary ?? {};
    const name = this.title;
    this.attention.setBaseTitle(`${name} · amarre`);
    this.view.setHeader({
      title: name,
      instanceId: this.hello?.instanceId ?? s.instanceId,
      status: this.archived ? "stopped" : this.crashInfo ? "crashed" : this.hello?.status ?? s.status,
    });
    this.view.setActions({ canStop: !this.archived && s.status !== "stopped" });
  }

  // --- records -------------------------------------------------------------------------------

  onRecord(r) {
    if (!r || typeof r !== "object") return;
    if (r.type === "amarre.hello") {
      this.onHello(r);
      return;
    }
    const seq = typeof r._seq === "number" ? r._seq : null;
    if (seq !== null) {
      this.connection.noteSeq(seq);
      if (this.seqLog.length < 100_000) this.seqLog.push(seq);
    }
    if (this.feed?.apply(r, { live: seq === null || seq > this.replayUpTo })) return;
    switch (r.type) {
      case "amarre.replay_gap":
        // A fresh connection's scrollback starts where it starts: nothing to redo. After a
        // `since`, output was dropped by retention: what the terminal shows cannot be
        // continued, so start afresh (at most once per 5 s: never a reconnect loop).
        if (this.connectedFresh || Date.now() - (this.freshAt ?? 0) < 5000) return;
        this.startFresh();
        return;
      case "amarre.error":
        this.view.setStatus(errorText(r));
        return;
      case "amarre.session_event":
        if (r.event === "crashed" && (seq === null || seq > this.replayUpTo)) {
          // The close (1011) follows; onClose asks the server and shows it.
          this.crashInfo = { exitCode: r.exitCode ?? null, signal: r.signal ?? null };
          this.attention.raise({ title: `${this.title}: the program exited`, body: "Open the session to restart it.", tag: `crash-${this.id}`, hash: sessionHash(this.id) });
        } else if (r.event === "renamed") {
          this.renamed = typeof r.name === "string" ? r.name : null;
          this.renderHeader();
        } else if (r.event === "mode_changed") {
          this.refreshSummary();
        }
        return;
      default:
    }
  }

  onHello(hello) {
    this.hello = hello;
    this.hellos += 1;
    this.replayUpTo = typeof hello.seq === "number" ? hello.seq : -1;
    // The URL of this connection carried no `since` (nothing noted since it opened yet).
    this.connectedFresh = this.connection.since === null;
    if (!isTerminal(hello) && this.onStructured?.({ ...(this.summary ?? {}), agent: hello.agent, mode: hello.mode })) return;
    const t = helloTerminal(hello);
    // A fresh start replays the kept scrollback from the current size; a reconnect's replay
    // carries the size changes it missed.
    if (this.fresh && t?.size) this.feed?.resize(t.size);
    this.fresh = false;
    this.serverReadonly = t?.readonly === true;
    this.applyReadonly();
    this.crashInfo = null;
    this.view.showBanner(null);
    this.view.setStatus(null);
    this.sentSize = null;
    this.fit();
    this.renderHeader();
  }

  /** Clears the terminal and connects again without `since`: the server sends its scrollback. */
  startFresh() {
    this.freshAt = Date.now();
    this.fresh = true;
    this.feed?.reset();
    this.connection.since = null;
    this.connection.reopen();
  }

  // --- size ----------------------------------------------------------------------------------

  /** Measures the cells that fit the frame; proposes them to the server when they changed. */
  fit() {
    if (!this.term || this.destroyed) return;
    const frame = this.view.frame;
    const style = this.win.getComputedStyle(frame);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) || 0;
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) || 0;
    const core = this.term._core;
    const dims = core.renderer?.dimensions ?? {};
    const size = fitSize({
      width: frame.clientWidth - padX - (core.viewport?.scrollBarWidth ?? 0),
      height: frame.clientHeight - padY,
      cellWidth: dims.actualCellWidth,
      cellHeight: dims.actualCellHeight,
    });
    if (!size) return;
    this.fitted = size;
    this.proposeSize();
  }

  proposeSize() {
    const size = this.fitted;
    if (!size || this.readonly || this.serverReadonly || this.connState.state !== "open" || !this.hello) return;
    if (this.sentSize && this.sentSize.cols === size.cols && this.sentSize.rows === size.rows) return;
    const frame = resizeFrame(size);
    if (frame && this.connection.send(frame)) this.sentSize = size;
  }

  // --- input ---------------------------------------------------------------------------------

  /** What the user typed into the terminal (keyboard, xterm's own paste). */
  typed(data) {
    if (this.ctrl) {
      data = withCtrl(data);
      this.setCtrl(false);
    }
    this.sendInput(data);
  }

  /** Sends bytes to the program: false (and a note) when they could not be sent. */
  sendInput(data) {
    if (!data || this.readonly || this.serverReadonly) return false;
    for (const frame of inputFrames(data)) {
      if (!this.connection.send(frame)) {
        this.view.setStatus("Not connected: nothing was sent.");
        return false;
      }
    }
    return true;
  }

  setCtrl(on) {
    this.ctrl = on;
    this.view.setCtrl(on);
  }

  /** A key of the key bar. */
  key(id) {
    if (id === "ctrl") {
      this.setCtrl(!this.ctrl);
      return;
    }
    if (id === "paste") {
      this.paste();
      return;
    }
    const data = keySequence(id, { ctrl: this.ctrl, applicationCursor: this.feed?.applicationCursor ?? false });
    this.setCtrl(false);
    this.sendInput(data);
  }

  /** The clipboard (when the browser lets the page read it), else a text field. */
  async paste() {
    let text = null;
    const clipboard = this.win.navigator?.clipboard;
    if (typeof clipboard?.readText === "function") {
      try {
        text = await clipboard.readText();
      } catch {
        text = null;
      }
    }
    if (text === null || text === "") text = await askPaste();
    if (this.destroyed || !text) return;
    this.setCtrl(false);
    this.sendInput(pasteData(text, { bracketed: this.feed?.bracketedPaste ?? false }));
  }

  /** Watching only, or typing again: reconnects (from where it is) with or without ?readonly=1. */
  setReadonly(value) {
    this.readonly = Boolean(value);
    this.connection.readonly = this.readonly;
    this.applyReadonly();
    if (this.archived || this.crashInfo) return;
    if (this.connection.stopped) this.connection.open();
    else this.connection.reopen();
  }

  applyReadonly() {
    const off = this.readonly || this.serverReadonly;
    this.term?.setOption("disableStdin", off);
    if (off) this.setCtrl(false);
    this.view.setReadOnly(off, { forced: this.serverReadonly && !this.readonly });
  }

  // --- connection ----------------------------------------------------------------------------

  onState(detail) {
    this.connState = detail;
    this.view.setConnection(detail);
    this.view.setKeysEnabled(detail.state === "open");
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
      const verdict = await checkPaired(this.api);
      if (this.destroyed) return;
      if (verdict === "unpaired") {
        this.connection.close();
        this.setOffline();
        return;
      }
    }
    if (action === "ended") {
      const summary = await this.refreshSummary();
      if (this.destroyed) return;
      if (summary && summary.status === "stopped") {
        this.showArchived();
        return;
      }
      this.view.showBanner("ended");
      return;
    }
    if (action === "crashed" || !opened) {
      const summary = await this.refreshSummary();
      if (this.destroyed) return;
      if (summary === "missing") {
        this.connection.close();
        this.view.showBanner(this.hellos ? "ended" : "missing");
        this.setOffline();
        return;
      }
      if (summary?.status === "stopped") {
        this.showArchived();
        return;
      }
      if (summary?.status === "crashed") {
        this.connection.close();
        this.showCrash(this.crashInfo ?? summary);
        this.setOffline();
        return;
      }
      if (action === "crashed" && summary?.status === "running") this.resumeAfterRestart();
    }
  }

  async refreshSummary() {
    try {
      const summary = await this.api.session(this.id);
      if (this.destroyed) return summary;
      this.setSummary(summary);
      return summary;
    } catch (e) {
      return e instanceof ApiError && e.status === 404 ? "missing" : null;
    }
  }

  setOffline() {
    this.connState = { state: this.archived ? "archived" : "closed" };
    this.view.setConnection(this.connState);
    this.view.setKeysEnabled(false);
  }

  retrySoon() {
    if (this.connection.state === "waiting") this.connection.retryNow();
  }

  retry() {
    if (this.connection.state === "waiting") this.connection.retryNow();
    else if (!this.summary || !this.term) this.start();
  }

  // --- a program that is not running -----------------------------------------------------------

  /** The last stored records of an archived or exited session, so its last screen shows. */
  async loadStored(summary) {
    if (typeof summary.lastSeq !== "number" || !this.feed) return;
    let records;
    try {
      records = await this.api.events(this.id, { before: summary.lastSeq + 1, limit: STORED_RECORDS });
    } catch {
      return;
    }
    if (this.destroyed || !Array.isArray(records)) return;
    for (const r of records) {
      this.feed.apply(r, { live: false });
      if (typeof r._seq === "number") this.connection.noteSeq(r._seq);
    }
    this.fresh = false;
  }

  showCrash(info) {
    this.crashInfo = { exitCode: info.exitCode ?? null, signal: info.signal ?? null };
    this.view.showBanner("crashed", { ...this.crashInfo, restarting: this.restarting });
    this.view.setKeysEnabled(false);
    this.renderHeader();
    this.watchForRestart();
  }

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
        if (summary?.status === "running") {
          this.resumeAfterRestart();
          return;
        }
      }
      this.restartWatch = setTimeout(tick, RESTART_POLL_MS);
    };
    this.restartWatch = setTimeout(tick, RESTART_POLL_MS);
  }

  /** The program runs again: reconnect from where the terminal is. */
  resumeAfterRestart() {
    clearTimeout(this.restartWatch);
    this.restartWatch = null;
    this.crashInfo = null;
    this.view.showBanner(null);
    if (this.connection.state === "waiting") this.connection.retryNow();
    else this.connection.open();
    this.renderHeader();
  }

  async restart() {
    if (this.restarting) return;
    this.restarting = true;
    this.showCrash(this.crashInfo ?? {});
    try {
      const summary = await this.api.restartSession(this.id);
      this.restarting = false;
      if (this.destroyed) return;
      this.setSummary(summary);
      this.resumeAfterRestart();
    } catch (e) {
      this.restarting = false;
      if (this.destroyed) return;
      if (e instanceof ApiError && e.code === "already_running") {
        this.resumeAfterRestart();
        return;
      }
      this.showCrash(this.crashInfo ?? {});
      this.view.showBanner("error", { text: `Restart failed: ${e.message}` });
    }
  }

  showArchived() {
    this.archived = true;
    clearTimeout(this.restartWatch);
    this.restartWatch = null;
    this.crashInfo = null;
    this.connection.close();
    this.setOffline();
    this.view.showBanner(null);
    this.view.setArchived(true);
    this.term?.setOption("disableStdin", true);
    this.renderHeader();
  }

  /** Stops the program and keeps the session (the archive): as the transcript's screen does. */
  stop() {
    return stopAndArchive.call(this);
  }

  async resume() {
    if (this.resuming) return;
    this.resuming = true;
    this.view.setArchived(true, { resuming: true });
    let summary = null;
    try {
      summary = await this.api.restartSession(this.id);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === "already_running")) {
        this.resuming = false;
        if (this.destroyed) return;
        this.view.setArchived(true);
        this.view.showBanner("error", { text: `Resume failed: ${e.message}` });
        return;
      }
    }
    this.resuming = false;
    if (this.destroyed) return;
    if (summary) this.setSummary(summary);
    else await this.refreshSummary();
    if (this.destroyed) return;
    this.archived = false;
    this.view.setArchived(false);
    this.applyReadonly();
    this.view.showBanner(null);
    this.renderHeader();
    this.connection.open();
  }

  async rename() {
    const current = this.renamed !== undefined ? this.renamed ?? "" : typeof this.summary?.name === "string" ? this.summary.name : "";
    const summary = await TextDialog.ask({
      title: "Rename session", label: "Name", value: current, placeholder: "e.g. build shell",
      hint: "Every device sees the new name. Leave it empty to remove the name.", confirmLabel: "Rename",
      submit: (name) => this.api.renameSession(this.id, name.trim()),
    });
    if (!summary || this.destroyed) return;
    this.renamed = typeof summary.name === "string" ? summary.name : null;
    this.setSummary(summary);
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

  /** The terminal's text (scrollback and screen), for tests and debugging. */
  screenText() {
    return this.feed ? this.feed.text() : "";
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.restartWatch);
    this.connection.close();
    if (this.fitFrame !== null) this.win.cancelAnimationFrame(this.fitFrame);
    this.observer?.disconnect();
    document.removeEventListener("visibilitychange", this.onVisible);
    this.win.removeEventListener("online", this.onOnline);
    this.win.removeEventListener("resize", this.scheduleFit);
    this.win.removeEventListener("orientationchange", this.scheduleFit);
    this.win.visualViewport?.removeEventListener("resize", this.scheduleFit);
    this.feed?.dispose();
    this.term?.dispose();
    this.view.destroy();
  }
}

/** The line shown for an amarre.error sent to this page. */
export function errorText(r) {
  const code = r?.code ?? r?.error;
  switch (code) {
    case "read_only": return "This view is read-only: nothing was sent.";
    case "input_too_large": return "Too much at once: that input was not sent.";
    case "invalid_input": return "The server refused that input.";
    default: return `Server error: ${typeof code === "string" ? code : "unknown"}.`;
  }
}
