import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Transcript, reduceAll, sameAnswer } from "../reducer.js";

const fixture = (name) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

const kinds = (t) => t.items.map((i) => i.kind);
const text = (item) => item.blocks.filter((b) => b.type === "text").map((b) => b.text).join("");

function assistantStart(timestamp = 1) {
  return { type: "message_start", message: { role: "assistant", content: [], timestamp } };
}
function delta(d, contentIndex = 0, type = "text_delta") {
  return { type: "message_update", assistantMessageEvent: { type, contentIndex, delta: d } };
}

test("streamed text deltas assemble into one assistant message", () => {
  const t = new Transcript();
  t.apply({ type: "agent_start" });
  t.apply(assistantStart());
  t.apply({ type: "message_update", assistantMessageEvent: { type: "text_start", contentIndex: 0 } });
  for (const d of ["Hel", "lo ", "**world**"]) t.apply(delta(d));
  assert.deepEqual(kinds(t), ["assistant"]);
  assert.equal(text(t.items[0]), "Hello **world**");
  assert.equal(t.items[0].streaming, true);
  assert.equal(t.streaming, true);
  t.apply({ type: "message_end", message: { role: "assistant", content: [{ type: "text", text: "Hello **world**" }], timestamp: 1, usage: { input: 10, output: 5, cost: { total: 0.25 } } } });
  t.apply({ type: "agent_end", messages: [] });
  assert.equal(t.items[0].streaming, false);
  assert.equal(t.streaming, false);
  assert.deepEqual([t.totals.input, t.totals.output, t.totals.cost], [10, 5, 0.25]);
});

test("a delta updates the message in place: one item changed, nothing re-added", () => {
  const t = new Transcript();
  t.apply(assistantStart());
  t.takeChanges();
  t.apply(delta("a"));
  t.apply(delta("b"));
  const c = t.takeChanges();
  assert.equal(c.added.length, 0);
  assert.equal(c.updated.length, 1);
  assert.equal(c.updated[0].blocks[0].text, "ab");
});

test("thinking is kept apart from text", () => {
  const t = new Transcript();
  t.apply(assistantStart());
  t.apply(delta("pondering", 0, "thinking_delta"));
  t.apply(delta("answer", 1));
  assert.deepEqual(t.items[0].blocks.map((b) => [b.type, b.text]), [["thinking", "pondering"], ["text", "answer"]]);
});

test("the demo agent's reply reduces to a user prompt and an assistant answer", () => {
  const t = reduceAll(fixture("demo-reply.jsonl"));
  assert.deepEqual(kinds(t), ["user", "assistant"]);
  assert.equal(t.items[0].text, "hello <b>there</b>");
  assert.match(text(t.items[1]), /^You said:\n\n> hello <b>there<\/b>/);
  assert.equal(t.streaming, false);
  assert.ok(t.totals.known && t.totals.cost > 0);
});

test("tool call lifecycle: preparing, running, approval, result", () => {
  const records = fixture("demo-tool-run.jsonl");
  const t = new Transcript();
  const upTo = (pred) => { while (records.length) { const r = records.shift(); t.apply(r); if (pred(r)) return; } };
  upTo((r) => r.assistantMessageEvent?.type === "toolcall_start");
  const tool = t.items.find((i) => i.kind === "tool");
  assert.equal(tool.toolCallId, "call_1");
  assert.equal(tool.state, "preparing");
  upTo((r) => r.type === "extension_ui_request");
  assert.equal(tool.state, "running");
  assert.deepEqual(tool.args, { command: "ls -la" });
  const approval = t.items.find((i) => i.kind === "approval");
  assert.equal(approval.state, "pending");
  assert.equal(approval.method, "confirm");
  assert.equal(approval.title, "Run bash?");
  assert.equal(t.pendingApprovals.length, 1);
  while (records.length) t.apply(records.shift());
  assert.equal(tool.state, "done");
  assert.match(tool.result, /Package\.swift/);
  assert.equal(t.items.filter((i) => i.kind === "tool").length, 1, "one tool item per call id");
  assert.deepEqual(kinds(t), ["user", "assistant", "tool", "approval", "assistant"]);
});

