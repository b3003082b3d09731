import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SessionModes, allowForSessionResponse, modelKey, normalizeModel, responseError, revokeCommand, setModelCommand,
  setPermissionModeCommand, setThinkingCommand,
} from "../modes.js";

const hello = (agent) => ({ type: "amarre.hello", agent, seq: 0 });
const state = (data, extra = {}) => ({ type: "response", command: "get_state", success: true, data, ...extra });
const PI_MODEL = { id: "fake-model-1", name: "Fake Model", api: "fake", provider: "fake", reasoning: false };

test("pi: the model and the thinking level from get_state; the level can be set", () => {
  const m = new SessionModes();
  assert.equal(m.apply(hello("pi")), true);
  assert.equal(m.apply(state({ model: PI_MODEL, thinkingLevel: "off", isStreaming: false })), true);
  assert.deepEqual(m.model, { provider: "fake", id: "fake-model-1", name: "Fake Model" });
  assert.equal(m.thinkingLevel, "off");
  assert.equal(m.canSetThinking, true);
  assert.equal(m.canSetPermissionMode, false);
  assert.equal(m.summary, "Fake Model");
  m.apply(state({ model: PI_MODEL, thinkingLevel: "high" }));
  assert.equal(m.summary, "Fake Model · thinking high");
  assert.equal(m.apply(state({ model: PI_MODEL, thinkingLevel: "high" })), false, "nothing changed");
});

test("claude: permission modes and the current one; no thinking level", () => {
  const m = new SessionModes();
  m.apply(hello("claude-code"));
  m.apply(state({ model: { provider: "anthropic", id: "claude-fake-1" }, permissionMode: "default",
    permissionModes: ["default", "acceptEdits", "plan"], allowedTools: ["Bash"] }));
  assert.equal(m.canSetThinking, false);
  assert.equal(m.canSetPermissionMode, true);
  assert.deepEqual(m.permissionChoices.map((c) => c.mode), ["default", "acceptEdits", "plan"], "bypass only when listed");
  assert.deepEqual(m.allowedTools, ["Bash"]);
  assert.equal(m.summary, "claude-fake-1");
  m.apply(state({ permissionMode: "plan", permissionModes: ["default", "acceptEdits", "plan", "bypassPermissions"] }));
  assert.equal(m.summary, "claude-fake-1 · Plan only", "a get_state without a model keeps it");
  assert.deepEqual(m.permissionChoices.at(-1), { mode: "bypassPermissions", label: "Bypass permissions", dangerous: true });
  // A thinking level from another agent is not offered.
  m.apply(state({ thinkingLevel: "high", permissionModes: ["default"] }));
  assert.equal(m.canSetThinking, false);
});

test("allowed tools: the latest session_permissions record or get_state wins", () => {
  const m = new SessionModes();
  m.apply(hello("pi"));
  assert.equal(m.apply({ type: "session_permissions", allowedTools: ["bash", "edit", "bash", 3] }), true);
  assert.deepEqual(m.allowedTools, ["bash", "edit"]);
  assert.equal(m.apply({ type: "session_permissions", allowedTools: ["bash", "edit"] }), false);
  m.apply({ type: "session_permissions", allowedTools: [] });
  assert.deepEqual(m.allowedTools, []);
  m.apply(state({ model: PI_MODEL, thinkingLevel: "off", allowedTools: ["read"] }));
  assert.deepEqual(m.allowedTools, ["read"]);
  m.apply(state({ model: PI_MODEL, thinkingLevel: "off" }));
  assert.deepEqual(m.allowedTools, ["read"], "a get_state without the list keeps it");
  assert.equal(m.apply({ type: "session_permissions" }), false, "malformed: ignored");
});

test("available models: pi's and claude's shapes; a failed response changes nothing", () => {
  const m = new SessionModes();
  assert.equal(m.apply({ type: "response", command: "get_available_models", success: false, error: "nope" }), false);
  assert.equal(m.models, null);
  m.apply({ type: "response", command: "get_available_models", success: true,
    data: { models: [PI_MODEL, { provider: "anthropic", id: "claude-x", name: "Claude X" }, { value: "default", displayName: "Default" }, {}, null] } });
  assert.deepEqual(m.models.map(modelKey), ["fake/fake-model-1", "anthropic/claude-x", "/default"]);
  assert.equal(m.models[2].name, "Default");
});

test("set_model answered with the model (pi) updates it at once", () => {
  const m = new SessionModes();
  m.apply({ type: "response", command: "set_model", success: true, data: { ...PI_MODEL, id: "other", name: "Other" } });
  assert.equal(m.summary, "Other");
  assert.equal(m.apply({ type: "response", command: "set_model", success: true }), false, "claude: get_state follows");
});

test("models: names fall back to ids, strings are ids", () => {
  assert.deepEqual(normalizeModel("sonnet"), { provider: "", id: "sonnet", name: "sonnet" });
  assert.deepEqual(normalizeModel({ provider: "p", modelId: "m" }), { provider: "p", id: "m", name: "m" });
  assert.equal(normalizeModel({ name: "no id" }), null);
  assert.equal(modelKey(null), "");
});

test("the commands sent", () => {
  assert.deepEqual(setModelCommand({ provider: "anthropic", id: "claude-x", name: "X" }), { type: "set_model", provider: "anthropic", modelId: "claude-x" });
  assert.deepEqual(setThinkingCommand("high"), { type: "set_thinking_level", level: "high" });
  assert.deepEqual(setPermissionModeCommand("plan"), { type: "set_permission_mode", mode: "plan" });
  assert.deepEqual(revokeCommand("Bash"), { type: "revoke_tool_permission", toolName: "Bash" });
  assert.deepEqual(allowForSessionResponse("r1"), { type: "extension_ui_response", id: "r1", confirmed: true, scope: "session" });
  assert.equal(responseError({ success: false, error: "bypass is not allowed" }), "bypass is not allowed");
  assert.equal(responseError({ success: false }), "The agent refused.");
});
