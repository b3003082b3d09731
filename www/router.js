// Routing by location.hash: "#/" is the session list, "#/s/<id>" a session.

/** @returns {{name: "list"} | {name: "session", id: string}} */
export function parseRoute(hash) {
  const path = String(hash ?? "").replace(/^#/, "");
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

  go(hash) {
    if (this.win.location.hash === hash) this.emit();
    else this.win.location.hash = hash;
  }
}
