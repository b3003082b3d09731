// "Model and modes" (issue 13): a sheet (<dialog>) to switch the session's model, pi's thinking
// level and claude's permission mode, and revoke tools allowed for this session. It shows what
// the agent last reported (modes.js); the session controller sends the changes.
//
// Events: "model" {model}, "thinking" {level}, "permission" {mode}, "revoke" {toolName}, "close".
// bypassPermissions is offered only when the server lists it, and asked again in a dialog.

import { h, replaceChildren } from "./dom.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { THINKING_LEVELS, modelKey } from "../modes.js";

let sheetCounter = 0;

/** The tools allowed for this session, each with Revoke (the sheet and the session menu). */
export function allowedToolsList(tools, { onRevoke, disabled = false }) {
  if (!tools.length) return h("p", { className: "allowed-empty muted" }, "No tool is allowed without asking.");
  return h("ul", { className: "allowed-tools", attrs: { "aria-label": "Tools allowed for this session" } }, tools.map((tool) =>
    h("li", { className: "allowed-tool" },
      h("span", { className: "allowed-name" }, tool),
      h("button", {
        type: "button", className: "btn small revoke", disabled,
        attrs: { "aria-label": `Revoke ${tool}`, "data-testid": "revoke", "data-tool": tool },
        onclick: (e) => { e.stopPropagation(); onRevoke(tool); },
      }, "Revoke"))));
}

export class ModesSheet extends EventTarget {
  constructor() {
    super();
    const n = ++sheetCounter;
    this.state = null;
    this.modelSelect = h("select", { id: `modes-model-${n}`, attrs: { "data-testid": "model-select" } });
    this.modelSelect.addEventListener("change", () => {
      const model = this.modelOptions?.find((m) => modelKey(m) === this.modelSelect.value);
      if (model && modelKey(model) !== modelKey(this.state?.modes.model)) this.emit("model", { model });
    });
    this.modelNote = h("p", { className: "field-hint muted", attrs: { role: "status" } });
    this.thinkingSelect = h("select", { id: `modes-thinking-${n}`, attrs: { "data-testid": "thinking-select" } });
    this.thinkingSelect.addEventListener("change", () => this.emit("thinking", { level: this.thinkingSelect.value }));
    this.thinkingField = h("div", { className: "field", hidden: true },
      h("label", { attrs: { for: this.thinkingSelect.id } }, "Thinking"), this.thinkingSelect);
    this.permissionList = h("div", { className: "mode-choices", attrs: { role: "radiogroup", "aria-label": "Permission mode" } });
    this.permissionField = h("div", { className: "field", hidden: true },
      h("span", { className: "field-label" }, "Permissions"), this.permissionList);
    this.allowed = h("div", { className: "allowed-wrap" });
    this.status = h("p", { className: "modes-status", attrs: { role: "status", "data-testid": "modes-status" } });
    this.dialog = h("dialog", { className: "dialog modes-dialog", attrs: { "aria-labelledby": `modes-title-${n}`, "data-testid": "modes-dialog" } },
      h("h2", { id: `modes-title-${n}` }, "Model and modes"),
      h("div", { className: "field" }, h("label", { attrs: { for: this.modelSelect.id } }, "Model"), this.modelSelect, this.modelNote),
      this.thinkingField,
      this.permissionField,
      h("div", { className: "field" }, h("span", { className: "field-label" }, "Allowed for this session"), this.allowed),
      this.status,
      h("div", { className: "dialog-actions" },
        h("button", { type: "button", className: "btn primary", onclick: () => this.close() }, "Done")));
    this.dialog.addEventListener("close", () => this.emit("close"));
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  get isOpen() {
    return this.dialog.open === true;
  }

  open() {
    if (!this.dialog.isConnected) document.body.appendChild(this.dialog);
    if (!this.dialog.open) this.dialog.showModal();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /**
   * @param {{modes: import("../modes.js").SessionModes, models: {state: string, error?: string},
   *   pending: string|null, error: string|null, connected: boolean}} state
   */
  render(state) {
    this.state = state;
    const { modes, connected } = state;
    const busy = !connected || Boolean(state.pending);
    // Models: the list asked for, with the current one in it even when the list lacks it.
    const current = modes.model;
    const list = Array.isArray(modes.models) ? [...modes.models] : [];
    if (current && !list.some((m) => modelKey(m) === modelKey(current))) list.unshift(current);
    this.modelOptions = list;
    replaceChildren(this.modelSelect, list.length
      ? list.map((m) => h("option", { value: modelKey(m) }, m.provider ? `${m.name} (${m.provider})` : m.name))
      : h("option", { value: "" }, "Unknown"));
    this.modelSelect.value = current ? modelKey(current) : "";
    this.modelSelect.disabled = busy || list.length < 2;
    const models = state.models ?? { state: "idle" };
    this.modelNote.textContent = models.state === "loading" ? "Loading the models…"
      : models.state === "error" ? `The models could not be listed: ${models.error}` : "";
    this.modelNote.hidden = !this.modelNote.textContent;

    this.thinkingField.hidden = !modes.canSetThinking;
    if (modes.canSetThinking) {
      const levels = THINKING_LEVELS.includes(modes.thinkingLevel) ? THINKING_LEVELS : [...THINKING_LEVELS, modes.thinkingLevel];
      replaceChildren(this.thinkingSelect, levels.map((level) => h("option", { value: level }, level)));
      this.thinkingSelect.value = modes.thinkingLevel;
      this.thinkingSelect.disabled = busy;
    }

    this.permissionField.hidden = !modes.canSetPermissionMode;
    replaceChildren(this.permissionList, modes.permissionChoices.map(({ mode, label, dangerous }) => {
      const input = h("input", {
        type: "radio", name: `${this.modelSelect.id}-perm`, value: mode, checked: mode === modes.permissionMode, disabled: busy,
        attrs: { "data-testid": `mode-${mode}` },
      });
      input.addEventListener("change", () => { if (input.checked) this.choosePermission(mode, dangerous); });
      return h("label", { className: `check-row mode-choice${dangerous ? " danger-text-soft" : ""}` }, input, h("span", {}, label));
    }));

    replaceChildren(this.allowed, allowedToolsList(modes.allowedTools, {
      disabled: busy, onRevoke: (toolName) => this.emit("revoke", { toolName }),
    }));
    this.status.textContent = state.error ? state.error : state.pending ?? (connected ? "" : "Not connected: changes are possible once the session is live.");
    this.status.classList.toggle("error", Boolean(state.error));
  }

  async choosePermission(mode, dangerous) {
    if (dangerous) {
      const sure = await ConfirmDialog.ask({
        title: "Bypass permissions?",
        text: "The agent will run every tool without asking you, until the mode is changed back. Use this only where nothing of value can be damaged.",
        confirmLabel: "Bypass permissions", danger: true,
      });
      if (!sure) {
        this.render(this.state); // back to the current mode
        return;
      }
    }
    this.emit("permission", { mode });
  }
}
