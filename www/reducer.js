// The session transcript as a view model: records in, ordered items out.
//
// Pure: no DOM, no I/O, no clock. Records are applied one at a time (`apply`); older pages of
// history are reduced on their own and stitched in front (`prepend`). Each change bumps the
// item's `rev` and is collected until `takeChanges()`, so a view touches only what changed
// (an appended item, or the one block of the message being streamed).
//
// Items (all have key, kind, rev):
//   user       {text, images: [image content parts]}
//   assistant  {blocks:[{index, type:"text"|"thinking", text, rev}], streaming, usage,
//               stopReason, errorMessage, model, orphan, msgKey}
//   tool       {toolCallId, toolName, args, argsText, partial, result, isError,
//               state:"preparing"|"running"|"done"|"error"}
//   approval   {id, method, title, message, options, placeholder, prefill, timeout,
//               state:"pending"|"sent"|"answered"|"expired", by:"you"|"other"|null,
//               answer, sent, unknown (only the id is known), appliedAt}
//   notice     {level, text}          notify
//   plan       {text, title}          notify with event "plan_capture"
//   session    {event, exitCode, signal, name}   amarre.session_event (name: "renamed")
//   marker     {text, tone}           gaps, reconnects, compaction, retries
//   error      {text, detail}         amarre.error, extension_error, failed commands
//   raw        {line}                 agent output that was not JSON (amarre.raw)
//   debug      {label, record}        anything else, shown folded, never dropped
//
// A record can be the target of the view (a search result opens the session at it):
// `targetSeq` names its _seq, and once it is reduced `targetKey` is the key of the item that
// shows it (the message, the tool call), also when it arrives in an older page.
//
// Split like a type with extensions: transcript-approvals.js (extension UI requests and
// approvals) and transcript-history.js (older pages) add their methods to Transcript.

import { approvalMethods, ANSWERABLE } from "./transcript-approvals.js";
import { historyMethods } from "./transcript-history.js";
import {
  contentText, gapText, msgKey, num, resultText, serverErrorText, stringOr, userFields,
} from "./record-text.js";

export { ANSWERABLE };
export { contentText, resultText, sameAnswer } from "./record-text.js";

export class Transcript {
  constructor({ keyPrefix = "" } = {}) {
    this.keyPrefix = keyPrefix;
    this.items = [];
    this.byKey = new Map();
    /** Highest `_seq` applied (records at or below it are duplicates). */
    this.lastSeq = null;
    /** Records applied, a logical clock for syncPending. */
    this.applied = 0;
    this.streaming = false;
    this.streamingKnown = false;
    this.queue = { steering: [], followUp: [] };
    this.statuses = new Map();
    this.widgets = new Map();
    this.title = null;
    /** The name of the last "renamed" session event: undefined when none was seen, null when removed. */
    this.sessionName = undefined;
    /** The record the view is opened at (its _seq), and the key of the item showing it. */
    this.targetSeq = null;
    this.targetKey = null;
    /** The first item added or changed by the record being applied. */
    this.hit = null;
    this.editorText = null;
    this.editorTextRev = 0;
    this.model = null;
    /** The tools of the last session_permissions record (null: none seen). */
    this.allowedTools = null;
    this.totals = { input: 0, output: 0, cost: 0, known: false };
    this.crash = null;
    this.hello = null;
    /** Ids of responses nobody needs to see (our own background commands). */
    this.quietIds = new Set();
    /** Approval ids resolved before (or without) their request being seen. */
    this.resolvedIds = new Map();
    this.nextKey = 0;
    this.openAssistant = null;
    this.openUser = null;
    this.resync = false;
    this.live = true;
    this.resetChanges();
  }

  // --- changes ---------------------------------------------------------------------------

  resetChanges() {
    this.changes = { added: [], updated: new Set(), prepended: [], removed: [], meta: false, attention: [] };
  }

  /** What changed since the last call: {added, updated, prepended, removed, meta, attention}. */
  takeChanges() {
    const c = this.changes;
    this.resetChanges();
    const added = new Set(c.added);
    const prepended = new Set(c.prepended);
    const removed = new Set(c.removed);
    return {
      added: c.added.filter((i) => !removed.has(i)),
      prepended: c.prepended.filter((i) => !removed.has(i)),
      updated: [...c.updated].filter((i) => !added.has(i) && !prepended.has(i) && !removed.has(i)),
      removed: c.removed,
      meta: c.meta,
      attention: c.attention,
    };
  }

