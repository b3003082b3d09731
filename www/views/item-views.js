// Rendering of transcript items (reducer.js) into DOM, one function per kind.
//
// `renderItem(item)` builds an element; `updateItem(el, item)` brings it up to date and returns
// the element to keep (the same one, or a replacement). Assistant messages are updated block by
// block, so a streamed delta re-renders one block, not the message.

import { h, lazyDetails, replaceChildren } from "./dom.js";
import { parseMarkdown, stableCut } from "../markdown.js";
import { markdownToDom } from "../markdown-dom.js";
import { toolDetails, toolSummary, editLines } from "../tool-format.js";
import { exitText, formatCost, formatTokens } from "../format.js";
import { imageDataUrl } from "../images.js";
import { showImage } from "./image-viewer.js";

/** Longest tool output rendered at once; the rest behind a button. */
export const OUTPUT_PREVIEW_CHARS = 20_000;

export function renderItem(item) {
  const el = build(item);
  el.dataset.key = item.key;
  el.dataset.kind = item.kind;
  el._rev = item.rev;
  return el;
}

export function updateItem(el, item) {
  if (el._rev === item.rev) return el;
  if (item.kind === "assistant") {
    updateAssistant(el, item);
    el._rev = item.rev;
    return el;
  }
  if (item.kind === "tool" && el._tool) {
    updateTool(el, item);
    el._rev = item.rev;
    return el;
  }
  const next = renderItem(item);
  el.replaceWith(next);
  return next;
}

function build(item) {
  switch (item.kind) {
    case "user": return userView(item);
    case "assistant": return assistantView(item);
    case "tool": return toolView(item);
    case "approval": return approvalLine(item);
    case "notice": return noticeView(item);
    case "plan": return planView(item);
    case "session": return sessionEventView(item);
    case "marker": return h("div", { className: `item marker ${item.tone ?? ""}`, attrs: { role: "status" } }, item.text);
    case "error": return errorView(item);
    case "raw": return h("div", { className: "item raw" }, h("code", {}, item.line));
    default: return debugView(item);
  }
}

// --- user --------------------------------------------------------------------------------------

function userView(item) {
  const images = Array.isArray(item.images) ? item.images : [];
  return h("div", { className: "item user" },
    h("div", { className: "bubble" },
      images.length ? userImages(images) : null,
      item.text || !images.length ? h("div", { className: "user-text" }, item.text || "(empty message)") : null));
}

/** The images of a user message as thumbnails (data: URLs of raster types only); tap: larger. */
function userImages(images) {
  return h("div", { className: "user-images" }, images.map((part, i) => {
    const url = imageDataUrl(part);
    const label = `Image ${i + 1} of ${images.length}`;
    if (!url) return h("span", { className: "user-image-missing", attrs: { title: "This image cannot be shown" } }, "[image]");
    return h("button", {
      type: "button", className: "user-image", attrs: { "aria-label": `${label}: view larger` },
      onclick: () => showImage(url, label),
    }, h("img", { src: url, alt: label, attrs: { loading: "lazy", decoding: "async" } }));
  }));
}

// --- assistant ---------------------------------------------------------------------------------

function assistantView(item) {
  const el = h("div", { className: "item assistant" });
  el._blocks = new Map();
  el._body = h("div", { className: "assistant-body" });
  el._foot = h("div", { className: "assistant-foot" });
  el.append(el._body, el._foot);
  updateAssistant(el, item);
  return el;
}

function updateAssistant(el, item) {
  el.classList.toggle("streaming", !!item.streaming);
  const seen = new Set();
  let prev = null;
  for (const block of item.blocks) {
    const id = `${block.type}:${block.index}`;
    seen.add(id);
    let entry = el._blocks.get(id);
    if (!entry) {
      entry = block.type === "thinking" ? thinkingBlock() : { el: h("div", { className: "md" }), rev: -1, content: null };
      if (entry.content === null) entry.content = entry.el;
      el._blocks.set(id, entry);
      if (prev) prev.after(entry.el);
      else el._body.prepend(entry.el);
    }
    if (entry.rev !== block.rev || entry.text !== block.text || entry.streaming !== item.streaming) {
      entry.rev = block.rev;
      entry.text = block.text;
      entry.streaming = item.streaming;
      if (block.type === "thinking") {
        entry.content.textContent = block.text;
      } else {
        renderText(entry, block.text, item.streaming);
      }
    }
    prev = entry.el;
  }
  for (const [id, entry] of el._blocks) {
    if (!seen.has(id)) { entry.el.remove(); el._blocks.delete(id); }
  }
  const waiting = item.streaming && item.blocks.every((b) => !b.text);
  replaceChildren(el._foot,
    waiting ? h("span", { className: "typing", attrs: { "aria-label": "The agent is writing" } }, h("i"), h("i"), h("i")) : null,
    item.errorMessage ? h("span", { className: "msg-error" }, item.stopReason === "aborted" ? "Stopped" : item.errorMessage) : null,
    !item.errorMessage && item.stopReason === "length" ? h("span", { className: "msg-error" }, "Cut off: output limit reached") : null,
    usageLine(item.usage));
}

