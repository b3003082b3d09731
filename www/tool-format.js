// Readable summaries of tool calls and approval requests (pure: strings and plain objects).

const MAX_SUMMARY = 160;

/** One line describing a call: the command for bash, the path for file tools. */
export function toolSummary(name, args) {
  if (args === null || args === undefined) return "";
  if (typeof args === "string") return clip(firstLine(args));
  if (typeof args !== "object") return clip(String(args));
  const pick = (...keys) => keys.map((k) => args[k]).find((v) => typeof v === "string" && v !== "");
  const text =
    pick("command", "cmd") ??
    pick("path", "file_path", "filePath", "file", "notebook_path") ??
    pick("pattern", "query", "url", "description", "prompt") ??
    Object.values(args).find((v) => typeof v === "string" && v !== "");
  return text !== undefined ? clip(firstLine(text)) : clip(JSON.stringify(args));
}

/**
 * What to show for a call's arguments:
 *   {kind:"command", command}                     bash-like tools
 *   {kind:"edit", path, oldText, newText}         edit-like tools
 *   {kind:"write", path, content}                 write-like tools
 *   {kind:"json", text}                           anything else, pretty JSON
 */
export function toolDetails(name, args) {
  if (args && typeof args === "object" && !Array.isArray(args)) {
    const command = args.command ?? args.cmd;
    if (typeof command === "string") return { kind: "command", command };
    const path = args.path ?? args.file_path ?? args.filePath;
    const oldText = args.oldText ?? args.old_string ?? args.old_str;
    const newText = args.newText ?? args.new_string ?? args.new_str;
    if (typeof path === "string" && (typeof oldText === "string" || typeof newText === "string")) {
      return { kind: "edit", path, oldText: String(oldText ?? ""), newText: String(newText ?? "") };
    }
    if (typeof path === "string" && typeof args.content === "string") return { kind: "write", path, content: args.content };
  }
  if (typeof args === "string") return { kind: "json", text: args };
  return { kind: "json", text: JSON.stringify(args ?? null, null, 2) };
}

/**
 * The preview of an approval request. pi's permission gate asks `Run <tool>?` with the call's
 * input as JSON cut to 400 characters; other extensions ask anything.
 * @returns {{tool: string|null, details: object|null, text: string, truncated: boolean}}
 */
export function approvalPreview({ title = "", message = "" }) {
  const m = /^(?:Run|Allow|Use)\s+([\w.:-]+)\s*\?$/i.exec(String(title).trim());
  const tool = m ? m[1] : null;
  const text = String(message ?? "");
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const args = JSON.parse(trimmed);
      return { tool, details: toolDetails(tool, args), text, truncated: false };
    } catch {
      // Cut JSON: show it as it is, say it was cut.
      return { tool, details: { kind: "json", text: trimmed }, text, truncated: trimmed.length >= 400 };
    }
  }
  return { tool, details: null, text, truncated: false };
}

/** Lines of a naive line diff for an edit preview: [{sign:"-"|"+", text}]. */
export function editLines(oldText, newText) {
  const a = String(oldText).split("\n");
  const b = String(newText).split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out = [];
  for (let i = 0; i < head; i++) out.push({ sign: " ", text: a[i] });
  for (let i = head; i < a.length - tail; i++) out.push({ sign: "-", text: a[i] });
  for (let i = head; i < b.length - tail; i++) out.push({ sign: "+", text: b[i] });
  for (let i = a.length - tail; i < a.length; i++) out.push({ sign: " ", text: a[i] });
  return out;
}

function firstLine(s) {
  const line = s.split("\n")[0];
  return line.length < s.length ? `${line} …` : line;
}

function clip(s) {
  return s.length > MAX_SUMMARY ? `${s.slice(0, MAX_SUMMARY - 1)}…` : s;
}
