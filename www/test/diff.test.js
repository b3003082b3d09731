import { test } from "node:test";
import assert from "node:assert/strict";
import { diffRows, foldLines, gapLines, lineNumberDigits, parseDiff } from "../diff.js";

// `git diff` of a 40-line file: 5 → five, 30 → thirty, 33 removed.
const TWO_HUNKS = `diff --git a/a.txt b/a.txt
index 1c99002..4458528 100644
--- a/a.txt
+++ b/a.txt
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
@@ -27,10 +27,9 @@ function section()
 27
 28
 29
-30
+thirty
 31
 32
-33
 34
 35
 36
`;

const lines = (hunk) => hunk.lines.map((l) => [l.kind, l.old ?? null, l.new ?? null, l.text]);

test("a unified diff parses into hunks of lines with their old and new line numbers", () => {
  const d = parseDiff(TWO_HUNKS);
  assert.equal(d.binary, false);
  assert.deepEqual(d.headers, ["diff --git a/a.txt b/a.txt", "index 1c99002..4458528 100644", "--- a/a.txt", "+++ b/a.txt"]);
  assert.equal(d.hunks.length, 2);
  const [a, b] = d.hunks;
  assert.deepEqual([a.oldStart, a.oldLines, a.newStart, a.newLines, a.header, a.section, a.complete], [2, 7, 2, 7, "@@ -2,7 +2,7 @@", "", true]);
  assert.deepEqual(lines(a), [
    ["ctx", 2, 2, "2"], ["ctx", 3, 3, "3"], ["ctx", 4, 4, "4"],
    ["del", 5, null, "5"], ["add", null, 5, "five"],
    ["ctx", 6, 6, "6"], ["ctx", 7, 7, "7"], ["ctx", 8, 8, "8"],
  ]);
  assert.equal(b.section, "function section()");
  assert.equal(b.header, "@@ -27,10 +27,9 @@");
  assert.deepEqual(lines(b).slice(3, 9), [
    ["del", 30, null, "30"], ["add", null, 30, "thirty"], ["ctx", 31, 31, "31"], ["ctx", 32, 32, "32"],
    ["del", 33, null, "33"], ["ctx", 34, 33, "34"],
  ]);
  assert.equal(lineNumberDigits(d), 2);
});

test("a new file, a missing newline at the end, tabs and a blank context line", () => {
  const added = parseDiff("diff --git a/n.txt b/n.txt\nnew file mode 100644\nindex 0000000..45b983b\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+hi\n+\tthere\n");
  assert.deepEqual(lines(added.hunks[0]), [["add", null, 1, "hi"], ["add", null, 2, "\tthere"]]);
  assert.equal(added.hunks[0].complete, true);

  const noEol = parseDiff("--- a/t.txt\n+++ b/t.txt\n@@ -1 +1 @@\n-x\ty\n+x\ty\n\\ No newline at end of file\n");
  assert.deepEqual(lines(noEol.hunks[0]), [["del", 1, null, "x\ty"], ["add", null, 1, "x\ty"], ["note", null, null, "No newline at end of file"]]);

  // Some tools strip the space of an empty context line.
  const blank = parseDiff("@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n");
  assert.deepEqual(lines(blank.hunks[0]), [["ctx", 1, 1, "a"], ["ctx", 2, 2, ""], ["del", 3, null, "b"], ["add", null, 3, "c"]]);
});

test("lines that look like headers inside a hunk are content, and a cut diff is incomplete", () => {
  const d = parseDiff("@@ -1,2 +1,3 @@\n-@@ -9 +9 @@\n+diff --git a/x b/x\n++++ b/y\n ---\n");
  assert.deepEqual(lines(d.hunks[0]), [["del", 1, null, "@@ -9 +9 @@"], ["add", null, 1, "diff --git a/x b/x"], ["add", null, 2, "+++ b/y"], ["ctx", 2, 3, "---"]]);
  const cut = parseDiff(TWO_HUNKS.split("\n").slice(0, 20).join("\n"));
  assert.equal(cut.hunks.length, 2);
  assert.equal(cut.hunks[0].complete, true);
  assert.equal(cut.hunks[1].complete, false);
});

