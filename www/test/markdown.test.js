import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMarkdown, parseInline, safeHref, inlineText, MAX_MARKDOWN_CHARS } from "../markdown.js";
import { markdownToDom } from "../markdown-dom.js";
import { FakeDocument } from "./fake-dom.js";

const types = (nodes) => nodes.map((n) => n.type);

function links(nodes, out = []) {
  for (const n of nodes) {
    if (n.type === "link") out.push(n.href);
    for (const k of ["children", "items"]) if (Array.isArray(n[k])) links(n[k], out);
    if (n.type === "table") { n.head.forEach((c) => links(c, out)); n.rows.forEach((r) => r.forEach((c) => links(c, out))); }
  }
  return out;
}

test("headings of every level", () => {
  const blocks = parseMarkdown("# One\n## Two ##\n###### Six\n####### seven");
  assert.deepEqual(blocks.map((b) => [b.type, b.level]), [["heading", 1], ["heading", 2], ["heading", 6], ["paragraph", undefined]]);
  assert.equal(inlineText(blocks[1].children), "Two");
});

test("bullet, ordered, nested and task lists", () => {
  const [ul, ol] = parseMarkdown("- a\n- b\n  - b1\n  - b2\n- [x] done\n\n3. three\n4. four");
  assert.equal(ul.type, "list");
  assert.equal(ul.ordered, false);
  assert.equal(ul.items.length, 3);
  assert.deepEqual(types(ul.items[1].children), ["paragraph", "list"]);
  assert.equal(ul.items[1].children[1].items.length, 2);
  assert.equal(ul.items[2].checked, true);
  assert.equal(ol.ordered, true);
  assert.equal(ol.start, 3);
  assert.equal(ol.items.length, 2);
});

test("list items separated by blank lines stay one list", () => {
  const blocks = parseMarkdown("- one\n\n- two\n\nafter");
  assert.deepEqual(types(blocks), ["list", "paragraph"]);
  assert.equal(blocks[0].items.length, 2);
});

test("fenced code blocks keep their text verbatim, with the language", () => {
  const [code, p] = parseMarkdown("```js\nconst x = \"<b>\" && 1 < 2;\n  indented *not em*\n```\nafter");
  assert.equal(code.type, "code");
  assert.equal(code.lang, "js");
  assert.equal(code.text, "const x = \"<b>\" && 1 < 2;\n  indented *not em*");
  assert.equal(p.type, "paragraph");
});

test("an unterminated fence (a reply still streaming) runs to the end", () => {
  const [code] = parseMarkdown("```\nline 1\nline 2");
  assert.equal(code.text, "line 1\nline 2");
});

test("inline code, strong, em, del, snake_case untouched", () => {
  const nodes = parseInline("use `a*b*c` then **bold** and *it* and _it_ ~~gone~~ my_var_name");
  assert.deepEqual(types(nodes), ["text", "code", "text", "strong", "text", "em", "text", "em", "text", "del", "text"]);
  assert.equal(nodes[1].text, "a*b*c");
  assert.match(nodes[10].text, /my_var_name$/);
});

test("http(s) links become links, everything else stays text", () => {
  const nodes = parseInline("[ok](https://example.com/a?b=1) [bad](javascript:alert(1)) [rel](README.md) [data](data:text/html,<script>x</script>) [vb](JaVaScRiPt:alert(1))");
  assert.deepEqual(links(nodes), ["https://example.com/a?b=1"]);
  assert.match(inlineText(nodes), /bad rel data vb/);
});

test("javascript: never becomes a link, however it is written", () => {
  for (const url of ["javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "JAVASCRIPT:alert(1)",
    "vbscript:x", "data:text/html,x", "//evil.example/x", "http:/x", "https:"]) {
    assert.equal(safeHref(url), null, url);
    assert.deepEqual(links(parseMarkdown(`[x](${url}) <${url}> ${url}`)), [], url);
  }
  assert.equal(safeHref("http://example.com"), "http://example.com/");
});

test("autolinks and bare URLs, trailing punctuation left out", () => {
  const nodes = parseInline("see <https://a.example/x> and https://b.example/y). Or (https://c.example/z).");
  assert.deepEqual(links(nodes), ["https://a.example/x", "https://b.example/y", "https://c.example/z"]);
});

test("raw HTML is text", () => {
  const src = "<script>window.__pwned=2</script>\n\n<img src=x onerror=window.__pwned=1>";
  const blocks = parseMarkdown(src);
  assert.deepEqual(types(blocks), ["paragraph", "paragraph"]);
  assert.equal(inlineText(blocks[0].children), "<script>window.__pwned=2</script>");
  assert.equal(inlineText(blocks[1].children), "<img src=x onerror=window.__pwned=1>");
});

