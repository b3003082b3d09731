// Reading pi records and server notices: text of contents and results, identities, messages.
// Pure helpers shared by the transcript reducer and its extensions.

export function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

export function stringOr(v, fallback) {
  return typeof v === "string" && v !== "" ? v : fallback;
}

export function msgKey(message) {
  if (!message || typeof message !== "object" || typeof message.timestamp !== "number") return null;
  return `${message.role}:${message.timestamp}`;
}

/** Text of a message's content (a string, or text blocks). */
export function contentText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? "" : JSON.stringify(content, null, 2);
  return content.map((c) => {
    if (typeof c === "string") return c;
    if (c?.type === "text") return String(c.text ?? "");
    if (c?.type === "image") return "[image]";
    return "";
  }).filter((s) => s !== "").join("\n");
}

/**
 * A user message as the transcript shows it: its text, and its image parts (pi's
 * {type:"image", data, mimeType} or Anthropic's {type:"image", source:{…}}), kept as they came:
 * the view decides which it can show (images.js imageDataUrl).
 */
export function userFields(message) {
  const content = message.content;
  const images = Array.isArray(content) ? content.filter((c) => c?.type === "image") : [];
  return { text: contentText(Array.isArray(content) ? content.filter((c) => c?.type !== "image") : content), images };
}

/** Text of a tool result: pi's {content:[...]} or any value. */
export function resultText(result) {
  if (result === undefined || result === null) return "";
  if (typeof result === "string") return result;
  if (Array.isArray(result.content)) return contentText(result.content);
  return JSON.stringify(result, null, 2);
}

export function planText(r) {
  const plan = r.plan;
  if (typeof plan === "string") return plan;
  if (plan && typeof plan === "object") {
    if (typeof plan.text === "string") return plan.text;
    if (typeof plan.markdown === "string") return plan.markdown;
    return "```json\n" + JSON.stringify(plan, null, 2) + "\n```";
  }
  return stringOr(r.message, "");
}

/** True when two extension_ui_response objects give the same answer. */
export function sameAnswer(a, b) {
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  return String(a.id) === String(b.id) && a.confirmed === b.confirmed && a.value === b.value &&
    a.cancelled === b.cancelled && (a.scope ?? null) === (b.scope ?? null);
}

export function serverErrorText(r) {
  switch (r.error) {
    case "invalid_json": return "The server refused a message that was not valid JSON.";
    case "binary_frame": return "The server ignored a binary frame.";
    case "record_too_large": {
      const size = typeof r.bytes === "number" ? ` (${Math.round(r.bytes / 1024)} KiB)` : "";
      return `The agent wrote a record too large to relay${size}; it was dropped.`;
    }
    default: return `Server error: ${stringOr(r.error, "unknown")}${r.detail ? ` — ${r.detail}` : ""}`;
  }
}

export function gapText(r) {
  const from = typeof r.from === "number" ? r.from : "?";
  const to = typeof r.to === "number" ? r.to : "?";
  return `Older output is no longer stored (records ${from}–${to} were dropped).`;
}
