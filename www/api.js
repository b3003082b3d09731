// The one module that talks to the REST control plane. Every fetch of the client is here.
//
// Errors come back as ApiError with the server's code ("max_sessions_reached", ...) and a
// sentence a user can read.
//
// Paths are the API's routes, written relative ("sessions"); each is resolved against the page's directory
// (urls.js), so the client works under a prefix such as /amarre/ (issue 15).
//
// Every 401 (except a wrong pairing code) is announced as an "unauthorized" event, detail
// {status, path} or {reason: "signed-out"}: the page has no valid credentials, and app.js shows
// the pairing screen. The credential itself is an HttpOnly cookie the page never sees.

import { apiUrl } from "./urls.js";

export class ApiError extends Error {
  constructor(status, code, detail, body) {
    super(describe(status, code, detail, body));
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.body = body;
  }
}

function describe(status, code, detail, body) {
  switch (code) {
    case "max_sessions_reached":
      return `Too many sessions are running${typeof body?.limit === "number" ? ` (the limit is ${body.limit})` : ""}. Delete one first.`;
    case "unknown_instance":
      return `There is no instance "${body?.instanceId ?? "?"}" on the server.`;
    case "not_found":
      return "This session no longer exists.";
    case "already_running":
      return "The session is already running.";
    case "not_running":
      return "The session is not running.";
    case "bad_query":
      return detail ? `Search: ${detail}` : "The server did not understand that search.";
    case "bad_request":
      return `The server refused the request${detail ? `: ${detail}` : "."}`;
    case "api_unavailable":
      return "The amarre API is not running (nginx answered 502).";
    case "network":
      return "Cannot reach the server. Check the connection.";
    case "unauthorized":
      return "This device is not paired with amarre (or was signed out).";
    case "invalid_code":
      return "That code is wrong, expired or already used.";
    case "too_many_attempts":
      return "Too many attempts. Wait a minute, then try again.";
    case "auth_disabled":
      return "This server does not use pairing.";
    case "push_disabled":
      return "The server has notifications turned off.";
    default:
      return `The server answered ${status}${code ? ` (${code})` : ""}${detail ? `: ${detail}` : ""}.`;
  }
}

/** The only answer that is not "unauthorized" when it is 401: a wrong pairing code. */
export const PAIR_PATH = "auth/pair";

/** Does this answer mean "the page has no valid credentials"? */
export function isUnauthorized(status, path) {
  return status === 401 && path !== PAIR_PATH;
}

export class Api extends EventTarget {
  /**
   * @param {{base?: string, fetchImpl?: typeof fetch}} options  base: the absolute URL paths
   *   are resolved against (default: the page's document.baseURI)
   */
  constructor({ base = globalThis.document?.baseURI ?? globalThis.location?.href, fetchImpl = globalThis.fetch.bind(globalThis) } = {}) {
    super();
    this.base = base;
    this.fetchImpl = fetchImpl;
    /** Bumped by a successful pairing: a 401 to a request sent before it is old news. */
    this.authEpoch = 0;
  }

  async request(method, path, body) {
    const epoch = this.authEpoch;
    const init = { method, headers: { Accept: "application/json" }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await this.fetchImpl(apiUrl(path, this.base), init);
    } catch {
      throw new ApiError(0, "network");
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!response.ok) {
      if (isUnauthorized(response.status, path) && epoch === this.authEpoch) {
        this.dispatchEvent(new CustomEvent("unauthorized", { detail: { status: response.status, path } }));
      }
      throw new ApiError(response.status, data?.error ?? null, data?.detail ?? null, data);
    }
    return data;
  }

  /** Pairs this browser with a code from `amarre pair`; the answer sets the HttpOnly cookie. */
  async pair(code, name) {
    const body = { code };
    if (typeof name === "string" && name.trim() !== "") body.name = name.trim();
    const device = await this.request("POST", PAIR_PATH, body);
    this.authEpoch += 1;
    return device;
  }

  /** `{"auth":"token","device":{…}}`, or `{"auth":"none"}` when the server has no access control. */
  device() { return this.request("GET", "auth/device"); }

  /** Revokes this device and clears its cookie; then the page is unauthorized. */
  async logout() {
    await this.request("POST", "auth/logout");
    this.dispatchEvent(new CustomEvent("unauthorized", { detail: { reason: "signed-out" } }));
  }

  // --- Web Push (push.js); every route answers 503 push_disabled when the server has push off.

  /** `{"publicKey": "<base64url>"}`: the server's VAPID key, the applicationServerKey. */
  pushKey() { return this.request("GET", "push/vapid"); }