test("a failed tool is marked as an error", () => {
  const t = new Transcript();
  t.apply({ type: "tool_execution_start", toolCallId: "c", toolName: "bash", args: { command: "false" } });
  t.apply({ type: "tool_execution_end", toolCallId: "c", toolName: "bash", result: { content: [{ type: "text", text: "Blocked by user" }] }, isError: true });
  assert.equal(t.items[0].state, "error");
  assert.equal(t.items[0].isError, true);
  assert.equal(t.items[0].result, "Blocked by user");
});

function confirm(id) {
  return { type: "extension_ui_request", id, method: "confirm", title: "Run bash?", message: "{\"command\":\"ls\"}" };
}

test("an approval answered here closes as answered by you", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  const response = { type: "extension_ui_response", id: "q1", confirmed: true };
  t.answerSent("q1", response);
  assert.equal(t.items[0].state, "sent");
  t.apply({ type: "amarre.request_resolved", id: "q1", response });
  assert.equal(t.items[0].state, "answered");
  assert.equal(t.items[0].by, "you");
  assert.equal(t.pendingApprovals.length, 0);
});

test("an approval answered on another device closes as answered elsewhere", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  t.apply({ type: "amarre.request_resolved", id: "q1", response: { type: "extension_ui_response", id: "q1", confirmed: false } });
  assert.equal(t.items[0].state, "answered");
  assert.equal(t.items[0].by, "other");
  assert.equal(t.items[0].answer.confirmed, false);
});

test("already_answered after our answer: another device won", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  const mine = { type: "extension_ui_response", id: "q1", confirmed: true };
  t.answerSent("q1", mine);
  t.apply({ type: "amarre.error", error: "already_answered", id: "q1" });
  assert.equal(t.items[0].state, "answered");
  assert.equal(t.items[0].by, "other");
  assert.equal(t.items.filter((i) => i.kind === "error").length, 0, "not shown as an error");
});

test("same answer sent on two devices: the loser learns from already_answered", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  const mine = { type: "extension_ui_response", id: "q1", confirmed: true };
  t.answerSent("q1", mine);
  t.apply({ type: "amarre.request_resolved", id: "q1", response: { ...mine } });
  t.apply({ type: "amarre.error", error: "already_answered", id: "q1" });
  assert.equal(t.items[0].by, "other");
});

test("a resolution that arrives before its request closes the request at once", () => {
  const t = new Transcript();
  t.apply({ type: "amarre.request_resolved", id: "q9", response: { id: "q9", confirmed: true } });
  t.apply(confirm("q9"));
  assert.equal(t.items[0].state, "answered");
  assert.equal(t.takeChanges().attention.length, 0);
});

test("a live approval raises attention, history does not", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  assert.deepEqual(t.takeChanges().attention.map((a) => a.kind), ["approval"]);
  t.prepend([confirm("q0")]);
  assert.equal(t.takeChanges().attention.length, 0);
});

test("pendingRequests of the summary add unknown cards and close answered ones", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  t.apply(confirm("q2"));
  const before = t.applied;
  t.apply(confirm("q3")); // arrived while the summary was in flight
  t.syncPending(["q2", "q7"], before);
  const state = Object.fromEntries(t.items.filter((i) => i.kind === "approval").map((i) => [i.id, i.state]));
  assert.deepEqual(state, { q1: "answered", q2: "pending", q3: "pending", q7: "pending" });
  assert.equal(t.byKey.get("approval:q7").unknown, true);
  // The request itself shows up later (replay): the card fills in.
  t.apply(confirm("q7"));
  assert.equal(t.byKey.get("approval:q7").unknown, false);
  assert.equal(t.items.filter((i) => i.kind === "approval").length, 4);
});

test("a crash expires open approvals and stops streaming", () => {
  const t = new Transcript();
  t.apply({ type: "agent_start" });
  t.apply(confirm("q1"));
  t.apply({ type: "amarre.session_event", event: "crashed", exitCode: 3, signal: null });
  assert.equal(t.items[0].state, "expired");
  assert.equal(t.streaming, false);
  assert.deepEqual(t.crash, { event: "crashed", exitCode: 3, signal: null });
});

