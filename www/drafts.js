// What is typed in a session's composer survives a reload (issue 13): one draft per session in
// localStorage, bounded (MAX_DRAFT_CHARS each, the MAX_DRAFTS most recently written), removed
// when the message is sent. And this device's Enter key setting: Enter sends, or inserts a
// newline (the default where the pointer is coarse: phones, whose keyboards have no Shift+Enter
// habit).
//
// Storage is injected (tests pass a Map-backed fake); a browser that refuses localStorage
// (private mode, blocked cookies) just keeps nothing.

export const MAX_DRAFTS = 30;
export const MAX_DRAFT_CHARS = 20_000;
const PREFIX = "amarre.draft.";
const INDEX = "amarre.drafts";
const ENTER_KEY = "amarre.enterSends";

/** window.localStorage, or null where reading it throws (sandboxed frames, blocked storage). */
export function browserStorage(win = globalThis.window) {
  try {
    const s = win?.localStorage ?? null;
    if (s) s.getItem(INDEX);
    return s;
  } catch {
    return null;
  }
}

export class DraftStore {
  constructor({ storage = browserStorage(), maxDrafts = MAX_DRAFTS, maxChars = MAX_DRAFT_CHARS } = {}) {
    this.storage = storage;
    this.maxDrafts = maxDrafts;
    this.maxChars = maxChars;
  }

  load(sessionId) {
    const raw = this.get(PREFIX + sessionId);
    return typeof raw === "string" ? raw.slice(0, this.maxChars) : "";
  }

  /** Keeps `text` for the session ("" removes it); the oldest drafts go beyond maxDrafts. */
  save(sessionId, text) {
    const value = String(text ?? "");
    if (value.trim() === "") {
      this.clear(sessionId);
      return;
    }
    const index = this.index().filter((id) => id !== sessionId);
    index.push(sessionId);
    while (index.length > this.maxDrafts) this.remove(PREFIX + index.shift());
    if (!this.set(PREFIX + sessionId, value.slice(0, this.maxChars))) {
      // Storage full: drop the oldest drafts once and try again.
      while (index.length > 1) this.remove(PREFIX + index.shift());
      this.set(PREFIX + sessionId, value.slice(0, this.maxChars));
    }
    this.set(INDEX, JSON.stringify(index));
  }

  clear(sessionId) {
    this.remove(PREFIX + sessionId);
    const index = this.index();
    if (index.includes(sessionId)) this.set(INDEX, JSON.stringify(index.filter((id) => id !== sessionId)));
  }

  index() {
    try {
      const list = JSON.parse(this.get(INDEX) ?? "[]");
      return Array.isArray(list) ? list.filter((id) => typeof id === "string") : [];
    } catch {
      return [];
    }
  }

  get(key) {
    try { return this.storage?.getItem(key) ?? null; } catch { return null; }
  }

  set(key, value) {
    try {
      if (!this.storage) return false;
      this.storage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  }

  remove(key) {
    try { this.storage?.removeItem(key); } catch { /* nothing kept */ }
  }
}

/**
 * Does Enter send the message on this device? The saved choice, else: yes with a fine pointer
 * (a keyboard at hand), no with a coarse one (a phone: Enter inserts a newline there).
 */
export function enterSends({ storage = browserStorage(), win = globalThis.window } = {}) {
  let saved = null;
  try { saved = storage?.getItem(ENTER_KEY) ?? null; } catch { saved = null; }
  if (saved === "1") return true;
  if (saved === "0") return false;
  const coarse = win?.matchMedia?.("(pointer: coarse)")?.matches ?? false;
  return !coarse;
}

export function setEnterSends(value, storage = browserStorage()) {
  try { storage?.setItem(ENTER_KEY, value ? "1" : "0"); } catch { /* not kept */ }
}
