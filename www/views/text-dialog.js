// A modal asking for one line of text (<dialog>), e.g. a session's new name.
//
// `submit(value)` is called by the dialog itself and may throw an ApiError: its message is
// shown in the dialog and the user can fix the value and try again. Resolves to what submit
// resolved to, or null when cancelled.

import { h } from "./dom.js";

export class TextDialog {
  /**
   * @param {{title: string, label: string, value?: string, placeholder?: string, maxLength?: number,
   *   confirmLabel?: string, hint?: string, submit: (value: string) => Promise<unknown>}} options
   * @returns {Promise<unknown|null>}
   */
  static ask({ title, label, value = "", placeholder = "", maxLength = 200, confirmLabel = "Save", hint = "", submit }) {
    return new Promise((resolve) => {
      const input = h("input", {
        id: "text-dialog-input", type: "text", value, placeholder, maxLength,
        attrs: { autocomplete: "off", enterkeyhint: "done", "data-testid": "text-dialog-input" },
      });
      const error = h("p", { className: "form-error", hidden: true, attrs: { role: "alert" } });
      const save = h("button", { type: "submit", className: "btn primary", attrs: { "data-testid": "text-dialog-save" } }, confirmLabel);
      const cancel = h("button", { type: "button", className: "btn ghost" }, "Cancel");
      const form = h("form", { className: "create-form", attrs: { method: "dialog" } },
        h("h2", { id: "text-dialog-title" }, title),
        h("label", { attrs: { for: "text-dialog-input" } }, label), input,
        hint ? h("p", { className: "muted" }, hint) : null,
        error,
        h("div", { className: "dialog-actions" }, cancel, save));
      const dialog = h("dialog", { className: "dialog text-dialog", attrs: { "aria-labelledby": "text-dialog-title" } }, form);
      const close = (result) => {
        dialog.close();
        dialog.remove();
        resolve(result);
      };
      cancel.addEventListener("click", () => close(null));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        save.disabled = true;
        error.hidden = true;
        try {
          close(await submit(input.value));
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
          save.disabled = false;
        }
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      input.focus();
      input.select();
    });
  }
}