test("records with an already seen _seq are dropped", () => {
  const t = new Transcript();
  t.apply({ _seq: 1, ...assistantStart() });
  assert.equal(t.apply({ _seq: 2, ...delta("a") }), true);
  assert.equal(t.apply({ _seq: 3, ...delta("b") }), true);
  assert.equal(t.apply({ _seq: 2, ...delta("a") }), false);
  assert.equal(t.apply({ _seq: 3, ...delta("b") }), false);
  t.apply({ _seq: 4, ...delta("c") });
  assert.equal(text(t.items[0]), "abc");
  assert.equal(t.lastSeq, 4);
});

test("the hello baseline: records at or below it are history", () => {
  const t = new Transcript();
  t.setBaseline(10);
  assert.equal(t.apply({ _seq: 10, type: "agent_start" }), false);
  assert.equal(t.apply({ _seq: 11, type: "agent_start" }), true);
});

test("unknown record types are kept as debug items, unknown amarre.* too", () => {
  const t = reduceAll([
    { type: "something_new", x: 1 },
    { type: "amarre.push_sent", trigger: "crashed" },
    { no: "type" },
    { type: "extension_ui_request", id: "w", method: "openBrowser", url: "x" },
  ]);
  assert.deepEqual(kinds(t), ["debug", "debug", "debug", "debug"]);
  assert.equal(t.items[0].label, "something_new");
  assert.deepEqual(t.items[0].record, { type: "something_new", x: 1 });
});

test("notify, plan_capture, setStatus, setWidget, setTitle, set_editor_text", () => {
  const t = reduceAll([
    { type: "extension_ui_request", id: "1", method: "notify", message: "Tests pass", notifyType: "info" },
    { type: "extension_ui_request", id: "2", method: "notify", event: "plan_capture", plan: "1. read\n2. write" },
    { type: "extension_ui_request", id: "3", method: "setStatus", statusKey: "git", statusText: "main ✓" },
    { type: "extension_ui_request", id: "4", method: "setWidget", widgetKey: "todo", widgetLines: ["a", "b"] },
    { type: "extension_ui_request", id: "5", method: "setTitle", title: "Refactor" },
    { type: "extension_ui_request", id: "6", method: "set_editor_text", text: "draft" },
  ]);
  assert.deepEqual(kinds(t), ["notice", "plan"]);
  assert.equal(t.items[1].text, "1. read\n2. write");
  assert.equal(t.statuses.get("git"), "main ✓");
  assert.deepEqual(t.widgets.get("todo"), ["a", "b"]);
  assert.equal(t.title, "Refactor");
  assert.equal(t.editorText, "draft");
  t.apply({ type: "extension_ui_request", id: "7", method: "setStatus", statusKey: "git" });
  assert.equal(t.statuses.has("git"), false);
});

test("failed commands are shown, our own quiet ones are not", () => {
  const t = new Transcript();
  t.quietIds.add("web-1");
  t.apply({ id: "web-1", type: "response", command: "get_messages", success: false, error: "nope" });
  t.apply({ type: "response", command: "prompt", success: false, error: "Agent is already processing." });
  t.apply({ type: "response", command: "prompt", success: true });
  assert.deepEqual(kinds(t), ["error"]);
  assert.match(t.items[0].text, /already processing/);
});

test("get_state tells whether the agent is working", () => {
  const t = new Transcript();
  t.apply({ type: "response", command: "get_state", success: true, data: { isStreaming: true, model: { id: "m" } } });
  assert.equal(t.streaming, true);
  assert.equal(t.model.id, "m");
});

test("joining mid-message starts from the snapshot", () => {
  const t = new Transcript();
  t.apply({ type: "message_update", assistantMessageEvent: { type: "text_delta", contentIndex: 0, delta: "lo" },
    message: { role: "assistant", content: [{ type: "text", text: "Hello" }], timestamp: 5 } });
  t.apply(delta(" you"));
  assert.equal(text(t.items[0]), "Hello you");
  assert.equal(t.streaming, true);
});

