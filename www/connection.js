// The one module that owns a WebSocket: connects to sessions/<id> below the page's directory
// (urls.js: the page may be served under a prefix), parses records, and
// reconnects with backoff (only when the close was not a normal one), resuming with
// `?since=<last seq>` so the server can replay what was missed.
//
// Events (EventTarget):
//   "state"   detail {state, delayMs?, code?}  state: connecting | open | waiting | closed
//   "record"  detail {record}                   every parsed JSON value, amarre.* included
//   "close"   detail {code, reason, action, opened}  action from closeAction(); opened: the
//             socket had opened (false: the handshake failed, e.g. 404/409)
//
// Presence (issue 10): right after every open and on every visibilitychange the socket sends
// {"type":"amarre.presence","visible":<document.visibilityState === "visible">}, so the host
// sends push notifications only while nobody looks. The host consumes these frames.
//
// Never touches the DOM (it only reads doc.visibilityState); the WebSocket class, the document
// and timers are injectable for tests.

import { Backoff, closeAction } from "./backoff.js";
import { sessionSocketUrl } from "./urls.js";

export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.sessionId
   * @param {{href: string}} [options.location]  the page's address (location)
   * @param {typeof WebSocket} [options.WebSocketImpl]
   * @param {Backoff} [options.backoff]
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
   * @param {{visibilityState: string, addEventListener: Function, removeEventListener: Function} | null} [options.doc]
   *   where presence comes from; null sends none
   */
  constructor({ sessionId, location = globalThis.location, WebSocketImpl = globalThis.WebSocket,
    backoff = new Backoff(), timers = globalThis, doc = globalThis.document ?? null } = {}) {
    super();
    this.doc = doc;
    this.onVisibility = () => this.sendPresence();
    this.watchingVisibility = false;
    this.sessionId = sessionId;
    this.location = location;
    this.WebSocketImpl = WebSocketImpl;
    this.backoff = backoff;
    this.timers = timers;
    /** Highest `_seq` seen; sent as `since` on reconnect. */
    this.since = null;
    /** Connects with `?readonly=1` (a terminal session watched without typing). */
    this.readonly = false;
    this.state = "closed";
    this.ws = null;
    this.retryTimer = null;
    this.retryAt = null;
    this.stopped = true;
    this.attempts = 0;
  }

  get url() {
    return sessionSocketUrl(this.sessionId, { href: this.location.href, since: this.since, readonly: this.readonly });
  }

  /** Starts connecting (again). */
  open() {
    this.stopped = false;
    this.watchVisibility(true);
    this.cancelRetry();
    if (this.ws) return;
    this.connect();
  }

  /** Closes for good (the user left the view). */
  close() {
    this.stopped = true;
    this.watchVisibility(false);
    this.cancelRetry();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(1000, "client left"); } catch { /* already closing */ }
    }
    this.setState("closed");
  }

  /** While waiting for a retry: try now. */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.cancelRetry();
    this.connect();
  }

  /**
   * Connects again now, from where it is (`since`): after a change of `readonly`, or to start
   * afresh after `since = null`. Nothing to do when closed for good.
   */
  reopen() {
    if (this.stopped) return;
    this.cancelRetry();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(1000, "reconnecting"); } catch { /* already closing */ }
    }
    this.connect();
  }

  /** Test hook: cut the connection as a network failure would, then reconnect with backoff. */
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    detach(ws);
    try { ws.close(4000, "dropped by client"); } catch { /* ignore */ }
    this.handleClose({ code: 1006, reason: "dropped", opened: true });
  }

  /** Sends one record; false when not connected (nothing is queued). */
  send(record) {
    const ws = this.ws;
    if (!ws || this.state !== "open" || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(record));
    return true;
  }

  /** Tells the host whether this page is on screen; false when not connected. */
  sendPresence() {
    if (!this.doc) return false;
    return this.send(presenceRecord(this.doc));
  }

  /** Notes a record's `_seq` so a reconnect resumes after it. */
  noteSeq(seq) {
    if (typeof seq === "number" && Number.isFinite(seq) && (this.since === null || seq > this.since)) this.since = seq;
  }

  // --- internals ----------------------------------------------------------------------------

  connect() {
    this.attempts += 1;
    this.setState("connecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.handleClose({ code: 1006, reason: "could not open", opened: false });
      return;
    }
    this.ws = ws;
    let opened = false;
    let greeted = false;
    ws.onopen = () => {
      opened = true;
      // The first frame, before any listener of "open" sends something.
      if (this.doc) ws.send(JSON.stringify(presenceRecord(this.doc)));
      this.setState("open");
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      if (!greeted) {
        // A session answered: the next failure starts again at 1 s.
        greeted = true;
        this.backoff.reset();
      }
      for (const line of event.data.split("\n")) {
        if (!line.trim()) continue;
        let record;
        try {
          record = JSON.parse(line);
        } catch {
          record = { type: "amarre.unparsable", line };
        }
        this.dispatchEvent(new CustomEvent("record", { detail: { record } }));
        if (this.ws !== ws) return; // a listener closed or dropped us
      }
    };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.handleClose({ code: event.code, reason: event.reason, opened });
    };
  }

  handleClose({ code, reason, opened }) {
    const action = closeAction(code);
    this.dispatchEvent(new CustomEvent("close", { detail: { code, reason, action, opened } }));
    if (this.stopped) return;
    if (action === "retry") {
      this.scheduleRetry(code);
    } else {
      this.stopped = true;
      this.watchVisibility(false);
      this.setState("closed", { code });
    }
  }

  scheduleRetry(code) {
    this.cancelRetry();
    const delayMs = this.backoff.next();
    this.retryAt = Date.now() + delayMs;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      if (!this.stopped && !this.ws) this.connect();
    }, delayMs);
    this.setState("waiting", { delayMs, code });
  }

  cancelRetry() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
  }

  watchVisibility(on) {
    if (!this.doc || on === this.watchingVisibility) return;
    this.watchingVisibility = on;
    if (on) this.doc.addEventListener("visibilitychange", this.onVisibility);
    else this.doc.removeEventListener("visibilitychange", this.onVisibility);
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }
}

/** The presence frame for the page's current visibility. */
export function presenceRecord(doc) {
  return { type: "amarre.presence", visible: doc.visibilityState === "visible" };
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
}
