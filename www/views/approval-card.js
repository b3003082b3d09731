// One question from the agent (confirm, select, input, editor) with its answer controls.
//
// Events: "answer" with detail {response} (an extension_ui_response without `type`'s
// sending done: the session controller sends it).

import { h, replaceChildren } from "./dom.js";
import { approvalPreview } from "../tool-format.js";
import { argsView, answerText } from "./item-views.js";

export class ApprovalCard extends EventTarget {
  constructor(item) {
    super();
    this.item = item;
    this.id = item.id;
    this.status = h("div", { className: "approval-status", attrs: { role: "status" } });
    this.controls = h("div", { className: "approval-controls" });
    this.body = h("div", { className: "approval-body" });
    this.header = h("div", { className: "approval-head" });
    this.el = h("section", { className: "approval-card", attrs: { "aria-label": "The agent asks" }, dataset: { approvalId: item.id } },
      this.header, this.body, this.controls, this.status);
    this.render(item);
  }

  respond(fields) {
    this.dispatchEvent(new CustomEvent("answer", {
      detail: { response: { type: "extension_ui_response", id: this.item.id, ...fields } },
    }));
  }

  render(item) {
    this.item = item;
    const preview = approvalPreview(item);
    replaceChildren(this.header,
      h("span", { className: "approval-badge" }, item.method === "confirm" ? "Permission" : "Question"),
      preview.tool ? h("span", { className: "approval-tool" }, preview.tool) : null,
      h("h2", { className: "approval-title" }, item.title));
    const parts = [];
    if (item.unknown) {
      parts.push(h("p", { className: "approval-text muted" },
        "The agent asked this before this device connected; its details are not available here. You can still answer."));
    } else if (preview.details) {
      parts.push(argsView(preview.tool, preview.details.kind === "json" ? preview.details.text : detailsArgs(preview.details)));
      if (preview.truncated) parts.push(h("p", { className: "approval-text muted" }, "The agent cut this preview."));
    } else if (preview.text) {
      parts.push(h("p", { className: "approval-text" }, preview.text));
    }
    if (item.timeout) parts.push(h("p", { className: "approval-text muted" }, `The agent stops waiting after ${Math.round(item.timeout / 1000)} s.`));
    replaceChildren(this.body, parts);
    this.renderControls(item);
    this.renderState(item);
  }

  renderControls(item) {
    const busy = item.state !== "pending";
    const button = (label, className, fields, testid) =>
      h("button", { type: "button", className, disabled: busy, attrs: { "data-testid": testid }, onclick: () => this.respond(fields) }, label);
    // A tool approval (the request names its tool): allow that tool for the rest of the session.
    const tool = !item.unknown && typeof item.toolName === "string" && item.toolName ? item.toolName : null;
    const sessionLabel = tool ? `Allow ${tool} for this session` : null;
    const forSession = tool
      ? button(sessionLabel, "btn allow-session", { confirmed: true, scope: "session" }, "allow-session")
      : null;
    switch (item.unknown ? "confirm" : item.method) {
      case "confirm":
        replaceChildren(this.controls,
          button("Deny", "btn deny", { confirmed: false }),
          button("Allow", "btn allow", { confirmed: true }),
          forSession);
        return;
      case "select": {
        // pi's gate offers "Allow <tool> for this session" as an option itself: that one is the
        // session button (the same answer, in the form the server records), not a second copy.
        const options = sessionLabel ? item.options.filter((o) => o.trim().toLowerCase() !== sessionLabel.toLowerCase()) : item.options;
        replaceChildren(this.controls,
          h("div", { className: "approval-options" }, options.map((o) => button(o, "btn option", { value: o })), forSession),
          button("Cancel", "btn ghost", { cancelled: true }));
        return;
      }
      case "input":
      case "editor": {
        const field = item.method === "input"
          ? h("input", { type: "text", className: "approval-input", placeholder: item.placeholder || "", value: this.draft ?? "", disabled: busy, attrs: { "aria-label": item.title, enterkeyhint: "send" } })
          : h("textarea", { className: "approval-input", rows: 6, value: this.draft ?? item.prefill ?? "", disabled: busy, attrs: { "aria-label": item.title } });
        field.addEventListener("input", () => { this.draft = field.value; });
        const submit = () => this.respond({ value: field.value });
        if (item.method === "input") field.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); submit(); } });
        replaceChildren(this.controls, field,
          h("div", { className: "approval-row" },
            button("Cancel", "btn ghost", { cancelled: true }),
            h("button", { type: "button", className: "btn allow", disabled: busy, onclick: submit }, "Send")));
        return;
      }
      default:
        replaceChildren(this.controls, button("Dismiss", "btn ghost", { cancelled: true }));
    }
  }

  renderState(item) {
    this.el.classList.toggle("closing", item.state === "answered" || item.state === "expired");
    this.el.classList.toggle("elsewhere", item.state === "answered" && item.by === "other");
    switch (item.state) {
      case "sent": this.status.textContent = "Sending…"; break;
      case "answered": this.status.textContent = answerText(item); break;
      case "expired":
        this.status.textContent = item.withdrawn ? "The agent no longer waits for this answer." : "The agent exited; this can no longer be answered.";
        break;
      default: this.status.textContent = "";
    }
  }

  update(item) {
    const controlsChanged = item.state !== this.item.state || item.unknown !== this.item.unknown;
    if (item.unknown !== this.item.unknown || item.title !== this.item.title || item.message !== this.item.message) {
      this.render(item);
      return;
    }
    this.item = item;
    if (controlsChanged) this.renderControls(item);
    this.renderState(item);
  }
}

function detailsArgs(details) {
  switch (details.kind) {
    case "command": return { command: details.command };
    case "edit": return { path: details.path, oldText: details.oldText, newText: details.newText };
    case "write": return { path: details.path, content: details.content };
    default: return details.text;
  }
}
