// Unified diffs (`git diff` output) as data: hunks of lines with their old and new line
// numbers, and the rows a phone shows: hunk headers, lines, long unchanged runs folded, and the
// unchanged stretches between hunks (which git leaves out) as gaps. Pure; views/diff-view.js
// draws the rows.

/** Unchanged lines kept visible next to a change when a run of them is folded. */
export const FOLD_KEEP = 3;
/** A run is folded only when this many lines or more would be hidden. */
export const FOLD_MIN = 4;

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

/**
 * @typedef {{kind: "add"|"del"|"ctx"|"note", text: string, old?: number, new?: number}} DiffLine
 * @typedef {{header: string, section: string, oldStart: number, oldLines: number,
 *   newStart: number, newLines: number, lines: DiffLine[], complete: boolean}} Hunk
 */

/**
 * Parses the unified diff of one file. Lines before the first hunk are `headers`; a hunk cut
 * short (a truncated diff) has `complete: false`.
 * @param {string} text
 * @returns {{headers: string[], hunks: Hunk[], binary: boolean}}
 */
export function parseDiff(text) {
  const lines = String(text ?? "").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const headers = [];
  const hunks = [];
  let binary = false;
  let hunk = null;
  let oldNo = 0, newNo = 0, oldLeft = 0, newLeft = 0;
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const sign = line[0];
      if (sign === "+" && newLeft > 0) {
        hunk.lines.push({ kind: "add", text: line.slice(1), new: newNo++ });
        newLeft -= 1;
        continue;
      }
      if (sign === "-" && oldLeft > 0) {
        hunk.lines.push({ kind: "del", text: line.slice(1), old: oldNo++ });
        oldLeft -= 1;
        continue;
      }
      // " " context; an empty line is a blank context line whose space was stripped.
      if ((sign === " " || line === "") && oldLeft > 0 && newLeft > 0) {
        hunk.lines.push({ kind: "ctx", text: line.slice(1), old: oldNo++, new: newNo++ });
        oldLeft -= 1;
        newLeft -= 1;
        continue;
      }
      if (sign === "\\") {
        hunk.lines.push({ kind: "note", text: line.slice(1).trim() });
        continue;
      }
      // Anything else ends the hunk early (it does not add up): a header of what follows.
      hunk = null;
    } else if (hunk && line[0] === "\\") {
      hunk.lines.push({ kind: "note", text: line.slice(1).trim() });
      continue;
    }
    const m = HUNK.exec(line);
    if (m) {
      hunk = {
        header: line.slice(0, line.length - m[5].length).trimEnd(),
        section: m[5].trim(),
        oldStart: Number(m[1]), oldLines: m[2] === undefined ? 1 : Number(m[2]),
        newStart: Number(m[3]), newLines: m[4] === undefined ? 1 : Number(m[4]),
        lines: [],
        complete: false,
      };
      hunks.push(hunk);
      oldNo = hunk.oldStart;
      newNo = hunk.newStart;
      oldLeft = hunk.oldLines;
      newLeft = hunk.newLines;
      continue;
    }
    hunk = null;
    if (hunks.length === 0) headers.push(line);
    if (/^Binary files .* differ$/.test(line) || line === "GIT binary patch") binary = true;
  }
  for (const h of hunks) {
    const old = h.lines.filter((l) => l.kind === "del" || l.kind === "ctx").length;
    const neu = h.lines.filter((l) => l.kind === "add" || l.kind === "ctx").length;
    h.complete = old === h.oldLines && neu === h.newLines;
  }
  return { headers, hunks, binary };
}

/** The first old and new line numbers a hunk covers (a side with no lines starts after it). */
function hunkStart(h) {
  return {
    old: h.oldLines > 0 ? h.oldStart : h.oldStart + 1,
    new: h.newLines > 0 ? h.newStart : h.newStart + 1,
  };
}

/**
 * What to show for a hunk's lines: runs of unchanged lines long enough are folded, keeping
 * `keep` lines next to each change (a run at the start or end of the hunk keeps only the side
 * next to a change).
 * @param {DiffLine[]} lines
 * @returns {Array<{type: "line", line: DiffLine} | {type: "fold", lines: DiffLine[]}>}
 */
export function foldLines(lines, { keep = FOLD_KEEP, min = FOLD_MIN } = {}) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i].kind !== "ctx") {
      out.push({ type: "line", line: lines[i] });
      i += 1;
      continue;
    }
    let end = i;
    while (end < lines.length && lines[end].kind === "ctx") end += 1;
    const run = lines.slice(i, end);
    const head = i === 0 ? 0 : keep;
    const tail = end === lines.length ? 0 : keep;
    if (run.length - head - tail >= min) {
      for (const line of run.slice(0, head)) out.push({ type: "line", line });
      out.push({ type: "fold", lines: run.slice(head, run.length - tail) });
      for (const line of run.slice(run.length - tail)) out.push({ type: "line", line });
    } else {
      for (const line of run) out.push({ type: "line", line });
    }
    i = end;
  }
  return out;
}

/**
 * The rows of a parsed diff, in order: a "gap" for the unchanged lines before each hunk that
 * git left out (count, and where they start on each side), the hunk's header, then its lines
 * with long unchanged runs folded.
 * @returns {Array<{type: "gap", count: number, oldFrom: number, newFrom: number}
 *   | {type: "hunk", hunk: Hunk} | {type: "line", line: DiffLine} | {type: "fold", lines: DiffLine[]}>}
 */
export function diffRows(parsed, options = {}) {
  const rows = [];
  let nextOld = 1, nextNew = 1;
  for (const hunk of parsed.hunks) {
    const start = hunkStart(hunk);
    const count = Math.min(start.old - nextOld, start.new - nextNew);
    if (count > 0) rows.push({ type: "gap", count, oldFrom: nextOld, newFrom: nextNew });
    rows.push({ type: "hunk", hunk });
    rows.push(...foldLines(hunk.lines, options));
    nextOld = start.old + hunk.oldLines;
    nextNew = start.new + hunk.newLines;
  }
  return rows;
}

/**
 * The unchanged lines of a gap, from the file's current text (the new side). Null when the
 * text does not reach that far (cut, or changed since the diff was made).
 * @param {string} text
 * @param {{count: number, oldFrom: number, newFrom: number}} gap
 * @returns {DiffLine[] | null}
 */
export function gapLines(text, gap) {
  const lines = String(text ?? "").split("\n");
  if (gap.newFrom - 1 + gap.count > lines.length) return null;
  const out = [];
  for (let k = 0; k < gap.count; k++) {
    out.push({ kind: "ctx", text: lines[gap.newFrom - 1 + k].replace(/\r$/, ""), old: gap.oldFrom + k, new: gap.newFrom + k });
  }
  return out;
}

/** The widest line number in a diff, in digits (for the gutter's width). */
export function lineNumberDigits(parsed) {
  let max = 1;
  for (const h of parsed.hunks) max = Math.max(max, h.oldStart + h.oldLines, h.newStart + h.newLines);
  return String(max).length;
}
