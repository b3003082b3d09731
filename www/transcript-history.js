// Transcript, continued: older pages of history put in front of what is shown, stitched at
// the boundary. Mixed into Transcript.prototype by reducer.js.

export const historyMethods = {
  /**
   * Puts an older page of records in front of the transcript. The page is reduced on its own
   * and stitched to what is already here: a message or tool call cut by the page boundary is
   * merged, duplicates (same message timestamp, same tool call id) are dropped.
   */
  prepend(records) {
    const seg = new this.constructor({ keyPrefix: `${this.keyPrefix}h${this.nextKey++}-` });
    seg.live = false;
    seg.resolvedIds = this.resolvedIds;
    if (this.targetKey === null) seg.targetSeq = this.targetSeq;
    for (const r of records) seg.apply(r, { live: false });
    seg.closeAssistantQuietly();
    // The target's item, and the item here it is merged into when it is not kept.
    const target = seg.targetKey === null ? null : seg.byKey.get(seg.targetKey) ?? null;
    let targetHere = null;
    const merged = (old, cur) => { if (old === target) targetHere = cur; };

    const keep = [];
    for (const old of seg.items) {
      if (old.kind === "tool" && old.toolCallId) {
        const cur = this.byKey.get(this.toolKey(old.toolCallId));
        if (cur) {
          merged(old, cur);
          if (cur.args === null && old.args !== null) { this.touch(cur); cur.args = old.args; }
          if (cur.result === null && old.result !== null) {
            this.touch(cur);
            Object.assign(cur, { result: old.result, isError: old.isError, state: old.state });
          }
          continue;
        }
      }
      if (old.kind === "approval") {
        const cur = this.byKey.get(this.approvalKey(old.id));
        if (cur) {
          merged(old, cur);
          if (cur.unknown) {
            this.touch(cur);
            Object.assign(cur, { ...old, key: cur.key, rev: cur.rev, state: cur.state, by: cur.by, answer: cur.answer, sent: cur.sent, unknown: false });
          }
          continue;
        }
      }
      if (old.msgKey) {
        const cur = this.items.find((i) => i.msgKey === old.msgKey);
        if (cur) { merged(old, cur); continue; }
      }
      keep.push(old);
    }

    // A message cut by the boundary: its start is the last assistant of the page, its end the
    // first orphan assistant here.
    const lastOld = [...keep].reverse().find((i) => i.kind === "assistant");
    const firstNew = this.items.find((i) => i.kind === "assistant" || i.kind === "user");
    if (lastOld && lastOld.cut && firstNew && firstNew.kind === "assistant" && firstNew.orphan && !firstNew.complete) {
      this.touch(firstNew);
      for (const ob of lastOld.blocks) {
        const nb = firstNew.blocks.find((b) => b.index === ob.index && b.type === ob.type);
        if (nb && !nb.complete) { nb.text = ob.text + nb.text; nb.rev += 1; }
        else if (!nb) firstNew.blocks.push({ ...ob });
      }
      firstNew.blocks.sort((a, b) => a.index - b.index);
      firstNew.orphan = false;
      merged(lastOld, firstNew);
      keep.splice(keep.indexOf(lastOld), 1);
    } else if (lastOld && lastOld.cut && firstNew && firstNew.kind === "assistant" && firstNew.orphan) {
      merged(lastOld, firstNew);
      keep.splice(keep.indexOf(lastOld), 1);
    }
    if (target) this.targetKey = (targetHere ?? target).key;

    for (const item of keep) {
      this.byKey.set(item.key, item);
      // History is older than anything applied here: the summary's pendingRequests decide.
      if (item.kind === "approval") {
        item.appliedAt = -1;
        this.byKey.set(this.approvalKey(item.id), item);
      }
      if (item.kind === "tool" && item.toolCallId) this.byKey.set(this.toolKey(item.toolCallId), item);
    }
    this.items = keep.concat(this.items);
    this.changes.prepended = keep.concat(this.changes.prepended);

    if (!this.streamingKnown && seg.streamingKnown) { this.streaming = seg.streaming; this.streamingKnown = true; }
    if (seg.totals.known) {
      this.totals = {
        input: this.totals.input + seg.totals.input, output: this.totals.output + seg.totals.output,
        cost: this.totals.cost + seg.totals.cost, known: true,
      };
    }
    for (const [k, v] of seg.statuses) if (!this.statuses.has(k)) this.statuses.set(k, v);
    for (const [k, v] of seg.widgets) if (!this.widgets.has(k)) this.widgets.set(k, v);
    if (this.title === null && seg.title !== null) this.title = seg.title;
    // A newer rename (already here) wins over one in older history.
    if (this.sessionName === undefined && seg.sessionName !== undefined) this.sessionName = seg.sessionName;
    if (this.model === null && seg.model !== null) this.model = seg.model;
    if (!this.crash && seg.crash && !this.items.some((i) => i.kind === "session" && !keep.includes(i))) this.crash = seg.crash;
    this.meta();
    return keep;
  },

  /** The messages of a `get_messages` answer, as history. */
  prependMessages(messages) {
    if (!Array.isArray(messages)) return [];
    return this.prepend(messages.map((message) => ({ type: "message_end", message })));
  },

  closeAssistantQuietly() {
    if (this.openAssistant) {
      this.openAssistant.cut = true;
      this.openAssistant = null;
    }
  },
};