test("images become links to the image, never loaded", () => {
  const nodes = parseInline("![chart](https://x.example/c.png) ![local](c.png)");
  assert.deepEqual(links(nodes), ["https://x.example/c.png"]);
  assert.match(inlineText(nodes), /🖼 local/);
});

test("block quotes, rules and tables", () => {
  const blocks = parseMarkdown("> quoted\n> **more**\n\n---\n\n| a | b |\n|:--|--:|\n| 1 | `2` |\n| 3 |");
  assert.deepEqual(types(blocks), ["blockquote", "hr", "table"]);
  const table = blocks[2];
  assert.deepEqual(table.align, ["left", "right"]);
  assert.equal(table.rows.length, 2);
  assert.equal(table.rows[0][1][0].type, "code");
  assert.deepEqual(table.rows[1][1], []);
});

test("backslash escapes and line breaks", () => {
  const nodes = parseInline("\\*not em\\* a\nb");
  assert.deepEqual(types(nodes), ["text", "br", "text"]);
  assert.equal(nodes[0].text, "*not em* a");
});

test("huge input is shown as plain text, not parsed", () => {
  const blocks = parseMarkdown("*".repeat(MAX_MARKDOWN_CHARS + 1));
  assert.deepEqual(types(blocks), ["code"]);
});

test("pathological input is parsed without blowing up", () => {
  // Every `*` and `[` of this input once started a scan to the end of the text: 5.5 s
  // (quadratic). Linear now, it takes a few milliseconds; the bound only catches a return of
  // that blow-up, with a margin of two orders of magnitude for a loaded machine (speed itself
  // is not measured by tests).
  const text = "*a ".repeat(10000) + "[".repeat(6000) + "`".repeat(6000) + "\n- ".repeat(4000) + "> ".repeat(1000);
  const start = process.hrtime.bigint();
  const blocks = parseMarkdown(text);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(blocks.length > 0);
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test("the DOM builder makes elements and text nodes only; HTML stays text", () => {
  const doc = new FakeDocument();
  const fragment = markdownToDom(parseMarkdown("# T\n\n<img src=x onerror=alert(1)> [a](https://ok.example) [b](javascript:alert(1))\n\n```\n<script>\n```"), doc);
  const all = doc.created;
  assert.ok(all.every((n) => ["h1", "p", "a", "div", "pre", "code", "#text", "#fragment", "br"].includes(n.nodeName)), all.map((n) => n.nodeName).join());
  const anchors = all.filter((n) => n.nodeName === "a");
  assert.equal(anchors.length, 1);
  assert.equal(anchors[0].attributes.href, "https://ok.example/");
  assert.equal(anchors[0].attributes.rel, "noopener noreferrer nofollow");
  assert.ok(!all.some((n) => n.nodeName === "img" || n.nodeName === "script"));
  assert.match(fragment.textContent, /<img src=x onerror=alert\(1\)>/);
  assert.match(fragment.textContent, /<script>/);
});

test("the DOM builder refuses a bad href even in a hand-made tree", () => {
  const doc = new FakeDocument();
  markdownToDom([{ type: "paragraph", children: [{ type: "link", href: "javascript:alert(1)", children: [{ type: "text", text: "x" }] }] }], doc);
  assert.equal(doc.created.filter((n) => n.nodeName === "a").length, 0);
});

import { stableCut } from "../markdown.js";

test("stableCut: after the last blank line outside a fence", () => {
  assert.equal(stableCut("para one\n\npara tw"), "para one\n\n".length);
  assert.equal(stableCut("no blank line yet"), 0);
  assert.equal(stableCut("a\n\n```\ncode\n\nmore code"), "a\n\n".length, "not inside an open fence");
  assert.equal(stableCut("a\n\n```\ncode\n\n```\n\nb"), "a\n\n```\ncode\n\n```\n\n".length);
});

test("stableCut: the parts render like the whole", () => {
  const text = "# Title\n\nSome **bold** text.\n\n- a\n- b\n\n```js\nx\n\ny\n```\n\nTail *em*";
  const cut = stableCut(text);
  assert.deepEqual([...parseMarkdown(text.slice(0, cut)), ...parseMarkdown(text.slice(cut))], parseMarkdown(text));
});

test("brackets are matched once for the whole text: nested labels and unmatched openers", () => {
  const nested = parseInline("see [a [b] c](https://x.example/) now");
  assert.equal(nested[1].type, "link");
  assert.equal(nested[1].href, "https://x.example/");
  assert.equal(inlineText(nested[1].children), "a [b] c");
  // An unmatched `[` before a link leaves the link whole.
  const after = parseInline("[ [b](https://y.example/)");
  assert.equal(after[0].text, "[ ");
  assert.equal(after[1].type, "link");
  // A `**` without a closer does not hide the `*…*` after it (the memo is per kind of opener).
  const em = parseInline("**a *c*");
  assert.ok(em.some((n) => n.type === "em"));
});
