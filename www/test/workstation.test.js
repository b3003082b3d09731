// Issue 13 in the transcript: images of user messages, tool approvals that can be allowed for
// the session, the session's allowed tools; and the records the composer sends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reduceAll, sameAnswer } from "../reducer.js";
import { commandFor } from "../session-controller.js";

const PNG = { type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" };

test("a user message's image parts are kept for the view, its text without them", () => {
  const user = { role: "user", content: [{ type: "text", text: "what is this?" }, PNG], timestamp: 1 };
  const t = reduceAll([{ type: "message_start", message: user }, { type: "message_end", message: user }]);
  const item = t.items.find((i) => i.kind === "user");
  assert.equal(item.text, "what is this?");
  assert.deepEqual(item.images, [PNG]);
  const plain = reduceAll([{ type: "message_end", message: { role: "user", content: "hi", timestamp: 2 } }]);
  assert.deepEqual(plain.items[0].images, []);
});

test("a user message that gains its images at message_end is updated", () => {
  const start = { role: "user", content: [{ type: "text", text: "look" }], timestamp: 3 };
  const end = { ...start, content: [...start.content, PNG] };
  const t = reduceAll([{ type: "message_start", message: start }]);
  t.takeChanges();
  t.apply({ type: "message_end", message: end });
  const changes = t.takeChanges();
  assert.equal(changes.updated.length, 1);
  assert.equal(changes.updated[0].images.length, 1);
});

test("an approval that names its tool carries it to the card", () => {
  const t = reduceAll([
    { type: "extension_ui_request", id: "q1", method: "confirm", title: "Allow Bash?", message: "ls", toolName: "Bash" },
    { type: "extension_ui_request", id: "q2", method: "select", title: "Run bash?\nls", options: ["Allow once", "Allow bash for this session", "Deny"], toolName: "bash" },
    { type: "extension_ui_request", id: "q3", method: "confirm", title: "Sure?" },
    { type: "extension_ui_request", id: "q4", method: "confirm", title: "x", toolName: 7 },
  ]);
  assert.deepEqual(t.items.map((i) => i.toolName), ["Bash", "bash", null, null]);
});

test("an answer for the session is told apart from Allow once", () => {
  const once = { type: "extension_ui_response", id: "q1", confirmed: true };
  const session = { ...once, scope: "session" };
  assert.equal(sameAnswer(session, { ...session }), true);
  assert.equal(sameAnswer(session, once), false);
  const t = reduceAll([{ type: "extension_ui_request", id: "q1", method: "confirm", title: "Allow Bash?", toolName: "Bash" }]);
  t.answerSent("q1", session);
  t.apply({ type: "amarre.request_resolved", id: "q1", response: session, _seq: 5 });
  const card = t.items[0];
  assert.equal(card.state, "answered");
  assert.equal(card.by, "you");
  assert.deepEqual(card.answer, session);
});

test("session_permissions: a line says what was allowed and what was revoked; no debug item", () => {
  const t = reduceAll([
    { type: "session_permissions", allowedTools: ["Bash"], _seq: 1 },
    { type: "session_permissions", allowedTools: ["Bash", "Edit"], _seq: 2 },
    { type: "session_permissions", allowedTools: ["Edit"], _seq: 3 },
    { type: "session_permissions", allowedTools: ["Edit"], _seq: 4 },
  ]);
  assert.deepEqual(t.items.map((i) => [i.kind, i.text]), [
    ["marker", "Allowed for this session: Bash"],
    ["marker", "Allowed for this session: Edit"],
    ["marker", "No longer allowed without asking: Bash"],
  ]);
  assert.deepEqual(t.allowedTools, ["Edit"]);
});

test("images go with a prompt, a steer and a follow-up; none: no images member", () => {
  const images = [PNG];
  assert.deepEqual(commandFor("see", "prompt", images), { type: "prompt", message: "see", streamingBehavior: "followUp", images });
  assert.deepEqual(commandFor("see", "steer", images), { type: "steer", message: "see", images });
  assert.deepEqual(commandFor("see", "follow_up", images), { type: "follow_up", message: "see", images });
  assert.deepEqual(commandFor("see", "prompt", []), { type: "prompt", message: "see", streamingBehavior: "followUp" });
  assert.deepEqual(commandFor("see", "prompt"), { type: "prompt", message: "see", streamingBehavior: "followUp" });
});
