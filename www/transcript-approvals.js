// Transcript, continued: the agent's extension UI requests and the approvals they open
// (pending -> sent -> answered / expired), reconciled with the server's notices and the
// summary's pendingRequests. Mixed into Transcript.prototype by reducer.js.

import { planText, sameAnswer, stringOr } from "./record-text.js";

export const ANSWERABLE = new Set(["confirm", "select", "input", "editor"]);

export const approvalMethods = {
  approvalKey(id) {
    return `${this.keyPrefix}approval:${id}`;
  },

  uiRequest(r) {
    const method = String(r.method ?? "");
    if (ANSWERABLE.has(method)) return this.approvalRequest(r, method);
    switch (method) {
      case "notify":
        if (r.event === "plan_capture" || r.plan !== undefined) {
          this.add("plan", { title: stringOr(r.title, "Plan"), text: planText(r), seq: r._seq });
        } else {
          this.add("notice", { level: stringOr(r.notifyType ?? r.level, "info"), text: stringOr(r.message, ""), seq: r._seq });
        }
        return;
      case "setStatus": {
        const key = stringOr(r.statusKey, "status");
        if (r.statusText === undefined || r.statusText === null || r.statusText === "") this.statuses.delete(key);
        else this.statuses.set(key, String(r.statusText));
        this.meta();
        return;
      }
      case "setWidget": {
        const key = stringOr(r.widgetKey, "widget");
        if (Array.isArray(r.widgetLines) && r.widgetLines.length) this.widgets.set(key, r.widgetLines.map(String));
        else this.widgets.delete(key);
        this.meta();
        return;
      }
      case "setTitle":
        this.title = typeof r.title === "string" && r.title ? r.title : null;
        this.meta();
        return;
      case "set_editor_text":
        this.editorText = String(r.text ?? "");
        this.editorTextRev += 1;
        this.meta();
        return;
      default:
        this.add("debug", { label: `extension_ui_request ${method}`, record: r, seq: r._seq });
    }
  },

  approvalRequest(r, method) {
    const id = typeof r.id === "string" || typeof r.id === "number" ? String(r.id) : null;
    if (id === null) {
      this.add("debug", { label: "extension_ui_request without id", record: r });
      return;
    }
    const fields = {
      id, method,
      title: stringOr(r.title, method === "confirm" ? "Allow?" : "The agent asks"),
      message: typeof r.message === "string" ? r.message : r.message === undefined ? "" : JSON.stringify(r.message, null, 2),
      options: Array.isArray(r.options) ? r.options.map((o) => (typeof o === "string" ? o : stringOr(o?.label ?? o?.value, JSON.stringify(o)))) : [],
      placeholder: typeof r.placeholder === "string" ? r.placeholder : "",
      prefill: typeof r.prefill === "string" ? r.prefill : "",
      timeout: typeof r.timeout === "number" ? r.timeout : null,
      // A tool approval names its tool: the card can allow it for the rest of the session.
      toolName: typeof r.toolName === "string" && r.toolName.trim() !== "" ? r.toolName.slice(0, 200) : null,
      unknown: false, appliedAt: this.applied, seq: r._seq,
    };
    const existing = this.byKey.get(this.approvalKey(id));
    if (existing) {
      // The summary announced it first (only the id was known), or a replay repeats it.
      if (existing.unknown) Object.assign(this.touch(existing), fields);
      return;
    }
    const resolved = this.resolvedIds.get(id);
    const item = this.add("approval", {
      ...fields, state: resolved ? (resolved.withdrawn ? "expired" : "answered") : "pending",
      by: resolved ? resolved.by : null, answer: resolved ? resolved.answer : null, sent: null,
      withdrawn: resolved?.withdrawn ?? false,
    }, this.approvalKey(id));
    if (!resolved && this.live) this.changes.attention.push({ kind: "approval", item });
  },

  /** The user answered on this device; `response` is the extension_ui_response sent. */
  answerSent(id, response) {
    const item = this.byKey.get(this.approvalKey(String(id)));
    if (!item || (item.state !== "pending" && item.state !== "sent")) return;
    this.touch(item);
    item.state = "sent";
    item.sent = response;
  },

  /** Sending failed (not connected): the card is answerable again. */
  answerFailed(id) {
    const item = this.byKey.get(this.approvalKey(String(id)));
    if (!item || item.state !== "sent") return;
    this.touch(item);
    item.state = "pending";
    item.sent = null;
  },

  requestResolved(id, response) {
    if (id === undefined || id === null) return;
    id = String(id);
    const item = this.byKey.get(this.approvalKey(id));
    if (!item) {
      this.resolvedIds.set(id, { by: this.live ? "other" : null, answer: response ?? null });
      return;
    }
    if (item.state === "answered" && item.by === "other") return;
    const mine = item.state === "sent" && sameAnswer(item.sent, response);
    this.touch(item);
    item.state = "answered";
    // From history we cannot tell which device answered.
    item.by = mine ? "you" : this.live ? "other" : null;
    item.answer = response ?? item.sent ?? null;
  },

  /** The agent stopped waiting (its run ended or it cancelled the question). */
  requestWithdrawn(id) {
    if (id === undefined || id === null) return;
    const item = this.byKey.get(this.approvalKey(String(id)));
    if (!item) {
      this.resolvedIds.set(String(id), { by: null, answer: null, withdrawn: true });
      return;
    }
    if (item.state !== "pending" && item.state !== "sent") return;
    this.touch(item);
    item.state = "expired";
    item.withdrawn = true;
  },

  alreadyAnswered(id) {
    if (id === undefined || id === null) return;
    const item = this.byKey.get(this.approvalKey(String(id)));
    if (!item) {
      this.resolvedIds.set(String(id), { by: "other", answer: null });
      return;
    }
    this.touch(item);
    item.state = "answered";
    item.by = "other";
    // The answer that won is the one request_resolved carried, not ours.
    if (item.answer && sameAnswer(item.answer, item.sent)) item.answer = null;
  },

  /**
   * Reconciles with a session summary's `pendingRequests`: adds cards for ids not seen yet,
   * and closes cards the server no longer lists. Only cards applied before `appliedBefore`
   * (the `applied` count when the summary was requested) are closed, so a request that
   * arrived while the summary was in flight is not closed by mistake.
   */
  syncPending(ids, appliedBefore = this.applied) {
    if (!Array.isArray(ids)) return;
    const wanted = new Set(ids.map(String));
    for (const item of this.items) {
      if (item.kind !== "approval" || (item.state !== "pending" && item.state !== "sent")) continue;
      if (!wanted.has(item.id) && item.appliedAt < appliedBefore) {
        this.touch(item);
        item.by = item.state === "sent" ? "you" : "other";
        item.state = "answered";
      }
    }
    for (const id of wanted) {
      if (this.byKey.has(this.approvalKey(id))) continue;
      this.add("approval", {
        id, method: "confirm", title: "The agent is waiting for an answer", message: "",
        options: [], placeholder: "", prefill: "", timeout: null, unknown: true,
        appliedAt: this.applied, state: "pending", by: null, answer: null, sent: null,
      }, this.approvalKey(id));
    }
  },
};