test("binary diffs and empty input", () => {
  assert.equal(parseDiff("diff --git a/p.png b/p.png\nindex 1..2 100644\nBinary files a/p.png and b/p.png differ\n").binary, true);
  assert.deepEqual(parseDiff(""), { headers: [], hunks: [], binary: false });
  assert.deepEqual(parseDiff("\r\n").hunks, []);
});

const ctx = (n, from = 1) => Array.from({ length: n }, (_, i) => ({ kind: "ctx", text: `c${from + i}`, old: from + i, new: from + i }));
const add = (text) => ({ kind: "add", text, new: 0 });
const shape = (rows) => rows.map((r) => (r.type === "fold" ? `fold:${r.lines.length}` : r.line.kind === "ctx" ? r.line.text : r.line.kind));

test("long unchanged runs between changes fold, keeping context next to each change", () => {
  const hunk = [...ctx(3), add("a"), ...ctx(12, 4), add("b"), ...ctx(2, 16)];
  assert.deepEqual(shape(foldLines(hunk)), ["c1", "c2", "c3", "add", "c4", "c5", "c6", "fold:6", "c13", "c14", "c15", "add", "c16", "c17"]);
  // At the start and end of a hunk only the side next to a change is kept.
  const edges = [...ctx(10), add("x"), ...ctx(10, 11)];
  assert.deepEqual(shape(foldLines(edges)), ["fold:7", "c8", "c9", "c10", "add", "c11", "c12", "c13", "fold:7"]);
  // A run hiding fewer than `min` lines stays open.
  assert.deepEqual(shape(foldLines([add("x"), ...ctx(9), add("y")])), ["add", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "add"]);
  assert.deepEqual(shape(foldLines([add("x"), ...ctx(10), add("y")], { keep: 1, min: 2 })), ["add", "c1", "fold:8", "c10", "add"]);
  assert.deepEqual(foldLines([]), []);
});

test("diff rows: the unchanged lines git left out before each hunk are gaps", () => {
  const rows = diffRows(parseDiff(TWO_HUNKS));
  const kinds = rows.map((r) => r.type === "gap" ? `gap:${r.count}@${r.oldFrom}/${r.newFrom}` : r.type === "hunk" ? `hunk:${r.hunk.oldStart}` : r.type);
  assert.deepEqual(kinds.filter((k) => k !== "line"), ["gap:1@1/1", "hunk:2", "gap:18@9/9", "hunk:27"]);
  // A file added from nothing, or a change at line 1, has no gap.
  assert.deepEqual(diffRows(parseDiff("@@ -0,0 +1,2 @@\n+a\n+b\n")).map((r) => r.type), ["hunk", "line", "line"]);
  // After lines were added above, the sides are counted apart.
  const shifted = diffRows(parseDiff("@@ -1,0 +2,2 @@\n+a\n+b\n@@ -10,1 +12,1 @@\n-x\n+y\n"));
  assert.deepEqual(shifted.filter((r) => r.type === "gap").map((r) => [r.count, r.oldFrom, r.newFrom]), [[1, 1, 1], [8, 2, 4]]);
});

test("a gap's lines come from the file's current text, numbered on both sides", () => {
  const text = Array.from({ length: 40 }, (_, i) => String(i + 1)).join("\n") + "\n";
  assert.deepEqual(gapLines(text, { count: 3, oldFrom: 9, newFrom: 9 }).map((l) => [l.old, l.new, l.text]), [[9, 9, "9"], [10, 10, "10"], [11, 11, "11"]]);
  assert.deepEqual(gapLines("a\r\nb\r\nc", { count: 2, oldFrom: 5, newFrom: 2 }).map((l) => [l.old, l.new, l.text]), [[5, 2, "b"], [6, 3, "c"]]);
  assert.equal(gapLines("only\ntwo\n", { count: 10, oldFrom: 1, newFrom: 1 }), null);
});
