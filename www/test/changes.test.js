import { test } from "node:test";
import assert from "node:assert/strict";
import { changeRow, changesSummary, shortSha, splitPath } from "../changes.js";
import { baseName, breadcrumbs, childPath, formatSize, normalizePath, parentPath } from "../files.js";

const ANSWER = {
  root: "/w/repo", base: "0123456789abcdef0123456789abcdef01234567", baseRef: "main",
  files: [
    { path: "README.md", status: "modified", added: 1, removed: 0, binary: false },
    { path: "img/logo.png", status: "added", added: 0, removed: 0, binary: true },
    { path: "src/new name.js", status: "renamed", oldPath: "src/old.js", added: 2, removed: 3, binary: false },
    { path: "gone.txt", status: "deleted", added: 0, removed: 7, binary: false },
  ],
};

test("each changed file becomes a row: status letter and word, +N −N or binary, directory apart", () => {
  const rows = ANSWER.files.map(changeRow);
  assert.deepEqual(rows.map((r) => [r.letter, r.label, r.dir, r.name, r.counts, r.oldPath]), [
    ["M", "modified", "", "README.md", "+1 −0", null],
    ["A", "added", "img/", "logo.png", "binary", null],
    ["R", "renamed", "src/", "new name.js", "+2 −3", "src/old.js"],
    ["D", "deleted", "", "gone.txt", "+0 −7", null],
  ]);
  assert.equal(rows[0].countsLabel, "1 line added, 0 removed");
  assert.equal(rows[1].countsLabel, "binary file");
  // Whatever the server sends, counts are whole numbers and an unknown status still shows.
  const odd = changeRow({ path: "x", status: "copied", added: -3, removed: "9" });
  assert.deepEqual([odd.letter, odd.label, odd.counts], ["?", "copied", "+0 −0"]);
  assert.deepEqual(splitPath("a/b/c.txt"), { dir: "a/b/", name: "c.txt" });
});

test("the summary line counts files and lines, and names the base", () => {
  const s = changesSummary(ANSWER);
  assert.equal(s.title, "4 files changed · +3 −10");
  assert.equal(s.against, "since 0123456 (main)");
  assert.deepEqual(changesSummary({ base: ANSWER.base, baseRef: "HEAD", files: [] }), { rows: [], added: 0, removed: 0, title: "No changes", against: "since 0123456 (HEAD)" });
  assert.equal(changesSummary({ files: [ANSWER.files[0]] }).title, "1 file changed · +1 −0");
  assert.equal(changesSummary(null).title, "No changes");
  assert.equal(shortSha("abc"), "abc");
});

test("breadcrumbs lead from the session's directory down to the path", () => {
  assert.deepEqual(breadcrumbs("", "repo"), [{ label: "repo", path: "" }]);
  assert.deepEqual(breadcrumbs("src/lib/", "repo"), [
    { label: "repo", path: "" }, { label: "src", path: "src" }, { label: "lib", path: "src/lib" },
  ]);
  assert.deepEqual(breadcrumbs("./a//b", ""), [{ label: "Files", path: "" }, { label: "a", path: "a" }, { label: "b", path: "a/b" }]);
});

test("file browser paths: normalised, parent and child, sizes", () => {
  assert.equal(normalizePath("/a/./b//c/"), "a/b/c");
  assert.equal(normalizePath("../x"), "../x"); // the server judges `..`
  assert.equal(childPath("", "a.txt"), "a.txt");
  assert.equal(childPath("src/", "a.txt"), "src/a.txt");
  assert.equal(parentPath("src/lib/a.js"), "src/lib");
  assert.equal(parentPath("a.js"), "");
  assert.equal(parentPath(""), null);
  assert.equal(baseName("/home/me/repo/"), "repo");
  assert.equal(baseName(undefined), "");
  assert.deepEqual([0, 812, 1434, 23_552, 1_153_434].map(formatSize), ["0 B", "812 B", "1.4 KB", "23 KB", "1.1 MB"]);
  assert.equal(formatSize(-1), "");
});
