import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanRanges, groupResults, kindLabel, queryTerms, snippetSegments, termRanges } from "../search.js";
import { snippetView, resultView } from "../views/search-view.js";
import { FakeDocument } from "./fake-dom.js";

/** The DOM of a snippet as [tag, text] pairs: "#text" for plain text, "mark" for a match. */
function pieces(el) {
  return el.childNodes.map((n) => [n.nodeName, n.textContent]);
}

function withDocument(fn) {
  const saved = globalThis.document;
  globalThis.document = new FakeDocument();
  try {
    return fn(globalThis.document);
  } finally {
    globalThis.document = saved;
  }
}

test("a snippet becomes text nodes with the matches in <mark> elements", () => withDocument(() => {
  const el = snippetView({ text: "run the migration again", matches: [[8, 17]] });
  assert.equal(el.nodeName, "span");
  assert.deepEqual(pieces(el), [["#text", "run the "], ["mark", "migration"], ["#text", " again"]]);
}));

test("offsets are UTF-16 code units: an emoji before a match counts two", () => withDocument(() => {
  const text = "🎉 fixed the migration, 𝒳 then Ünïcode";
  assert.equal(text.indexOf("migration"), 13, "the emoji is a surrogate pair");
  const el = snippetView({ text, matches: [[13, 22], [text.indexOf("Ünïcode"), text.length]] });
  assert.deepEqual(pieces(el), [
    ["#text", "🎉 fixed the "], ["mark", "migration"], ["#text", ", 𝒳 then "], ["mark", "Ünïcode"],
  ]);
  assert.equal(el.textContent, text);
}));

test("agent text in a snippet stays text, markup included", () => withDocument((doc) => {
  const el = snippetView({ text: "<img src=x onerror=alert(1)> here", matches: [[0, 4]] });
  assert.deepEqual(pieces(el), [["mark", "<img"], ["#text", " src=x onerror=alert(1)> here"]]);
  assert.ok(!doc.created.some((n) => n.nodeName === "img"));
}));

test("match ranges are sorted, merged, clamped, and never split a surrogate pair", () => {
  const text = "a🎉b";
  assert.deepEqual(cleanRanges(text, [[2, 3]]), [[1, 3]], "starts inside the pair");
  assert.deepEqual(cleanRanges(text, [[0, 2]]), [[0, 3]], "ends inside the pair");
  assert.deepEqual(cleanRanges("abcdef", [[4, 6], [0, 2], [1, 3], [5, 99], [-3, 1], [3, 3], ["x", 2], null]), [[0, 3], [4, 6]]);
  assert.deepEqual(snippetSegments("abc", undefined), [{ text: "abc", mark: false }]);
  assert.deepEqual(snippetSegments("", []), [{ text: "", mark: false }]);
  assert.deepEqual(snippetSegments("abc", [[0, 3]]), [{ text: "abc", mark: true }]);
});

test("results are grouped by session in rank order, with the list's status and newer name", () => {
  const r = (sessionId, seq, sessionName = null) => ({ sessionId, sessionName, seq, kind: "assistant", snippet: { text: "", matches: [] } });
  const results = [r("b", 9, "Bee"), r("a", 3, "Old name"), r("b", 2, "Bee"), r("c", 1), r("a", 8, "Old name"), { nope: 1 }];
  const sessions = new Map([["a", { id: "a", name: "New name", status: "stopped" }], ["b", { id: "b", status: "running" }]]);
  const groups = groupResults(results, sessions);
  assert.deepEqual(groups.map((g) => [g.sessionId, g.name, g.status, g.results.map((x) => x.seq)]), [
    ["b", "Bee", "running", [9, 2]],
    ["a", "New name", "stopped", [3, 8]],
    ["c", null, null, [1]],
  ]);
  assert.deepEqual(groupResults(null), []);
});

test("kinds have readable labels", () => {
  assert.deepEqual(["user", "assistant", "thinking", "tool_call", "tool_output"].map(kindLabel),
    ["You", "Assistant", "Thinking", "Tool call", "Tool output"]);
  assert.equal(kindLabel("other"), "other");
});

test("a result links to its session at its record, with the query to mark", () => withDocument(() => {
  const li = resultView({ sessionId: "s1", seq: 42, kind: "tool_output", snippet: { text: "x y", matches: [[2, 3]] } }, "y & z");
  const a = li.childNodes[0];
  assert.equal(a.href, "#/s/s1?seq=42&q=y+%26+z");
  assert.equal(a.attributes["data-testid"], "search-result");
  assert.equal(a.attributes["data-session"], "s1");
  assert.equal(a.attributes["data-seq"], "42");
  assert.match(a.textContent, /^Tool output/);
}));

test("query terms: words, phrases and prefixes, folded", () => {
  assert.deepEqual(queryTerms('Café "the  Fix" migr* a-b'), [
    { tokens: ["cafe"], prefix: false },
    { tokens: ["the", "fix"], prefix: false },
    { tokens: ["migr"], prefix: true },
    { tokens: ["a"], prefix: false },
    { tokens: ["b"], prefix: false },
  ]);
  assert.deepEqual(queryTerms('  "unbalanced'), [{ tokens: ["unbalanced"], prefix: false }]);
  assert.deepEqual(queryTerms(""), []);
});

test("terms are found again case- and diacritic-insensitively, at UTF-16 offsets", () => {
  const text = "🎉 The CAFÉ fix: migrations, cafeteria, the fix";
  const ranges = termRanges(text, queryTerms('cafe migr* "the fix"'));
  assert.deepEqual(ranges.map(([s, e]) => text.slice(s, e)), ["CAFÉ", "migrations", "the fix"]);
  assert.equal(ranges[0][0], 7, "after the surrogate pair");
  // A word is a whole token: "cafe" is not found inside "cafeteria".
  assert.deepEqual(termRanges("cafeteria", queryTerms("cafe")), []);
  assert.deepEqual(termRanges("decomposed: cafe\u0301!", queryTerms("café")).length, 1);
  assert.deepEqual(termRanges("anything", []), []);
});

test("the query's terms are marked inside a record already rendered, text nodes only", async () => {
  const { markTerms } = await import("../views/highlight.js");
  withDocument((doc) => {
    const p = doc.createElement("p");
    p.appendChild(doc.createTextNode("🎉 Fixed the Migration in "));
    const code = doc.createElement("code");
    code.appendChild(doc.createTextNode("migrate.py"));
    p.appendChild(code);
    p.appendChild(doc.createTextNode(" (<b>migration</b>)"));
    assert.equal(markTerms(p, queryTerms("migration migr*")), 3);
    const marks = doc.created.filter((n) => n.nodeName === "mark");
    assert.deepEqual(marks.map((m) => [m.className, m.textContent]), [["term", "Migration"], ["term", "migrate"], ["term", "migration"]]);
    assert.equal(p.textContent, "🎉 Fixed the Migration in migrate.py (<b>migration</b>)", "the text is unchanged");
    assert.equal(markTerms(p, queryTerms("migration")), 0, "marked text is not marked again");
  });
});