  /** @param {object} subscription  PushSubscription.toJSON(): {endpoint, expirationTime?, keys} */
  addPushSubscription(subscription) { return this.request("POST", "push/subscriptions", subscription); }

  removePushSubscription(endpoint) { return this.request("DELETE", "push/subscriptions", { endpoint }); }

  /** `{"sent": n}`: a test notification to this device's subscriptions. */
  pushTest() { return this.request("POST", "push/test"); }

  health() { return this.request("GET", "healthz"); }
  instances() { return this.request("GET", "instances"); }
  /** @param {{status?: "running"|"crashed"|"stopped"}} [filter] */
  sessions({ status } = {}) {
    return this.request("GET", status ? `sessions?status=${encodeURIComponent(status)}` : "sessions");
  }

  session(id) { return this.request("GET", `sessions/${encodeURIComponent(id)}`); }

  /**
   * @param {{instanceId?: string, name?: string, cwd?: string,
   *   worktree?: {repo: string, branch?: string, base?: string}}} fields (empty ones left out)
   */
  createSession(fields) {
    const clean = (object) => {
      const out = {};
      for (const [k, v] of Object.entries(object)) {
        if (typeof v === "string" && v.trim() !== "") out[k] = v.trim();
      }
      return out;
    };
    const { worktree, ...rest } = fields;
    const body = clean(rest);
    if (worktree && typeof worktree === "object") body.worktree = clean(worktree);
    return this.request("POST", "sessions", body);
  }

  /**
   * 204 (null), or for a worktree session {"worktree": {"path", "removed", "reason"?}}: its
   * worktree is removed only when clean, unless `removeWorktree` forces it (the branch stays).
   */
  deleteSession(id, { removeWorktree = false } = {}) {
    return this.request("DELETE", `sessions/${encodeURIComponent(id)}${removeWorktree ? "?worktree=remove" : ""}`);
  }
  /** Starts a crashed or stopped (archived) session again; the conversation resumes. */
  restartSession(id) { return this.request("POST", `sessions/${encodeURIComponent(id)}/restart`); }

  /** Stops the agent and keeps the session and its history (the archive): 200 summary. */
  stopSession(id) { return this.request("POST", `sessions/${encodeURIComponent(id)}/stop`); }

  /** `name`: up to 200 characters; "" removes the name. 200 summary. */
  renameSession(id, name) { return this.request("PATCH", `sessions/${encodeURIComponent(id)}`, { name: String(name) }); }

  /**
   * Full-text search over every kept session: {results: [...], next: cursor|null}.
   * A query the server cannot parse is an ApiError with code "bad_query" and a `detail`.
   * @param {{q: string, session?: string, limit?: number, before?: string}} query
   */
  search({ q, session, limit = 20, before } = {}) {
    const params = new URLSearchParams({ q: String(q ?? "") });
    if (session) params.set("session", session);
    params.set("limit", String(limit));
    if (before !== undefined && before !== null && before !== "") params.set("before", String(before));
    return this.request("GET", `search?${params}`);
  }

  /**
   * What changed in the session's repository: {root, base, baseRef, files: [{path, status,
   * oldPath?, added, removed, binary}]}. 404 when its directory is not in a git repository.
   */
  changes(id) { return this.request("GET", `sessions/${encodeURIComponent(id)}/changes`); }

  /** One changed file's unified diff: {path, status, diff, truncated, binary}; 404: no change. */
  diff(id, path) {
    return this.request("GET", `sessions/${encodeURIComponent(id)}/changes?${new URLSearchParams({ path: String(path) })}`);
  }

  /**
   * A directory ({path, type: "directory", entries, truncated?}) or a file ({path, type: "file",
   * size, binary, text?, truncated}) under the session's directory; 403 outside it.
   * @param {string} [path]  relative to the session's cwd; "" is the cwd itself
   */
  files(id, path = "") {
    const query = path ? `?${new URLSearchParams({ path: String(path) })}` : "";
    return this.request("GET", `sessions/${encodeURIComponent(id)}/files${query}`);
  }

  /**
   * A page of stored records, ascending. `before`: the records with _seq < before;
   * `after`: those with _seq > after. Resolves to null when the server has no event store.
   */
  async events(id, { before, after, limit = 200 } = {}) {
    const q = new URLSearchParams();
    if (before !== undefined && before !== null) q.set("before", String(before));
    if (after !== undefined && after !== null) q.set("after", String(after));
    q.set("limit", String(limit));
    try {
      const data = await this.request("GET", `sessions/${encodeURIComponent(id)}/events?${q}`);
      return Array.isArray(data) ? data : null;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) return null;
      throw e;
    }
  }
}