  touch(item) {
    this.hit ??= item;
    item.rev += 1;
    this.changes.updated.add(item);
    return item;
  }

  meta() {
    this.changes.meta = true;
  }

  add(kind, fields, key) {
    const item = { key: key ?? `${this.keyPrefix}${kind}:${this.nextKey++}`, kind, rev: 0, ...fields };
    this.items.push(item);
    this.byKey.set(item.key, item);
    this.changes.added.push(item);
    this.hit ??= item;
    return item;
  }

  remove(item) {
    const i = this.items.indexOf(item);
    if (i !== -1) this.items.splice(i, 1);
    this.byKey.delete(item.key);
    this.changes.removed.push(item);
  }

  get pendingApprovals() {
    return this.items.filter((i) => i.kind === "approval" && (i.state === "pending" || i.state === "sent"));
  }

  // --- records -----------------------------------------------------------------------------

  /**
   * Applies one record. Returns false when it was a duplicate (its `_seq` was already seen).
   * `live` is false for history, which must not raise attention.
   */
  apply(record, { live = true } = {}) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      this.add("debug", { label: "non-object record", record });
      return true;
    }
    const seq = record._seq;
    if (typeof seq === "number") {
      if (this.lastSeq !== null && seq <= this.lastSeq) return false;
      this.lastSeq = seq;
    }
    this.applied += 1;
    this.live = live;
    this.hit = null;
    const type = typeof record.type === "string" ? record.type : "";
    if (type.startsWith("amarre.")) this.applyServer(type, record);
    else this.applyAgent(type, record);
    if (typeof seq === "number" && seq === this.targetSeq && this.targetKey === null) {
      this.targetKey = this.itemFor(record)?.key ?? null;
    }
    return true;
  }

  /** Opens the view at the record with this _seq: see `targetKey`. */
  setTarget(seq) {
    this.targetSeq = typeof seq === "number" && Number.isFinite(seq) ? seq : null;
    this.targetKey = null;
  }

  /** The item showing `record`, just applied: its message or tool call, else what it changed. */
  itemFor(record) {
    const message = record.message && typeof record.message === "object" ? record.message : null;
    if (message) {
      const key = msgKey(message);
      const byMessage = key ? this.findMessage(message) : null;
      if (byMessage) return byMessage;
      if (message.role === "toolResult" && typeof message.toolCallId === "string") {
        const tool = this.byKey.get(this.toolKey(message.toolCallId));
        if (tool) return tool;
      }
    }
    if (typeof record.toolCallId === "string") {
      const tool = this.byKey.get(this.toolKey(record.toolCallId));
      if (tool) return tool;
    }
    return this.hit ?? this.items[this.items.length - 1] ?? null;
  }

  /** The session was renamed here (the server's "renamed" record follows for everyone). */
  setSessionName(name) {
    this.sessionName = typeof name === "string" && name !== "" ? name : null;
    this.meta();
  }

  /** The seq the first hello reported: everything at or below it is history, not live. */
  setBaseline(seq) {
    if (typeof seq === "number" && this.lastSeq === null) this.lastSeq = seq;
  }

  /** A line of the client's own (reconnects, restarts). */
  addMarker(text, tone = "info") {
    return this.add("marker", { text, tone });
  }

  /** After a reconnect without replay: rebuild streaming messages from the next snapshot. */
  markDiscontinuity() {
    this.resync = true;
  }

  applyServer(type, r) {
    switch (type) {
      case "amarre.hello":
        this.hello = r;
        this.meta();
        return;
      case "amarre.session_event":
        return this.sessionEvent(r);
      case "amarre.request_resolved":
        return this.requestResolved(r.id, r.response);
      case "amarre.request_withdrawn":
        return this.requestWithdrawn(r.id);
      case "amarre.error":
        if (r.error === "already_answered") return this.alreadyAnswered(r.id);
        this.add("error", { text: serverErrorText(r), detail: r, seq: r._seq });
        return;
      case "amarre.replay_gap":
        this.add("marker", { tone: "warn", text: gapText(r), seq: r._seq });
        return;
      case "amarre.raw":
        this.add("raw", { line: String(r.line ?? ""), seq: r._seq });
        return;
      case "amarre.unparsable":
        this.add("raw", { line: String(r.line ?? "") });
        return;
      default:
        this.add("debug", { label: type, record: r, seq: r._seq });
    }
  }

  applyAgent(type, r) {
    switch (type) {
      case "agent_start":
        this.setStreaming(true);
        return;
      case "agent_end":
        this.closeAssistant();
        this.setStreaming(false);
        if (this.live) this.changes.attention.push({ kind: "done" });
        if (r.usage && typeof r.usage === "object" && !this.totals.known) this.addUsage(r.usage);
        return;
      case "turn_start":
      case "turn_end":
        return;
      case "message_start":
        return this.messageStart(r.message);
      case "message_update":
        return this.messageUpdate(r);
      case "message_end":
        return this.messageEnd(r.message);
      case "tool_execution_start":
      case "tool_execution_update":
      case "tool_execution_end":
        return this.toolExecution(type, r);
      case "extension_ui_request":
        return this.uiRequest(r);
      case "queue_update":
        this.queue = {
          steering: Array.isArray(r.steering) ? r.steering.map(String) : [],
          followUp: Array.isArray(r.followUp) ? r.followUp.map(String) : [],
        };
        this.meta();
        return;
      case "response":
        return this.response(r);
      case "session_permissions":
        return this.sessionPermissions(r);
      case "extension_error":
        this.add("error", { text: `Extension error: ${stringOr(r.error, "unknown error")}`, detail: r, seq: r._seq });
        return;
      case "compaction_start":
      case "auto_compaction_start":
        this.add("marker", { tone: "info", text: "Compacting the conversation…", seq: r._seq });
        return;
      case "compaction_end":
      case "auto_compaction_end":
        this.add("marker", { tone: "info", text: r.aborted ? "Compaction aborted" : "Conversation compacted", seq: r._seq });
        return;
      case "auto_retry_start":
        this.add("marker", {
          tone: "warn", seq: r._seq,
          text: `Retrying (attempt ${r.attempt ?? "?"}${r.maxAttempts ? ` of ${r.maxAttempts}` : ""}): ${stringOr(r.errorMessage, "transient error")}`,
        });
        return;
      case "auto_retry_end":
        if (r.success === false) this.add("error", { text: `Gave up retrying: ${stringOr(r.finalError, "error")}`, detail: r, seq: r._seq });
        return;
      default:
        this.add("debug", { label: type || "record without a type", record: r, seq: r._seq });
    }
  }

  setStreaming(on) {
    this.streamingKnown = true;
    if (this.streaming !== on) {
      this.streaming = on;
      this.meta();
    }
  }

  // --- messages ------------------------------------------------------------------------------

  messageStart(message) {
    if (!message || typeof message !== "object") return;
    switch (message.role) {
      case "user": {
        const existing = this.findMessage(message);
        if (existing) return;
        const item = this.add("user", { ...userFields(message), msgKey: msgKey(message) });
        this.openUser = item;
        return;
      }
      case "assistant":
        this.closeAssistant();
        this.openAssistant = this.add("assistant", {
          blocks: [], streaming: true, usage: null, stopReason: null, errorMessage: null,
          model: message.model ?? null, orphan: false, msgKey: msgKey(message),
        });
        this.adoptContent(this.openAssistant, message, { partial: true });
        return;
      case "toolResult":
        return this.toolResultMessage(message);
      default:
        return this.otherMessage(message, false);
    }
  }

  messageEnd(message) {
    if (!message || typeof message !== "object") return;
    switch (message.role) {
      case "user": {
        if (this.openUser && this.openUser.msgKey === msgKey(message)) {
          const fields = userFields(message);
          if (fields.text !== this.openUser.text || fields.images.length !== this.openUser.images.length) {
            Object.assign(this.touch(this.openUser), fields);
          }
          this.openUser = null;
          return;
        }
        this.openUser = null;
        if (this.findMessage(message)) return;
        this.add("user", { ...userFields(message), msgKey: msgKey(message), orphan: true });
        return;
      }
      case "assistant": {
        let item = this.openAssistant;
        if (!item) {
          item = this.findMessage(message);
          if (!item) {
            item = this.add("assistant", {
              blocks: [], streaming: true, usage: null, stopReason: null, errorMessage: null,
              model: message.model ?? null, orphan: true, msgKey: msgKey(message),
            });
          }
        }
        this.adoptContent(item, message, { partial: false });
        this.touch(item);
        item.complete = true;
        item.streaming = false;
        item.stopReason = message.stopReason ?? null;
        item.errorMessage = message.errorMessage ?? null;
        item.model = message.model ?? item.model;
        if (message.usage && typeof message.usage === "object" && !item.usage) {
          item.usage = message.usage;
          this.addUsage(message.usage);
        }
        if (this.openAssistant === item) this.openAssistant = null;
        return;
      }
      case "toolResult":
        return this.toolResultMessage(message);
      default:
        return this.otherMessage(message, true);
    }
  }

  messageUpdate(r) {
    const ev = r.assistantMessageEvent && typeof r.assistantMessageEvent === "object" ? r.assistantMessageEvent : {};
    let item = this.openAssistant;
    if (!this.streaming) this.setStreaming(true);
    if (!item) {
      // Joined in the middle of a message: start from the snapshot when there is one.
      item = this.openAssistant = this.add("assistant", {
        blocks: [], streaming: true, usage: null, stopReason: null, errorMessage: null,
        model: r.message?.model ?? null, orphan: true, msgKey: msgKey(r.message), fromSnapshot: false,
      });
      if (r.message && typeof r.message === "object") {
        this.adoptContent(item, r.message, { partial: true });
        item.fromSnapshot = true;
        item.complete = true;
        this.resync = false;
        return;
      }
    } else if (this.resync && r.message && typeof r.message === "object") {
      this.resync = false;
      this.adoptContent(item, r.message, { partial: true });
      return;
    }
    const index = typeof ev.contentIndex === "number" ? ev.contentIndex : null;
    switch (ev.type) {
      case "text_start":
      case "thinking_start":
        this.block(item, index, ev.type.startsWith("text") ? "text" : "thinking");
        return;
      case "text_delta":
      case "thinking_delta": {
        if (typeof ev.delta !== "string" || ev.delta === "") return;
        const block = this.block(item, index, ev.type.startsWith("text") ? "text" : "thinking");
        block.text += ev.delta;
        block.rev += 1;
        this.touch(item);
        return;
      }
      case "text_end":
      case "thinking_end": {
        const block = this.block(item, index, ev.type.startsWith("text") ? "text" : "thinking");
        if (typeof ev.content === "string") {
          block.complete = true;
          if (ev.content !== block.text) {
            block.text = ev.content;
            block.rev += 1;
            this.touch(item);
          }
        }
        return;
      }
      case "toolcall_start":
      case "toolcall_delta":
      case "toolcall_end":
        return this.toolCallEvent(item, ev, index, r.message);
      case "done":
        return;
      case "error":
        this.touch(item);
        item.errorMessage = stringOr(ev.error?.errorMessage ?? ev.errorMessage, ev.reason === "aborted" ? "Aborted" : "Error");
        return;
      default:
        return;
    }
  }

  /** The text/thinking block at content index `index` (created when missing). */
  block(item, index, type) {
    let block = index === null
      ? [...item.blocks].reverse().find((b) => b.type === type)
      : item.blocks.find((b) => b.index === index);
    if (!block || block.type !== type) {
      const newIndex = index ?? (item.blocks.length ? Math.max(...item.blocks.map((b) => b.index)) + 1 : 0);
      block = { index: newIndex, type, text: "", rev: 0 };
      item.blocks.push(block);
      item.blocks.sort((a, b) => a.index - b.index);
      this.touch(item);
    }
    return block;
  }

  /** Replaces the blocks of `item` with the message's content, keeping unchanged blocks. */
  adoptContent(item, message, { partial }) {
    const content = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    if (!Array.isArray(content)) return;
    const next = [];
    content.forEach((c, index) => {
      if (!c || typeof c !== "object") return;
      if (c.type === "text" || c.type === "thinking") {
        const text = String(c.type === "text" ? c.text ?? "" : c.thinking ?? c.text ?? "");
        const old = item.blocks.find((b) => b.index === index && b.type === c.type);
        if (old) {
          if (old.text !== text) { old.text = text; old.rev += 1; }
          old.complete = true;
          next.push(old);
        } else {
          next.push({ index, type: c.type, text, rev: 0, complete: true });
        }
      } else if (c.type === "toolCall" && typeof c.id === "string") {
        this.ensureTool(c.id, c.name, partial ? undefined : c.arguments);
      }
    });
    if (partial && next.length === 0 && item.blocks.length) return;
    item.blocks = next;
    this.touch(item);
  }

  closeAssistant() {
    const item = this.openAssistant;
    if (!item) return;
    this.openAssistant = null;
    if (item.streaming) {
      this.touch(item);
      item.streaming = false;
    }
  }

  findMessage(message) {
    const key = msgKey(message);
    if (!key) return null;
    for (let i = this.items.length - 1; i >= 0 && i >= this.items.length - 200; i--) {
      if (this.items[i].msgKey === key) return this.items[i];
    }
    return null;
  }

  otherMessage(message, end) {
    const role = String(message.role ?? "");
    if (role === "bashExecution") {
      if (!end && message.output === undefined) return;
      const key = `bash:${message.timestamp ?? this.nextKey}`;
      if (this.byKey.has(this.keyPrefix + key)) return;
      this.add("tool", {
        toolCallId: null, toolName: "bash", args: { command: message.command }, argsText: "",
        partial: "", result: String(message.output ?? ""), isError: message.exitCode !== 0 && message.exitCode !== undefined,
        state: message.exitCode === 0 ? "done" : "error",
      }, this.keyPrefix + key);
      return;
    }
    if (!end) return;
    if (role === "custom" && message.display !== false) {
      this.add("notice", { level: "info", text: contentText(message.content) });
      return;
    }
    this.add("debug", { label: `message (${role || "no role"})`, record: message });
  }

  addUsage(usage) {
    const input = num(usage.input) + num(usage.cacheRead) + num(usage.cacheWrite);
    const output = num(usage.output);
    const cost = typeof usage.cost === "number" ? usage.cost : num(usage.cost?.total);
    if (!input && !output && !cost) return;
    this.totals = {
      input: this.totals.input + input,
      output: this.totals.output + output,
      cost: this.totals.cost + cost,
      known: true,
    };
    this.meta();
  }

  // --- tools -------------------------------------------------------------------------------

  toolKey(id) {
    return `${this.keyPrefix}tool:${id}`;
  }

  ensureTool(id, name, args) {
    let item = this.byKey.get(this.toolKey(id));
    if (!item) {
      item = this.add("tool", {
        toolCallId: id, toolName: stringOr(name, "tool"), args: args ?? null, argsText: "",
        partial: "", result: null, isError: false, state: "preparing",
      }, this.toolKey(id));
      return item;
    }
    if ((args !== undefined && item.args === null) || (name && item.toolName === "tool")) {
      this.touch(item);
      if (args !== undefined && item.args === null) item.args = args;
      if (name && item.toolName === "tool") item.toolName = name;
    }
    return item;
  }

  toolCallEvent(assistant, ev, index, message) {
    const block = message && Array.isArray(message.content) && index !== null ? message.content[index] : null;
    const call = ev.toolCall && typeof ev.toolCall === "object" ? ev.toolCall : block;
    assistant.pendingTools ??= new Map();
    let item = index !== null ? assistant.pendingTools.get(index) : null;
    if (!item && call && typeof call.id === "string") item = this.ensureTool(call.id, call.name);
    if (!item) {
      item = this.add("tool", {
        toolCallId: null, toolName: stringOr(call?.name, "tool"), args: null, argsText: "",
        partial: "", result: null, isError: false, state: "preparing",
      });
    }
    if (index !== null) assistant.pendingTools.set(index, item);
    if (ev.type === "toolcall_delta" && typeof ev.delta === "string") {
      this.touch(item);
      item.argsText += ev.delta;
    }
    if (ev.type === "toolcall_end" && call) {
      this.touch(item);
      if (call.name) item.toolName = call.name;
      if (call.arguments !== undefined) item.args = call.arguments;
      if (typeof call.id === "string" && item.toolCallId === null) {
        // Now that it has an id, later tool_execution_* records find it.
        const existing = this.byKey.get(this.toolKey(call.id));
        if (existing && existing !== item) this.remove(existing);
        this.byKey.delete(item.key);
        item.toolCallId = call.id;
        this.byKey.set(this.toolKey(call.id), item);
      }
    }
  }

  toolExecution(type, r) {
    const id = typeof r.toolCallId === "string" ? r.toolCallId : null;
    let item = id ? this.byKey.get(this.toolKey(id)) : null;
    if (!item) {
      const fields = {
        toolCallId: id, toolName: stringOr(r.toolName, "tool"), args: r.args ?? null, argsText: "",
        partial: "", result: null, isError: false, state: "running", orphan: type !== "tool_execution_start",
      };
      item = id ? this.add("tool", fields, this.toolKey(id)) : this.add("tool", fields);
    } else {
      this.touch(item);
    }
    if (r.toolName) item.toolName = r.toolName;
    if (r.args !== undefined && r.args !== null) item.args = r.args;
    if (type === "tool_execution_start") {
      if (item.state === "preparing") item.state = "running";
    } else if (type === "tool_execution_update") {
      item.partial = resultText(r.partialResult);
      if (item.state === "preparing") item.state = "running";
    } else {
      item.result = resultText(r.result);
      item.isError = r.isError === true;
      item.state = item.isError ? "error" : "done";
    }
  }

  toolResultMessage(message) {
    const id = typeof message.toolCallId === "string" ? message.toolCallId : null;
    let item = id ? this.byKey.get(this.toolKey(id)) : null;
    if (item && item.result !== null) return;
    if (!item) {
      const fields = {
        toolCallId: id, toolName: stringOr(message.toolName, "tool"), args: null, argsText: "",
        partial: "", result: null, isError: false, state: "running",
      };
      item = id ? this.add("tool", fields, this.toolKey(id)) : this.add("tool", fields);
    } else {
      this.touch(item);
    }
    item.result = contentText(message.content);
    item.isError = message.isError === true;
    item.state = item.isError ? "error" : "done";
  }

  sessionEvent(r) {
    const event = String(r.event ?? "");
    const name = typeof r.name === "string" && r.name !== "" ? r.name : null;
    this.add("session", { event, exitCode: r.exitCode ?? null, signal: r.signal ?? null, seq: r._seq, name });
    if (event === "renamed") {
      this.sessionName = name;
    } else if (event === "stopped") {
      // Archived: the agent is gone, the history stays.
      this.expireOpen();
    } else if (event === "crashed" || event === "gave_up") {
      this.crash = { event, exitCode: r.exitCode ?? null, signal: r.signal ?? null };
      this.expireOpen();
      if (this.live) this.changes.attention.push({ kind: "crash" });
    } else if (event === "restarted" || event === "restored") {
      this.crash = null;
      this.expireOpen();
    }
    this.meta();
  }

  /** The agent runs again (the server's own "restarted" record may follow). */
  clearCrash() {
    if (!this.crash) return;
    this.crash = null;
    this.meta();
  }

  /** The agent went away: open cards can no longer be answered, nothing is streaming. */
  expireOpen() {
    for (const item of this.items) {
      if (item.kind === "approval" && (item.state === "pending" || item.state === "sent")) {
        this.touch(item);
        item.state = "expired";
      }
    }
    this.closeAssistant();
    this.setStreaming(false);
  }

  /** The tools allowed for this session changed (modes.js keeps the list): say what changed. */
  sessionPermissions(r) {
    const tools = Array.isArray(r.allowedTools) ? r.allowedTools.filter((t) => typeof t === "string") : [];
    const before = this.allowedTools ?? [];
    const added = tools.filter((t) => !before.includes(t));
    const removed = before.filter((t) => !tools.includes(t));
    this.allowedTools = tools;
    if (added.length) this.add("marker", { tone: "info", text: `Allowed for this session: ${added.join(", ")}`, seq: r._seq });
    if (removed.length) this.add("marker", { tone: "info", text: `No longer allowed without asking: ${removed.join(", ")}`, seq: r._seq });
    this.meta();
  }

  response(r) {
    const id = r.id === undefined ? undefined : String(r.id);
    if (r.command === "get_state" && r.success && r.data && typeof r.data === "object") {
      if (typeof r.data.isStreaming === "boolean") this.setStreaming(r.data.isStreaming);
      if (r.data.model) this.model = r.data.model;
      this.meta();
      return;
    }
    if (id !== undefined && this.quietIds.has(id)) {
      this.quietIds.delete(id);
      return;
    }
    if (r.success === false) {
      this.add("error", { text: `${stringOr(r.command, "command")} failed: ${stringOr(r.error, "no reason given")}`, detail: r, seq: r._seq });
    }
  }
}

Object.assign(Transcript.prototype, approvalMethods, historyMethods);

/** Replays records into a fresh transcript (tests, history). */
export function reduceAll(records, options) {
  const t = new Transcript(options);
  for (const r of records) t.apply(r);
  return t;
}
