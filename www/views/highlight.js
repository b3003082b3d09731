// Marks text in DOM that is already built: a snippet's match ranges, or a query's terms found
// again in a transcript record. Only text nodes are split; the pieces are new text nodes and
// <mark> elements, never markup.

import { h } from "./dom.js";
import { snippetSegments, termRanges } from "../search.js";

/** Plain text and <mark> elements for `text` with `ranges` ([start, end) UTF-16 offsets) marked. */
export function markedNodes(text, ranges, className = "") {
  return snippetSegments(text, ranges).map((seg) => (seg.mark ? h("mark", { className }, seg.text) : seg.text));
}

/** The text nodes under `root`, in order, leaving out those already marked and buttons. */
function textNodes(root, out = []) {
  for (const node of [...root.childNodes]) {
    const name = tagOf(node);
    if (name === "#TEXT") out.push(node);
    else if (name !== "MARK" && name !== "BUTTON" && node.childNodes) textNodes(node, out);
  }
  return out;
}

const tagOf = (node) => String(node.nodeName).toUpperCase();

/**
 * Wraps every occurrence of the query terms (search.js queryTerms) under `root` in
 * <mark class="term">. Terms split across elements (a phrase with **bold** inside) are missed.
 * @returns {number} how many were marked
 */
export function markTerms(root, terms) {
  if (!root || !Array.isArray(terms) || terms.length === 0) return 0;
  let count = 0;
  for (const node of textNodes(root)) {
    const text = node.textContent;
    const ranges = termRanges(text, terms);
    if (ranges.length === 0) continue;
    const fragment = document.createDocumentFragment();
    for (const piece of markedNodes(text, ranges, "term")) {
      fragment.appendChild(typeof piece === "string" ? document.createTextNode(piece) : piece);
    }
    node.parentNode.replaceChild(fragment, node);
    count += ranges.length;
  }
  return count;
}

/**
 * Marks the terms in a transcript item's element, opening the folded parts (thinking, a tool's
 * arguments and output) that have a match. Folded bodies built lazily are built first.
 * @returns {number} how many were marked
 */
export function markInItem(el, terms) {
  if (!el || !Array.isArray(terms) || terms.length === 0) return 0;
  const folds = [...el.querySelectorAll("details")];
  for (const d of folds) d.ensure?.();
  const count = markTerms(el, terms);
  for (const d of folds) {
    const hit = [...d.children].some((c) => tagOf(c) !== "SUMMARY" && (tagOf(c) === "MARK" || c.querySelector?.("mark.term")));
    if (hit) d.open = true;
  }
  return count;
}
