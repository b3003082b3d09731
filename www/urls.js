// Addresses of the server, relative to the page (issue 15). The page may be served under a
// prefix (`https://box.ts.net/amarre/`): every request, the WebSocket and the service worker
// are resolved against the page's own directory, never against the origin's root.
//
// Pure: the base is passed in (document.baseURI, location.href, the worker's scope).

/**
 * The URL of a REST path ("sessions", "/sessions/abc/events?x=1": a leading "/" is dropped, it
 * names the API's route, not the origin's root) below `base`, the page's directory.
 * @param {string} path
 * @param {string} base  an absolute URL: document.baseURI, or a service worker's scope
 */
export function apiUrl(path, base) {
  const relative = String(path).replace(/^\/+/, "");
  return new URL(relative, base).href;
}

/**
 * The WebSocket address of a session, below the page's directory, with the ws(s) scheme.
 * @param {string} sessionId
 * @param {{href: string, since?: number|null, readonly?: boolean}} options  href: the page's
 *   location.href; readonly: `?readonly=1`, a terminal session watched without typing
 */
export function sessionSocketUrl(sessionId, { href, since = null, readonly = false }) {
  const url = new URL(`sessions/${encodeURIComponent(sessionId)}`, href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  const query = [];
  if (since !== null && since !== undefined) query.push(`since=${encodeURIComponent(since)}`);
  if (readonly) query.push("readonly=1");
  url.search = query.length ? `?${query.join("&")}` : "";
  return url.href;
}
