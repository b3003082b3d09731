// The prompt box. While the agent works it offers Steer / Follow-up (never a second prompt)
// and Stop.
//
// Events: "send" detail {text, mode: "prompt"|"steer"|"follow_up"}, "abort".
// The text is cleared only when the owner calls `sent()` (it may fail to send).

import { h } from "./dom.js";

export class Composer extends EventTarget {
  constructor({ win = globalThis.window } = {}) {
    super();
    this.win = win;
    this.busy = false;
    this.connected = false;
    this.mode = "follow_up";
    this.input = h("textarea", {
      className: "composer-input", rows: 1,
      placeholder: "Message the agent…",
      attrs: { "aria-label": "Message", enterkeyhint: "send", autocapitalize: "sentences", autocomplete: "off" },
    });
    this.sendButton = h("button", { type: "submit", className: "btn send", attrs: { "aria-label": "Send" } }, "Send");
    this.stopButton = h("button", { type: "button", className: "btn stop", onclick: () => this.dispatchEvent(new Event("abort")) }, "Stop");
    this.steerButton = h("button", { type: "button", className: "seg", attrs: { "aria-pressed": "false" }, onclick: () => this.setMode("steer") }, "Steer");
    this.followButton = h("button", { type: "button", className: "seg", attrs: { "aria-pressed": "true" }, onclick: () => this.setMode("follow_up") }, "Follow-up");
    this.hint = h("span", { className: "busy-hint" });
    this.busyRow = h("div", { className: "composer-busy", hidden: true },
      h("span", { className: "working-dot", attrs: { "aria-hidden": "true" } }),
      h("div", { className: "segmented", attrs: { role: "group", "aria-label": "While the agent works" } }, this.steerButton, this.followButton),
      this.hint,
      this.stopButton);
    this.el = h("form", { className: "composer", attrs: { autocomplete: "off" } },
      this.busyRow,
      h("div", { className: "composer-row" }, this.input, this.sendButton));
    this.el.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("input", () => this.autosize());
    this.setMode("follow_up");
    this.render();
  }

  onKey(e) {
    if (e.key !== "Enter" || e.isComposing) return;
    // Ctrl/Cmd+Enter always sends; plain Enter sends where there is a real keyboard.
    const finePointer = this.win?.matchMedia?.("(pointer: fine)").matches ?? true;
    if (e.ctrlKey || e.metaKey || (finePointer && !e.shiftKey)) {
      e.preventDefault();
      this.submit();
    }
  }

  submit() {
    const text = this.input.value;
    if (!text.trim() || !this.connected) return;
    const mode = this.busy ? this.mode : "prompt";
    this.dispatchEvent(new CustomEvent("send", { detail: { text, mode } }));
  }

  /** The message went out: clear the box. */
  sent() {
    this.input.value = "";
    this.autosize();
  }

  setText(text) {
    this.input.value = text;
    this.autosize();
    this.input.focus();
  }

  setMode(mode) {
    this.mode = mode;
    this.steerButton.setAttribute("aria-pressed", String(mode === "steer"));
    this.followButton.setAttribute("aria-pressed", String(mode === "follow_up"));
    this.hint.textContent = mode === "steer" ? "interrupts after the current tool" : "queued for when it is done";
    this.render();
  }

  setBusy(busy) {
    if (this.busy === busy) return;
    this.busy = busy;
    this.render();
  }

  /** @param {string} offlineText shown in the empty box while sending is not possible */
  setConnected(connected, offlineText = "Not connected") {
    if (this.connected === connected && this.offlineText === offlineText) return;
    this.connected = connected;
    this.offlineText = offlineText;
    this.render();
  }

  render() {
    this.busyRow.hidden = !this.busy;
    this.sendButton.disabled = !this.connected;
    this.sendButton.textContent = !this.busy ? "Send" : this.mode === "steer" ? "Steer" : "Queue";
    this.input.placeholder = !this.connected
      ? this.offlineText ?? "Not connected"
      : this.busy ? (this.mode === "steer" ? "Steer the agent…" : "Queue a follow-up…") : "Message the agent…";
  }

  autosize() {
    const el = this.input;
    el.style.height = "auto";
    const max = Math.max(96, Math.round((this.win?.visualViewport?.height ?? 600) * 0.35));
    el.style.height = `${Math.min(el.scrollHeight, max)}px`;
  }
}