/**
 * Renders a text block. While it streams, the part before stableCut() is rendered once and kept;
 * only the rest is rebuilt per update. When it is complete, the whole is rendered once more.
 */
function renderText(entry, text, streaming) {
  const el = entry.content;
  if (!streaming) {
    replaceChildren(el, markdownToDom(parseMarkdown(text)));
    entry.stableLen = 0;
    entry.stableCount = 0;
    return;
  }
  if (!entry.stableLen || !text.startsWith(entry.stableText)) {
    replaceChildren(el);
    entry.stableLen = 0;
    entry.stableCount = 0;
    entry.stableText = "";
  }
  const cut = stableCut(text);
  while (el.childNodes.length > entry.stableCount) el.removeChild(el.lastChild);
  if (cut > entry.stableLen) {
    el.appendChild(markdownToDom(parseMarkdown(text.slice(entry.stableLen, cut))));
    entry.stableLen = cut;
    entry.stableText = text.slice(0, cut);
    entry.stableCount = el.childNodes.length;
  }
  el.appendChild(markdownToDom(parseMarkdown(text.slice(entry.stableLen))));
}

function thinkingBlock() {
  const content = h("div", { className: "thinking-text" });
  const el = h("details", { className: "thinking" }, h("summary", {}, "Thinking"), content);
  return { el, content, rev: -1 };
}

function usageLine(usage) {
  if (!usage || typeof usage !== "object") return null;
  const input = (usage.input ?? 0) + (usage.cacheRead ?? 0) + (usage.cacheWrite ?? 0);
  const output = usage.output ?? 0;
  const cost = typeof usage.cost === "number" ? usage.cost : usage.cost?.total;
  if (!input && !output && !cost) return null;
  const parts = [`${formatTokens(input)} in`, `${formatTokens(output)} out`];
  if (typeof cost === "number" && cost > 0) parts.push(formatCost(cost));
  return h("span", { className: "usage", attrs: { title: "Tokens and cost of this message" } }, parts.join(" · "));
}

// --- tools -------------------------------------------------------------------------------------

const TOOL_STATE = {
  preparing: ["", "preparing"],
  running: ["", "running"],
  done: ["✓", "done"],
  error: ["✕", "failed"],
};

function toolView(item) {
  const head = h("span", { className: "tool-head" });
  const details = lazyDetails({
    className: "tool-details",
    summary: head,
    build: () => toolBody(details._item),
  });
  details._item = item;
  const el = h("div", { className: "item tool" }, details);
  el._tool = { details, head };
  updateTool(el, item);
  return el;
}

function updateTool(el, item) {
  const { details, head } = el._tool;
  details._item = item;
  el.className = `item tool ${item.state}`;
  const [icon, label] = TOOL_STATE[item.state] ?? TOOL_STATE.running;
  const args = item.args ?? (item.argsText ? tryParse(item.argsText) : null);
  replaceChildren(head,
    h("span", { className: "tool-icon", attrs: { "aria-hidden": "true" } }, icon),
    h("span", { className: "tool-name" }, item.toolName),
    h("span", { className: "tool-summary" }, toolSummary(item.toolName, args)),
    h("span", { className: "tool-state" }, label));
  details.rebuild();
}

function tryParse(text) {
  try { return JSON.parse(text); } catch { return text; }
}

function toolBody(item) {
  const args = item.args ?? (item.argsText ? tryParse(item.argsText) : null);
  const body = h("div", { className: "tool-body" });
  if (args !== null && args !== undefined) body.append(argsView(item.toolName, args));
  const output = item.result ?? item.partial;
  if (output) {
    body.append(h("div", { className: "tool-label" }, item.result === null ? "Output so far" : item.isError ? "Error" : "Result"));
    body.append(clippedPre(output, item.isError ? "tool-output error" : "tool-output"));
  } else if (item.state === "running" || item.state === "preparing") {
    body.append(h("div", { className: "tool-label" }, "No output yet"));
  }
  return body;
}

