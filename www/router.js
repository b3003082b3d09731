// Routing by location.hash: "#/" is the session list, "#/s/<id>" a session, "#pair=<code>"
// the link `amarre pair` prints (pair this browser, then the list).

import { normalizePairCode } from "./auth.js";

/** @returns {{name: "list"} | {name: "session", id: string} | {name: "pair", code: string}} */
export function parseRoute(hash) {
  const path = String(hash ?? "").replace(/^#/, "");
  if (/^\/?pair=/.test(path)) return { name: "pair", code: normalizePairCode(`#${path.replace(/^\//, "")}`) };
  const m = /^\/s\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path);
  if (m) return { name: "session", id: m[1] };
  return { name: "list" };
}

export function sessionHash(id) {
  return `#/s/${encodeURIComponent(id)}`;
}

/** Emits "route" (detail: the parsed route) on start and on every hash change. */
export class Router extends EventTarget {
  constructor(win = globalThis.window) {
    super();
    this.win = win;
    this.route = parseRoute(win.location.hash);
    win.addEventListener("hashchange", () => this.emit());
  }

  start() {
    this.emit();
  }

  emit() {
    this.route = parseRoute(this.win.location.hash);
    this.dispatchEvent(new CustomEvent("route", { detail: this.route }));
  }

  /**
   * Takes a pairing code out of the address bar without a new history entry (and so without
   * a "route" event): a code left in history could be replayed from there.
   */
  clearPairCode() {
    if (parseRoute(this.win.location.hash).name !== "pair") return;
    const { pathname, search } = this.win.location;
    this.win.history.replaceState(this.win.history.state, "", `${pathname}${search}#/`);
    this.route = parseRoute(this.win.location.hash);
  }

  go(hash) {
    if (this.win.location.hash === hash) this.emit();
    else this.win.location.hash = hash;
  }
}
