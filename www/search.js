// Search results (GET /search) as the page shows them. Pure: no DOM, no I/O.
//
// A result is {sessionId, sessionName, seq, kind, time, snippet: {text, matches: [[start, end], …]}}
// where `matches` are [start, end) offsets in UTF-16 code units of `snippet.text`, which is what
// JavaScript strings index. The snippet is text, never markup: views/search-view.js turns the
// segments below into text nodes and <mark> elements.
//
// The query terms are also found again in a transcript record (`queryTerms` + `termRanges`), so
// the record a result opens can mark them: case- and diacritic-insensitive, like the server.

export const KIND_LABELS = {
  user: "You",
  assistant: "Assistant",
  thinking: "Thinking",
  tool_call: "Tool call",
  tool_output: "Tool output",
};

export function kindLabel(kind) {
  return KIND_LABELS[kind] ?? (typeof kind === "string" && kind ? kind : "Record");
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/**
 * The ranges of `matches` that make sense for `text`: integers inside it, sorted, overlaps
 * merged, never splitting a surrogate pair (a range that would is widened to the whole pair).
 * @returns {Array<[number, number]>}
 */
export function cleanRanges(text, matches) {
  const s = String(text ?? "");
  const out = [];
  for (const m of Array.isArray(matches) ? matches : []) {
    if (!Array.isArray(m) || m.length < 2) continue;
    let [start, end] = m;
    if (!Number.isInteger(start) || !Number.isInteger(end)) continue;
    start = Math.max(0, start);
    end = Math.min(s.length, end);
    if (start >= end) continue;
    if (start > 0 && isLow(s.charCodeAt(start)) && isHigh(s.charCodeAt(start - 1))) start -= 1;
    if (end < s.length && isLow(s.charCodeAt(end)) && isHigh(s.charCodeAt(end - 1))) end += 1;
    out.push([start, end]);
  }
  out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/**
 * The snippet cut into plain and marked pieces, in order; joined they give back `text`.
 * @returns {Array<{text: string, mark: boolean}>}
 */
export function snippetSegments(text, matches) {
  const s = String(text ?? "");
  const segments = [];
  let at = 0;
  for (const [start, end] of cleanRanges(s, matches)) {
    if (start > at) segments.push({ text: s.slice(at, start), mark: false });
    segments.push({ text: s.slice(start, end), mark: true });
    at = end;
  }
  if (at < s.length || segments.length === 0) segments.push({ text: s.slice(at), mark: false });
  return segments;
}

/**
 * Results grouped by session, groups in the order of their best (first) result, results in
 * rank order within a group.
 * @param {Array<object>} results
 * @param {Map<string, object>} [sessions] summaries by id, for the status and a newer name
 * @returns {Array<{sessionId: string, name: string|null, status: string|null, results: object[]}>}
 */
export function groupResults(results, sessions = new Map()) {
  const groups = new Map();
  for (const r of Array.isArray(results) ? results : []) {
    if (!r || typeof r !== "object" || typeof r.sessionId !== "string") continue;
    let group = groups.get(r.sessionId);
    if (!group) {
      const summary = sessions.get(r.sessionId);
      const name = typeof summary?.name === "string" ? summary.name
        : typeof r.sessionName === "string" ? r.sessionName : null;
      group = { sessionId: r.sessionId, name, status: summary?.status ?? null, results: [] };
      groups.set(r.sessionId, group);
    }
    group.results.push(r);
  }
  return [...groups.values()];
}

// --- query terms, found again in a record ----------------------------------------------------

const TOKEN = /[\p{L}\p{N}]+/gu;

/** Lower case without diacritics, one code point at a time. */
function foldChar(ch) {
  return ch.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/**
 * The terms of a query in the server's syntax (words, "phrases", prefix*), folded.
 * @returns {Array<{tokens: string[], prefix: boolean}>}
 */
export function queryTerms(query) {
  const q = String(query ?? "");
  const terms = [];
  const pieces = q.match(/"[^"]*"?|[^\s"]+/g) ?? [];
  for (const piece of pieces) {
    if (piece.startsWith('"')) {
      const tokens = fold(piece).folded.match(TOKEN) ?? [];
      if (tokens.length) terms.push({ tokens, prefix: false });
      continue;
    }
    const prefix = piece.endsWith("*");
    const tokens = fold(piece).folded.match(TOKEN) ?? [];
    tokens.forEach((t, i) => terms.push({ tokens: [t], prefix: prefix && i === tokens.length - 1 }));
  }
  return terms;
}

/**
 * `text` folded for matching, with where each folded code unit came from:
 * starts[j] / ends[j] are the offsets in `text` of the character that gave folded[j].
 */
export function fold(text) {
  const s = String(text ?? "");
  let folded = "";
  const starts = [];
  const ends = [];
  let at = 0;
  for (const ch of s) {
    const f = foldChar(ch);
    for (let k = 0; k < f.length; k++) { starts.push(at); ends.push(at + ch.length); }
    folded += f;
    at += ch.length;
  }
  return { folded, starts, ends };
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Where the terms occur in `text`: [start, end) UTF-16 offsets, sorted and merged. A word
 * matches a whole token; a prefix the start of one (the whole token is marked); a phrase its
 * tokens in a row.
 * @returns {Array<[number, number]>}
 */
export function termRanges(text, terms) {
  const s = String(text ?? "");
  if (!Array.isArray(terms) || terms.length === 0 || s === "") return [];
  const { folded, starts, ends } = fold(s);
  const ranges = [];
  for (const term of terms) {
    if (!term || !Array.isArray(term.tokens) || term.tokens.length === 0) continue;
    const body = term.tokens.map(escapeRegExp).join("[^\\p{L}\\p{N}]+");
    const re = new RegExp(`(?<![\\p{L}\\p{N}])${body}${term.prefix ? "[\\p{L}\\p{N}]*" : "(?![\\p{L}\\p{N}])"}`, "gu");
    for (const m of folded.matchAll(re)) {
      if (m[0].length === 0) continue;
      ranges.push([starts[m.index], ends[m.index + m[0].length - 1]]);
    }
  }
  return cleanRanges(s, ranges);
}
