// "New session": instance, name, and either a working directory or a git worktree (repository,
// branch, base). Resolves to what submit resolved to, or null.
//
// `submit(fields)` is called by the dialog itself with the body worktree.js createFields()
// makes, and may throw an ApiError: the message is shown in the dialog and the user can fix
// the fields and try again.

import { h, replaceChildren } from "./dom.js";
import { createFields, defaultBranch } from "../worktree.js";

const PATH_INPUT = { autocomplete: "off", autocapitalize: "off", spellcheck: "false" };

export class CreateDialog {
  /**
   * @param {{instances: Array<{id: string, agent: string, repos?: string[]}>, recentRepos?: string[],
   *   submit: (fields) => Promise<object>}} options  recentRepos: most recent first
   * @returns {Promise<object|null>} what submit resolved to, or null when cancelled
   */
  static open({ instances, recentRepos = [], submit }) {
    return new Promise((resolve) => {
      const select = h("select", { name: "instanceId", id: "create-instance" },
        instances.map((i) => h("option", { value: i.id }, i.agent && i.agent !== i.id ? `${i.id} — ${i.agent}` : i.id)));
      const preferred = instances.find((i) => i.id === "default") ?? instances[0];
      if (preferred) select.value = preferred.id;
      const name = h("input", { name: "name", id: "create-name", type: "text", placeholder: "e.g. fix login bug", maxLength: 200, attrs: { autocomplete: "off", enterkeyhint: "next" } });
      const cwd = h("input", { name: "cwd", id: "create-cwd", type: "text", placeholder: "instance default", attrs: { ...PATH_INPUT, enterkeyhint: "go" } });
      const cwdField = h("div", { className: "field" },
        h("label", { attrs: { for: "create-cwd" } }, "Working directory ", h("span", { className: "optional" }, "optional")), cwd);

      // The worktree: a toggle, then repository, branch and base.
      const toggle = h("input", { type: "checkbox", id: "create-worktree", attrs: { "data-testid": "worktree-toggle", role: "switch" } });
      const recent = h("datalist", { id: "create-repo-recent" }, recentRepos.map((r) => h("option", { value: r })));
      const repoInput = h("input", {
        id: "create-repo", type: "text", placeholder: recentRepos[0] ?? "/home/me/project",
        attrs: { ...PATH_INPUT, list: "create-repo-recent", "data-testid": "worktree-repo", enterkeyhint: "next" },
      });
      const repoSlot = h("div", { className: "repo-slot" }, repoInput);
      let repoSelect = null;
      const branch = h("input", {
        id: "create-branch", type: "text", placeholder: defaultBranch(""), maxLength: 200,
        attrs: { ...PATH_INPUT, "data-testid": "worktree-branch", enterkeyhint: "next" },
      });
      const base = h("input", {
        id: "create-base", type: "text", placeholder: "the repository's HEAD",
        attrs: { ...PATH_INPUT, "data-testid": "worktree-base", enterkeyhint: "go" },
      });
      const worktreeFields = h("div", { className: "worktree-fields", hidden: true },
        h("p", { className: "muted field-hint" }, "The agent works in a new git worktree of the repository, on its own branch."),
        h("label", { attrs: { for: "create-repo" } }, "Repository"), repoSlot, recent,
        h("label", { attrs: { for: "create-branch" } }, "Branch ", h("span", { className: "optional" }, "optional")), branch,
        h("label", { attrs: { for: "create-base" } }, "Start from ", h("span", { className: "optional" }, "optional: a commit, branch or tag")), base);

      /** The selected instance's own list of repositories, when it has one: a select. */
      const showRepoChoice = () => {
        const instance = instances.find((i) => i.id === select.value);
        const repos = Array.isArray(instance?.repos) ? instance.repos.filter((r) => typeof r === "string") : [];
        if (repos.length) {
          repoSelect = h("select", { id: "create-repo", attrs: { "data-testid": "worktree-repo" } }, repos.map((r) => h("option", { value: r }, r)));
          replaceChildren(repoSlot, repoSelect);
        } else {
          repoSelect = null;
          replaceChildren(repoSlot, repoInput);
        }
      };
      const showWorktree = () => {
        worktreeFields.hidden = !toggle.checked;
        cwdField.hidden = toggle.checked;
        if (toggle.checked && !repoSelect && !repoInput.value && recentRepos[0]) repoInput.value = recentRepos[0];
      };
      toggle.addEventListener("change", showWorktree);
      select.addEventListener("change", showRepoChoice);
      name.addEventListener("input", () => { branch.placeholder = defaultBranch(name.value); });
      showRepoChoice();

      const error = h("p", { className: "form-error", hidden: true, attrs: { role: "alert" } });
      const create = h("button", { type: "submit", className: "btn primary" }, "Start session");
      const cancel = h("button", { type: "button", className: "btn ghost" }, "Cancel");
      const form = h("form", { className: "create-form", attrs: { method: "dialog" } },
        h("h2", { id: "create-title" }, "New session"),
        h("label", { attrs: { for: "create-instance" } }, "Agent"), select,
        h("label", { attrs: { for: "create-name" } }, "Name ", h("span", { className: "optional" }, "optional")), name,
        h("label", { className: "check-row switch-row", attrs: { for: "create-worktree" } }, toggle, h("span", {}, "Git worktree")),
        worktreeFields,
        cwdField,
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
          const fields = createFields({
            instanceId: select.value, name: name.value, cwd: cwd.value,
            worktree: { enabled: toggle.checked, repo: (repoSelect ?? repoInput).value, branch: branch.value, base: base.value },
          });
          close(await submit(fields));
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