/** Shows arguments the way a person reads them: a command, a diff, a file, or JSON. */
export function argsView(toolName, args) {
  const d = toolDetails(toolName, args);
  switch (d.kind) {
    case "command":
      return h("pre", { className: "cmd" }, h("code", {}, `$ ${d.command}`));
    case "edit":
      return h("div", { className: "edit" },
        h("div", { className: "path" }, d.path),
        h("pre", { className: "diff" }, editLines(d.oldText, d.newText).map((l) =>
          h("span", { className: l.sign === "+" ? "add" : l.sign === "-" ? "del" : "ctx" }, `${l.sign} ${l.text}\n`))));
    case "write":
      return h("div", { className: "edit" }, h("div", { className: "path" }, d.path), clippedPre(d.content, "file"));
    default:
      return clippedPre(d.text, "json");
  }
}

export function clippedPre(text, className) {
  const s = String(text);
  const pre = h("pre", { className });
  const code = h("code", {}, s.length > OUTPUT_PREVIEW_CHARS ? s.slice(0, OUTPUT_PREVIEW_CHARS) : s);
  pre.append(code);
  if (s.length <= OUTPUT_PREVIEW_CHARS) return pre;
  const more = h("button", {
    type: "button", className: "link-button",
    onclick: () => { code.textContent = s; more.remove(); },
  }, `Show all ${Math.round(s.length / 1024)} KiB`);
  return h("div", {}, pre, more);
}

// --- approvals, notices, session events, errors, debug ---------------------------------------

function approvalLine(item) {
  let text;
  let tone = "";
  switch (item.state) {
    case "pending": text = "waiting for an answer"; tone = "pending"; break;
    case "sent": text = "sending your answer…"; tone = "pending"; break;
    case "expired": text = item.withdrawn ? "withdrawn by the agent" : "no longer answerable: the agent exited"; break;
    default: text = answerText(item);
  }
  return h("div", { className: `item approval-line ${tone}` },
    h("span", { className: "approval-icon", attrs: { "aria-hidden": "true" } }, "?"),
    h("span", { className: "approval-title" }, item.title),
    h("span", { className: "approval-state" }, text));
}

/** "Allowed by you", "Denied on another device", "Answered: …". */
export function answerText(item) {
  const a = item.answer ?? (item.by === "you" ? item.sent : null);
  let what = "Answered";
  if (a && a.cancelled) what = "Dismissed";
  else if (a && a.confirmed === true) what = a.scope === "session" ? "Allowed for this session" : "Allowed";
  else if (a && a.confirmed === false) what = "Denied";
  else if (a && typeof a.value === "string") what = `Answered “${a.value.length > 60 ? `${a.value.slice(0, 59)}…` : a.value}”`;
  if (item.by === "you") return `${what} by you`;
  if (item.by === "other") return `${what} on another device`;
  return what;
}

function noticeView(item) {
  const icon = item.level === "error" ? "✕" : item.level === "warning" ? "!" : "i";
  return h("div", { className: `item notice ${item.level}` },
    h("span", { className: "notice-icon", attrs: { "aria-hidden": "true" } }, icon),
    h("span", { className: "notice-text" }, item.text));
}

function planView(item) {
  return h("div", { className: "item plan" },
    h("div", { className: "plan-title" }, item.title || "Plan"),
    h("div", { className: "md" }, markdownToDom(parseMarkdown(item.text))));
}

function sessionEventView(item) {
  const texts = {
    crashed: `The agent exited (${exitText(item)})`,
    restarting: "Restarting the agent…",
    restarted: "The agent was restarted",
    restored: "The session was restored after a server restart",
    gave_up: "The agent kept crashing; automatic restarts stopped",
    restart_failed: "The agent could not be restarted",
    restore_failed: "The session could not be restored after a server restart",
    stopped: "The session was stopped and archived; its transcript is kept",
    renamed: item.name ? `Renamed to “${item.name}”` : "The name was removed",
  };
  const bad = ["crashed", "gave_up", "restart_failed", "restore_failed"].includes(item.event);
  return h("div", { className: `item session-event ${bad ? "bad" : ""}`, attrs: { role: "status" } },
    texts[item.event] ?? `Session event: ${item.event}`);
}

function errorView(item) {
  return h("div", { className: "item error-line" },
    h("span", { className: "notice-icon", attrs: { "aria-hidden": "true" } }, "!"),
    h("span", {}, item.text));
}

function debugView(item) {
  return h("div", { className: "item debug" }, lazyDetails({
    summary: [h("span", { className: "debug-tag" }, "record"), ` ${item.label ?? "unknown"}`],
    build: () => clippedPre(JSON.stringify(item.record, null, 2), "json"),
  }));
}