test("an older page is put in front, and a message cut by the boundary is merged", () => {
  const all = fixture("demo-reply.jsonl").map((r, i) => ({ _seq: i + 1, ...r }));
  // Drop the snapshots so the cut message must be stitched from deltas.
  for (const r of all) if (r.type === "message_update") delete r.message;
  const cut = all.findIndex((r) => r.assistantMessageEvent?.type === "text_delta") + 5;
  const live = new Transcript();
  live.setBaseline(all[cut - 1]._seq);
  for (const r of all.slice(cut)) live.apply(r);
  // message_end carries the whole text: nothing to stitch, the older part is dropped.
  live.prepend(all.slice(0, cut));
  const whole = reduceAll(all);
  assert.deepEqual(kinds(live), kinds(whole));
  assert.equal(text(live.items[1]), text(whole.items[1]));

  // Without a message_end yet (still streaming), the two halves are joined.
  const open = all.slice(0, all.findIndex((r) => r.type === "message_end" && r.message.role === "assistant"));
  const t2 = new Transcript();
  for (const r of open.slice(cut)) t2.apply(r);
  t2.prepend(open.slice(0, cut));
  assert.deepEqual(kinds(t2), ["user", "assistant"]);
  assert.equal(text(t2.items[1]), text(reduceAll(open).items[1]));
});

test("prepended pages change only what they add", () => {
  const t = new Transcript();
  t.apply({ type: "message_start", message: { role: "user", content: "new", timestamp: 9 } });
  t.takeChanges();
  t.prepend([{ type: "message_start", message: { role: "user", content: "old", timestamp: 1 } }]);
  const c = t.takeChanges();
  assert.equal(c.added.length, 0);
  assert.deepEqual(c.prepended.map((i) => i.text), ["old"]);
  assert.deepEqual(t.items.map((i) => i.text), ["old", "new"]);
});

test("history from get_messages skips messages already shown live", () => {
  const t = new Transcript();
  const user = { role: "user", content: [{ type: "text", text: "hi" }], timestamp: 2 };
  t.apply({ type: "message_start", message: user });
  t.apply({ type: "message_end", message: user });
  t.prependMessages([
    { role: "user", content: "first", timestamp: 1 },
    { role: "assistant", content: [{ type: "text", text: "ok" }, { type: "toolCall", id: "c1", name: "bash", arguments: { command: "ls" } }], timestamp: 1, usage: { input: 1, output: 1, cost: { total: 0.01 } } },
    { role: "toolResult", toolCallId: "c1", toolName: "bash", content: [{ type: "text", text: "a b" }], isError: false, timestamp: 1 },
    user,
  ]);
  assert.deepEqual(kinds(t), ["user", "assistant", "tool", "user"]);
  const tool = t.items[2];
  assert.deepEqual([tool.args, tool.result, tool.state], [{ command: "ls" }, "a b", "done"]);
});

test("a live tool end finds the tool call shown from history", () => {
  const t = new Transcript();
  t.prepend([{ type: "tool_execution_start", toolCallId: "c1", toolName: "bash", args: { command: "sleep 5" } }]);
  t.apply({ type: "tool_execution_end", toolCallId: "c1", toolName: "bash", result: { content: [{ type: "text", text: "ok" }] }, isError: false });
  assert.deepEqual(kinds(t), ["tool"]);
  assert.equal(t.items[0].state, "done");
});

test("sameAnswer compares the answer, not the object", () => {
  assert.equal(sameAnswer({ id: "a", confirmed: true, type: "x" }, { id: "a", confirmed: true }), true);
  assert.equal(sameAnswer({ id: "a", confirmed: true }, { id: "a", confirmed: false }), false);
  assert.equal(sameAnswer({ id: "a", value: "x" }, { id: "b", value: "x" }), false);
});

test("server notices: record_too_large, replay_gap, raw lines", () => {
  const t = reduceAll([
    { type: "amarre.error", error: "record_too_large", bytes: 20 << 20, limit: 16 << 20 },
    { type: "amarre.replay_gap", from: 1, to: 99 },
    { type: "amarre.raw", _seq: 3, line: "not json <b>" },
  ]);
  assert.deepEqual(kinds(t), ["error", "marker", "raw"]);
  assert.equal(t.items[2].line, "not json <b>");
});

test("a question withdrawn by the agent closes", () => {
  const t = new Transcript();
  t.apply(confirm("q1"));
  t.apply({ type: "amarre.request_withdrawn", id: "q1" });
  assert.equal(t.items[0].state, "expired");
  assert.equal(t.items[0].withdrawn, true);
  assert.equal(t.pendingApprovals.length, 0);
});

// --- issue 14: renames, archive, record targets --------------------------------------------

