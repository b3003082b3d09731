// Routing by location.hash: "#/" is the session list, "#/s/<id>" a session, "#/s/<id>?seq=<N>"
// a session opened at its record N (a search result; `&q=<query>` marks the query's terms in
// it), "#/s/<id>/changes" what its agent changed ("?path=<file>": that file's diff),
// "#/s/<id>/files?path=<rel>" its file browser, "#pair=<code>" the link `amarre pair` prints
// (pair this browser, then the list).

import { normalizePairCode } from "./auth.js";

/** Longest query carried in a route (the server refuses longer ones anyway). */
const MAX_ROUTE_QUERY = 1000;
/** Longest file path carried in a route. */
const MAX_ROUTE_PATH = 4096;

/**
 * @returns {{name: "list"} | {name: "session", id: string, seq?: number, q?: string}
 *   | {name: "changes", id: string, path?: string} | {name: "files", id: string, path: string}
 *   | {name: "pair", code: string}}  `seq`, `q` and a diff's `path` only when the hash has them
 */
export function parseRoute(hash) {
  const path = String(hash ?? "").replace(/^#/, "");
  if (/^\/?pair=/.test(path)) return { name: "pair", code: normalizePairCode(`#${path.replace(/^\//, "")}`) };
  const sub = /^\/s\/([A-Za-z0-9_-]{1,64})\/(changes|files)\/?(?:\?(.*))?$/.exec(path);
  if (sub) {
    const file = new URLSearchParams(sub[3] ?? "").get("path");
    const rel = file === null ? "" : file.slice(0, MAX_ROUTE_PATH);
    if (sub[2] === "files") return { name: "files", id: sub[1], path: rel.replace(/^\/+|\/+$/g, "") };
    return rel ? { name: "changes", id: sub[1], path: rel } : { name: "changes", id: sub[1] };
  }
  const m = /^\/s\/([A-Za-z0-9_-]{1,64})\/?(?:\?(.*))?$/.exec(path);
  if (m) {
    const route = { name: "session", id: m[1] };
    const params = new URLSearchParams(m[2] ?? "");
    const seq = params.get("seq");
    // A record target: a whole number the server could have given (it is a JS-safe integer).
    if (seq !== null && /^\d{1,15}$/.test(seq)) {
      route.seq = Number(seq);
      const q = params.get("q");
      if (q !== null && q.trim() !== "") route.q = q.slice(0, MAX_ROUTE_QUERY);
    }
    return route;
  }
  return { name: "list" };
}

/**
 * "#/s/<id>", or with a target "#/s/<id>?seq=<N>&q=<query>".
 * @param {string} id
 * @param {{seq?: number, q?: string}} [target]
 */
export function sessionHash(id, { seq, q } = {}) {
  const base = `#/s/${encodeURIComponent(id)}`;
  if (!Number.isInteger(seq) || seq < 0) return base;
  const params = new URLSearchParams({ seq: String(seq) });
  if (typeof q === "string" && q.trim() !== "") params.set("q", q);
  return `${base}?${params}`;
}

/** "#/s/<id>/changes", or a file's diff "#/s/<id>/changes?path=<file>". */
export function changesHash(id, path) {
  const base = `#/s/${encodeURIComponent(id)}/changes`;
  return typeof path === "string" && path !== "" ? `${base}?${new URLSearchParams({ path })}` : base;
}

/** "#/s/<id>/files", or "#/s/<id>/files?path=<rel>" (relative to the session's directory). */
export function filesHash(id, path) {
  const base = `#/s/${encodeURIComponent(id)}/files`;
  return typeof path === "string" && path !== "" ? `${base}?${new URLSearchParams({ path })}` : base;
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
