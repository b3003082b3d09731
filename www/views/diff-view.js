// One file's diff on a phone: hunk headers, then each line with its old and new line numbers,
// a +/− sign (so colour is not the only cue) and its text wrapped (never a horizontal scroll).
// Folded unchanged runs open in place; the unchanged lines between hunks open when the file's
// text can be loaded (`loadText`). Very long diffs are drawn a slice at a time.
//
// Every piece of the diff is a text node: file contents are untrusted.

import { h } from "./dom.js";
import { diffRows, gapLines, lineNumberDigits } from "../diff.js";

/** Lines drawn at once; "Show more" draws the next slice. */
export const ROWS_PER_SLICE = 1500;

const SIGN = { add: "+", del: "−", ctx: " " };
const KIND_LABEL = { add: "added", del: "removed", ctx: "unchanged" };

function lineRow(line) {
  if (line.kind === "note") return h("div", { className: "diff-line diff-note" }, h("span", { className: "diff-text" }, line.text));
  return h("div", {
    className: `diff-line diff-${line.kind}`,
    dataset: { old: line.old ?? "", new: line.new ?? "" },
  },
  h("span", { className: "ln", attrs: { "aria-hidden": "true" } }, line.old === undefined ? "" : String(line.old)),
  h("span", { className: "ln", attrs: { "aria-hidden": "true" } }, line.new === undefined ? "" : String(line.new)),
  h("span", { className: "diff-sign", attrs: { title: KIND_LABEL[line.kind] } }, SIGN[line.kind]),
  h("span", { className: "diff-text" }, line.text));
}

const plural = (n) => `${n} unchanged ${n === 1 ? "line" : "lines"}`;

/**
 * @param {{headers: string[], hunks: object[], binary: boolean}} parsed  diff.js parseDiff()
 * @param {{loadText?: (() => Promise<string|null>) | null}} [options]  the file's current text,
 *   for the lines between hunks; without it they stay folded
 * @returns {HTMLElement}
 */
export function renderDiff(parsed, { loadText = null } = {}) {
  const el = h("div", { className: "diff", attrs: { "data-testid": "diff" } });
  el.style.setProperty("--ln-digits", String(Math.max(2, lineNumberDigits(parsed))));
  const rows = diffRows(parsed);
  let next = 0;

  const gapRow = (gap) => {
    if (!loadText) return h("div", { className: "diff-gap" }, h("span", {}, `⋯ ${plural(gap.count)}`));
    const button = h("button", { type: "button", className: "diff-gap diff-expand" }, `⋯ Show ${plural(gap.count)}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = "Loading…";
      let lines = null;
      try {
        const text = await loadText();
        lines = text === null ? null : gapLines(text, gap);
      } catch {
        lines = null;
      }
      if (lines) button.replaceWith(...lines.map(lineRow));
      else button.replaceWith(h("div", { className: "diff-gap" }, h("span", {}, `⋯ ${plural(gap.count)} (the file could not be read)`)));
    });
    return button;
  };

  const foldRow = (lines) => {
    const button = h("button", { type: "button", className: "diff-fold diff-expand" }, `⋯ Show ${plural(lines.length)}`);
    button.addEventListener("click", () => button.replaceWith(...lines.map(lineRow)));
    return button;
  };

  const hunkRow = (hunk) => h("div", { className: "diff-hunk" },
    h("span", { className: "diff-range" }, hunk.header),
    hunk.section ? h("span", { className: "diff-section" }, hunk.section) : null);

  const more = h("button", { type: "button", className: "btn small diff-more" });
  const drawSlice = () => {
    let drawn = 0;
    const nodes = [];
    while (next < rows.length && drawn < ROWS_PER_SLICE) {
      const row = rows[next++];
      if (row.type === "gap") nodes.push(gapRow(row));
      else if (row.type === "hunk") nodes.push(hunkRow(row.hunk));
      else if (row.type === "fold") nodes.push(foldRow(row.lines));
      else nodes.push(lineRow(row.line));
      drawn += 1;
    }
    more.remove();
    el.append(...nodes);
    if (next < rows.length) {
      more.textContent = `Show more (${rows.length - next} more rows)`;
      el.append(more);
    }
  };
  more.addEventListener("click", drawSlice);
  drawSlice();
  return el;
}
