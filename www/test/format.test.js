import { test } from "node:test";
import assert from "node:assert/strict";
import { approvalPreview, editLines, toolDetails, toolSummary } from "../tool-format.js";
import { badgeTitle, exitText, formatCost, formatTokens, relativeTime, sessionTitle } from "../format.js";
import { parseRoute, sessionHash } from "../router.js";

test("approval preview of pi's permission gate: the bash command", () => {
  const p = approvalPreview({ title: "Run bash?", message: "{\"command\":\"ls -la\"}" });
  assert.equal(p.tool, "bash");
  assert.deepEqual(p.details, { kind: "command", command: "ls -la" });
});

test("approval preview of an edit shows path and texts", () => {
  const p = approvalPreview({ title: "Run edit?", message: JSON.stringify({ path: "README.md", oldText: "a\nb", newText: "a\nc" }) });
  assert.equal(p.details.kind, "edit");
  assert.deepEqual(editLines(p.details.oldText, p.details.newText), [
    { sign: " ", text: "a" }, { sign: "-", text: "b" }, { sign: "+", text: "c" },
  ]);
});

test("approval preview of JSON cut at 400 characters", () => {
  const message = JSON.stringify({ content: "x".repeat(1000) }).slice(0, 400);
  const p = approvalPreview({ title: "Run write?", message });
  assert.equal(p.details.kind, "json");
  assert.equal(p.truncated, true);
});

test("approval preview of plain text", () => {
  const p = approvalPreview({ title: "Deploy to production?", message: "This will restart the API." });
  assert.equal(p.tool, null);
  assert.equal(p.details, null);
  assert.equal(p.text, "This will restart the API.");
});

test("tool summaries", () => {
  assert.equal(toolSummary("bash", { command: "git status\ngit diff" }), "git status …");
  assert.equal(toolSummary("read", { path: "a/b.c" }), "a/b.c");
  assert.equal(toolSummary("x", { n: 1 }), "{\"n\":1}");
  assert.equal(toolSummary("x", null), "");
  assert.equal(toolDetails("write", { path: "p", content: "c" }).kind, "write");
});

test("formatting", () => {
  assert.equal(formatCost(0.001234), "$0.0012");
  assert.equal(formatCost(0.5), "$0.500");
  assert.equal(formatCost(12.345), "$12.35");
  assert.equal(formatTokens(999), "999");
  assert.equal(formatTokens(12_345), "12k");
  assert.equal(formatTokens(1_500), "1.5k");
  assert.equal(relativeTime(1000, 1000 + 90_000), "2 min ago");
  assert.equal(exitText({ exitCode: 3 }), "exit status 3");
  assert.equal(exitText({ signal: "SIGKILL" }), "killed by SIGKILL");
  assert.equal(sessionTitle({ id: "abcdef123456" }), "Session abcdef");
  assert.equal(sessionTitle({ id: "abcdef123456", name: " fix bug " }), "fix bug");
});

test("title badge", () => {
  assert.equal(badgeTitle(0, "amarre"), "amarre");
  assert.equal(badgeTitle(1, "amarre"), "(1) amarre");
  assert.equal(badgeTitle(120, "amarre"), "(99+) amarre");
});

test("routes", () => {
  assert.deepEqual(parseRoute(""), { name: "list" });
  assert.deepEqual(parseRoute("#/"), { name: "list" });
  assert.deepEqual(parseRoute("#/s/0123456789ab"), { name: "session", id: "0123456789ab" });
  assert.deepEqual(parseRoute("#/s/<script>"), { name: "list" });
  assert.equal(sessionHash("0123456789ab"), "#/s/0123456789ab");
});
