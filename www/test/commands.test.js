import { test } from "node:test";
import assert from "node:assert/strict";
import { commandFor } from "../session-controller.js";

test("idle: a prompt that pi would queue if the agent turned busy meanwhile", () => {
  assert.deepEqual(commandFor("hi", "prompt"), { type: "prompt", message: "hi", streamingBehavior: "followUp" });
});

test("busy: steer and follow_up, never a second prompt", () => {
  assert.deepEqual(commandFor("stop that", "steer"), { type: "steer", message: "stop that" });
  assert.deepEqual(commandFor("then this", "follow_up"), { type: "follow_up", message: "then this" });
});

test("busy: a slash command goes as a prompt so that it runs at once", () => {
  assert.deepEqual(commandFor("/compact", "follow_up"), { type: "prompt", message: "/compact", streamingBehavior: "followUp" });
  assert.deepEqual(commandFor("/crash", "steer"), { type: "prompt", message: "/crash", streamingBehavior: "steer" });
});
