// The prompt box. While the agent works it offers Steer / Follow-up (never a second prompt)
// and Stop. Images (photos, screenshots: picked, pasted or dropped) are scaled and attached
// with previews (images.js); typing "/" first opens the agent's commands (palette.js).
//
// Events: "send" detail {text, mode: "prompt"|"steer"|"follow_up", images: [{type:"image",
// data, mimeType}]}, "abort", "draft" detail {text} (the text changed; a little after typing
// stops), "focus" (the box got the focus: a phone's keyboard is opening).
// The text is cleared only when the owner calls `sent()` (it may fail to send).
//
// Enter sends where `enterSends` says so (drafts.js: the device's setting); Shift+Enter is a
// newline, Ctrl/Cmd+Enter always sends. The palette's entries come from `setCommandSource`.

import { h, replaceChildren } from "./dom.js";
import { icon } from "./icons.js";
import { showImage } from "./image-viewer.js";
import { PaletteView } from "./palette-view.js";
import { IMAGE_ACCEPT, MAX_IMAGES, checkBudget, imageDataUrl, prepareImage, refusalText } from "../images.js";
import { commandText, filterCommands, moveActive, paletteQuery } from "../palette.js";

const DRAFT_DELAY_MS = 300;
let attachmentCounter = 0;

export class Composer extends EventTarget {
  /**
   * @param {{win?: Window, prepare?: (file: File) => Promise<object>, enterSends?: boolean}} [options]
   *   prepare: images.js prepareImage (tests pass a fake)
   */
  constructor({ win = globalThis.window, prepare = (file) => prepareImage(file), enterSends = true } = {}) {
    super();
    this.win = win;
    this.prepare = prepare;
    this.enterSends = enterSends;
    this.busy = false;
    this.connected = false;
    this.mode = "follow_up";
    /** Attached images: {id, name, status: "preparing"|"ready", mimeType, data, width, height}. */
    this.attachments = [];
    this.commandSource = null;
    /** The commands for the palette: null (not asked), {state: "loading"|"ready"|"error", ...}. */
    this.commands = null;
    this.paletteDismissed = null;
    this.draftTimer = null;
    this.palette = new PaletteView();
    this.palette.addEventListener("choose", (e) => this.choose(e.detail.name));
    this.input = h("textarea", {
      className: "composer-input", rows: 1,
      placeholder: "Message the agent…",
      attrs: {
        "aria-label": "Message", enterkeyhint: enterSends ? "send" : "enter", autocapitalize: "sentences", autocomplete: "off",
        "aria-autocomplete": "list", "aria-controls": this.palette.id, "aria-expanded": "false",
      },
    });
    this.fileInput = h("input", {
      type: "file", className: "attach-input", multiple: true, accept: IMAGE_ACCEPT,
      attrs: { "data-testid": "attach-input", tabindex: "-1", "aria-hidden": "true" },
    });
    this.attachButton = h("button", {
      type: "button", className: "icon-button attach", attrs: { "aria-label": "Attach images", title: "Attach photos or screenshots" },
      onclick: () => this.fileInput.click(),
    }, icon("image", { size: 22 }));
    this.attachList = h("div", { className: "attachments", hidden: true, attrs: { "aria-label": "Attached images" } });
    this.attachError = h("div", { className: "attach-error", hidden: true, attrs: { role: "alert" } });
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
      this.palette.el,
      this.attachList,
      this.attachError,
      h("div", { className: "composer-row" }, this.attachButton, this.fileInput, this.input, this.sendButton));
    this.el.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("focus", () => {
      this.updatePalette();
      this.dispatchEvent(new Event("focus"));
    });
    this.input.addEventListener("blur", () => this.closePalette());
    this.input.addEventListener("paste", (e) => this.onPaste(e));
    this.fileInput.addEventListener("change", () => {
      const files = [...(this.fileInput.files ?? [])];
      this.fileInput.value = "";
      this.addFiles(files);
    });
    this.el.addEventListener("dragover", (e) => {
      if ([...(e.dataTransfer?.types ?? [])].includes("Files")) e.preventDefault();
    });
    this.el.addEventListener("drop", (e) => {
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files);
    });
    this.setMode("follow_up");
    this.render();
  }

  // --- keys and text ---------------------------------------------------------------------------

  onKey(e) {
    if (this.palette.open && this.onPaletteKey(e)) return;
    if (e.key !== "Enter" || e.isComposing) return;
    // Ctrl/Cmd+Enter always sends; plain Enter sends where the device's setting says so.
    if (e.ctrlKey || e.metaKey || (this.enterSends && !e.shiftKey)) {
      e.preventDefault();
      this.submit();
    }
  }

  /** Keys for the open palette; true when the key was used. */
  onPaletteKey(e) {
    const count = this.palette.entries.length;
    if (e.key === "Escape") {
      e.preventDefault();
      this.paletteDismissed = this.input.value;
      this.closePalette();
      return true;
    }
    if (!count || e.isComposing) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      this.palette.setActive(moveActive(this.palette.active, e.key === "ArrowDown" ? 1 : -1, count));
      this.input.setAttribute("aria-activedescendant", this.palette.activeId);
      return true;
    }
    if ((e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.metaKey) || (e.key === "Tab" && !e.shiftKey)) {
      const name = this.palette.activeName;
      if (name === null) return false;
      e.preventDefault();
      this.choose(name);
      return true;
    }
    return false;
  }

  onInput() {
    this.autosize();
    this.updatePalette();
    this.scheduleDraft();
  }

  scheduleDraft() {
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.flushDraft(), DRAFT_DELAY_MS);
  }

  /** Announces the text now (page hidden, screen left) if it changed since the last time. */
  flushDraft() {
    clearTimeout(this.draftTimer);
    this.draftTimer = null;
    if (this.lastDraft === this.input.value) return;
    this.lastDraft = this.input.value;
    this.dispatchEvent(new CustomEvent("draft", { detail: { text: this.input.value } }));
  }

  submit() {
    const text = this.input.value;
    if (!this.connected) return;
    if (this.attachments.some((a) => a.status === "preparing")) {
      this.showError("The images are still being prepared.");
      return;
    }
    const images = this.attachments.map((a) => ({ type: "image", data: a.data, mimeType: a.mimeType }));
    if (!text.trim()) {
      if (images.length) {
        this.showError("Write a message to go with the image.");
        this.input.focus();
      }
      return;
    }
    const mode = this.busy ? this.mode : "prompt";
    this.dispatchEvent(new CustomEvent("send", { detail: { text, mode, images } }));
  }

  /** The message went out: clear the box and the attachments. */
  sent() {
    this.input.value = "";
    this.lastDraft = "";
    clearTimeout(this.draftTimer);
    this.draftTimer = null;
    this.attachments = [];
    this.renderAttachments();
    this.showError("");
    this.closePalette();
    this.autosize();
  }

  /** Text put in the box by the agent (set_editor_text) or a saved draft. */
  setText(text, { focus = true } = {}) {
    this.input.value = text;
    this.autosize();
    if (focus) this.input.focus();
    this.scheduleDraft();
  }

  /** A saved draft, put back without taking the focus (the draft is already stored). */
  restoreDraft(text) {
    if (!text || this.input.value) return;
    this.input.value = text;
    this.lastDraft = text;
    this.autosize();
  }

  setEnterSends(value) {
    this.enterSends = Boolean(value);
    this.input.setAttribute("enterkeyhint", this.enterSends ? "send" : "enter");
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
    if (!connected) this.closePalette();
    this.render();
  }

  render() {
    this.busyRow.hidden = !this.busy;
    this.sendButton.disabled = !this.connected || this.attachments.some((a) => a.status === "preparing");
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

  // --- the "/" palette ---------------------------------------------------------------------------

  /** @param {(() => Promise<Array<{name, description}>>) | null} source  the agent's commands */
  setCommandSource(source) {
    this.commandSource = source;
    this.resetCommands();
  }

  /** A new connection: the commands are asked again when the palette next opens. */
  resetCommands() {
    this.commands = null;
    if (this.palette.open) this.updatePalette();
  }

  updatePalette() {
    const query = paletteQuery(this.input.value);
    if (query === null || !this.commandSource || !this.connected || this.paletteDismissed === this.input.value) {
      if (query === null) this.paletteDismissed = null;
      this.closePalette();
      return;
    }
    const wasOpen = this.palette.open;
    if (this.commands === null || (!wasOpen && this.commands.state === "error")) this.loadCommands();
    const c = this.commands;
    if (c.state !== "ready") {
      this.palette.show({ state: c.state, error: c.error });
    } else {
      const entries = filterCommands(c.list, query);
      this.palette.show({ state: "ready", entries, query, active: 0 });
    }
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", this.palette.activeId);
  }

  loadCommands() {
    const token = {};
    this.commands = { state: "loading", token };
    Promise.resolve()
      .then(() => this.commandSource())
      .then((list) => {
        if (this.commands?.token !== token) return;
        this.commands = { state: "ready", list: Array.isArray(list) ? list : [], token };
      }, (e) => {
        if (this.commands?.token !== token) return;
        this.commands = { state: "error", error: e?.message ?? String(e), token };
      })
      .then(() => { if (this.commands?.token === token && this.palette.open) this.updatePalette(); });
  }

  closePalette() {
    if (!this.palette.open) return;
    this.palette.hide();
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  choose(name) {
    this.input.value = commandText(name);
    this.closePalette();
    this.input.focus();
    const end = this.input.value.length;
    this.input.setSelectionRange?.(end, end);
    this.autosize();
    this.scheduleDraft();
  }

  // --- images ------------------------------------------------------------------------------------

  onPaste(e) {
    const data = e.clipboardData;
    const files = [...(data?.files ?? [])].filter((f) => String(f.type).startsWith("image/"));
    if (!files.length) return;
    // A picture only: nothing to paste as text. Text and a picture (a copied web page): both.
    if (![...(data.types ?? [])].includes("text/plain")) e.preventDefault();
    this.addFiles(files);
  }

  /** Prepares and attaches picked, pasted or dropped files; refusals are said under the box. */
  async addFiles(files) {
    const errors = [];
    const jobs = [];
    for (const file of files) {
      if (this.attachments.length >= MAX_IMAGES) {
        errors.push(`At most ${MAX_IMAGES} images go with one message.`);
        break;
      }
      const entry = { id: ++attachmentCounter, name: file.name || "Pasted image", status: "preparing" };
      this.attachments.push(entry);
      jobs.push(this.prepareOne(file, entry, errors));
    }
    this.renderAttachments();
    this.showError(errors.join(" "));
    await Promise.all(jobs);
    this.renderAttachments();
    this.showError(errors.join(" "));
  }

  async prepareOne(file, entry, errors) {
    let result;
    try {
      result = await this.prepare(file);
    } catch (e) {
      result = { ok: false, error: refusalText(entry.name, e?.message ?? "the image could not be read") };
    }
    if (!this.attachments.includes(entry)) return; // removed (or sent) meanwhile
    if (!result.ok) {
      this.attachments = this.attachments.filter((a) => a !== entry);
      errors.push(result.error);
      return;
    }
    const ready = this.attachments.filter((a) => a.status === "ready");
    const budget = checkBudget(ready, result.image.data.length);
    if (!budget.ok) {
      this.attachments = this.attachments.filter((a) => a !== entry);
      errors.push(refusalText(entry.name, budget.reason));
      return;
    }
    Object.assign(entry, result.image, { status: "ready", name: entry.name });
  }

  remove(entry) {
    this.attachments = this.attachments.filter((a) => a !== entry);
    this.renderAttachments();
    this.input.focus();
  }

  renderAttachments() {
    replaceChildren(this.attachList, this.attachments.map((a, i) => {
      const url = a.status === "ready" ? imageDataUrl(a) : null;
      const label = `${a.name}${a.width ? ` (${a.width}×${a.height})` : ""}`;
      return h("div", { className: `attachment ${a.status}`, attrs: { "data-testid": "attachment" } },
        url
          ? h("button", { type: "button", className: "attachment-thumb", attrs: { "aria-label": `View ${label}` }, onclick: () => showImage(url, label) },
            h("img", { src: url, alt: label }))
          : h("span", { className: "attachment-thumb pending", attrs: { role: "status", "aria-label": `Preparing ${a.name}` } }, "…"),
        h("button", {
          type: "button", className: "attachment-remove", attrs: { "aria-label": `Remove image ${i + 1}`, "data-testid": "remove-attachment" },
          onclick: () => this.remove(a),
        }, "×"));
    }));
    this.attachList.hidden = this.attachments.length === 0;
    this.render();
  }

  showError(text) {
    this.attachError.textContent = text;
    this.attachError.hidden = !text;
  }

  destroy() {
    this.flushDraft();
  }
}