test("a renamed event names the session (null when the name is removed) and shows a line", () => {
  const t = new Transcript();
  assert.equal(t.sessionName, undefined, "no rename seen");
  t.apply({ type: "amarre.session_event", event: "renamed", name: "fix db", _seq: 3 });
  assert.equal(t.sessionName, "fix db");
  const c = t.takeChanges();
  assert.equal(c.meta, true);
  assert.deepEqual(c.added.map((i) => [i.kind, i.event, i.name]), [["session", "renamed", "fix db"]]);
  t.apply({ type: "amarre.session_event", event: "renamed", name: null, _seq: 4 });
  assert.equal(t.sessionName, null);
  t.apply({ type: "amarre.session_event", event: "renamed", name: "", _seq: 5 });
  assert.equal(t.sessionName, null);
});

test("a rename in older history does not undo a newer one", () => {
  const t = new Transcript();
  t.apply({ type: "amarre.session_event", event: "renamed", name: "newer", _seq: 10 });
  t.prepend([{ type: "amarre.session_event", event: "renamed", name: "older", _seq: 2 }]);
  assert.equal(t.sessionName, "newer");
  const u = new Transcript();
  u.apply({ type: "agent_start", _seq: 10 });
  u.prepend([{ type: "amarre.session_event", event: "renamed", name: "older", _seq: 2 }]);
  assert.equal(u.sessionName, "older");
  u.setSessionName("mine");
  assert.equal(u.sessionName, "mine");
});

test("a stopped event ends the turn and expires open questions, without a crash", () => {
  const t = new Transcript();
  t.apply({ type: "agent_start" });
  t.apply({ type: "extension_ui_request", id: "q1", method: "confirm", title: "Run?" });
  t.apply({ type: "amarre.session_event", event: "stopped", _seq: 9 });
  assert.equal(t.streaming, false);
  assert.equal(t.crash, null);
  assert.equal(t.items.find((i) => i.kind === "approval").state, "expired");
  assert.equal(t.takeChanges().attention.some((a) => a.kind === "crash"), false);
});

const user = (text, timestamp, _seq) => ({ type: "message_end", message: { role: "user", content: text, timestamp }, _seq });

test("the target record's item is found: a user message, a tool output, an assistant message", () => {
  const records = [
    { type: "message_start", message: { role: "user", content: "fix the migration", timestamp: 1 }, _seq: 1 },
    user("fix the migration", 1, 2),
    { type: "message_start", message: { role: "assistant", content: [], timestamp: 2 }, _seq: 3 },
    { type: "tool_execution_start", toolCallId: "c1", toolName: "bash", args: { command: "ls" }, _seq: 4 },
    { type: "tool_execution_end", toolCallId: "c1", toolName: "bash", result: "migrations/", _seq: 5 },
    { type: "message_end", message: { role: "assistant", content: [{ type: "text", text: "Done" }], timestamp: 2 }, _seq: 6 },
  ];
  const at = (seq) => {
    const t = new Transcript();
    t.setTarget(seq);
    for (const r of records) t.apply(r, { live: false });
    return t.byKey.get(t.targetKey);
  };
  assert.equal(at(2).kind, "user");
  assert.equal(at(2).text, "fix the migration");
  assert.equal(at(5).kind, "tool");
  assert.equal(at(5).result, "migrations/");
  assert.equal(at(4).toolCallId, "c1");
  assert.equal(at(6).kind, "assistant");
  assert.equal(new Transcript().targetKey, null);
});

test("a target in an older page is found, also when its item merges with one shown already", () => {
  const t = new Transcript();
  t.setTarget(2);
  t.apply({ type: "tool_execution_end", toolCallId: "c9", toolName: "bash", result: "ok", _seq: 10 });
  assert.equal(t.targetKey, null);
  t.prepend([
    user("older question", 1, 1),
    { type: "tool_execution_start", toolCallId: "c9", toolName: "bash", args: { command: "make" }, _seq: 2 },
  ]);
  const item = t.byKey.get(t.targetKey);
  assert.equal(item.kind, "tool");
  assert.equal(item, t.items.find((i) => i.toolCallId === "c9"), "the item shown, not the merged copy");
  assert.deepEqual(item.args, { command: "make" });
});
