// "New session": instance, name, working directory. Resolves to the fields, or null.
//
// `submit(fields)` is called by the dialog itself and may throw an ApiError: the message is
// shown in the dialog and the user can fix the fields and try again.

import { h } from "./dom.js";

export class CreateDialog {
  /**
   * @param {{instances: Array<{id: string, agent: string}>, submit: (fields) => Promise<object>}} options
   * @returns {Promise<object|null>} what submit resolved to, or null when cancelled
   */
  static open({ instances, submit }) {
    return new Promise((resolve) => {
      const select = h("select", { name: "instanceId", id: "create-instance" },
        instances.map((i) => h("option", { value: i.id }, i.agent && i.agent !== i.id ? `${i.id} — ${i.agent}` : i.id)));
      const preferred = instances.find((i) => i.id === "default") ?? instances[0];
      if (preferred) select.value = preferred.id;
      const name = h("input", { name: "name", id: "create-name", type: "text", placeholder: "e.g. fix login bug", maxLength: 200, attrs: { autocomplete: "off", enterkeyhint: "next" } });
      const cwd = h("input", { name: "cwd", id: "create-cwd", type: "text", placeholder: "instance default", attrs: { autocomplete: "off", autocapitalize: "off", spellcheck: "false", enterkeyhint: "go" } });
      const error = h("p", { className: "form-error", hidden: true, attrs: { role: "alert" } });
      const create = h("button", { type: "submit", className: "btn primary" }, "Start session");
      const cancel = h("button", { type: "button", className: "btn ghost" }, "Cancel");
      const form = h("form", { className: "create-form", attrs: { method: "dialog" } },
        h("h2", { id: "create-title" }, "New session"),
        h("label", { attrs: { for: "create-instance" } }, "Agent"), select,
        h("label", { attrs: { for: "create-name" } }, "Name ", h("span", { className: "optional" }, "optional")), name,
        h("label", { attrs: { for: "create-cwd" } }, "Working directory ", h("span", { className: "optional" }, "optional")), cwd,
        error,
        h("div", { className: "dialog-actions" }, cancel, create));
      const dialog = h("dialog", { className: "dialog create-dialog", attrs: { "aria-labelledby": "create-title" } }, form);
      if (instances.length === 0) {
        select.disabled = true;
        create.disabled = true;
        error.hidden = false;
        error.textContent = "The server has no instances configured.";
      }
      const close = (value) => {
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      cancel.addEventListener("click", () => close(null));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        create.disabled = true;
        create.textContent = "Starting…";
        error.hidden = true;
        try {
          const result = await submit({ instanceId: select.value, name: name.value, cwd: cwd.value });
          close(result);
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
          create.disabled = false;
          create.textContent = "Start session";
        }
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      name.focus();
    });
  }
}
