import { test } from "node:test";
import assert from "node:assert/strict";
import { ARCHIVE_OPEN_MAX, archiveFolded, splitArchive } from "../archive.js";

test("stopped sessions go to the archive, the others stay, each newest first", () => {
  const sessions = [
    { id: "a", status: "running", createdAt: 1 },
    { id: "b", status: "stopped", createdAt: 5 },
    { id: "c", status: "crashed", createdAt: 3 },
    { id: "d", status: "stopped", createdAt: 9 },
    { id: "e", status: "running", spawnedAt: 7 },
    { nope: true },
  ];
  const { active, archived } = splitArchive(sessions);
  assert.deepEqual(active.map((s) => s.id), ["e", "c", "a"]);
  assert.deepEqual(archived.map((s) => s.id), ["d", "b"]);
  assert.deepEqual(splitArchive(null), { active: [], archived: [] });
});

test("the archive starts folded only when it holds more than a few sessions", () => {
  assert.equal(ARCHIVE_OPEN_MAX, 3);
  assert.equal(archiveFolded(1), false);
  assert.equal(archiveFolded(3), false);
  assert.equal(archiveFolded(4), true);
});
