// A small, safe markdown parser: text -> a plain tree of nodes (no HTML, no DOM).
//
// Agent output is untrusted. Nothing here ever produces HTML: raw HTML in the input stays
// text, links are kept only for http(s) URLs, images become links. `markdown-dom.js`
// turns the tree into DOM nodes with createElement/textContent.
//
// Blocks: ATX headings, paragraphs, fenced code (``` and ~~~, unterminated fences run to the
// end so a streaming reply renders while it arrives), bullet / ordered / task lists with
// nesting, block quotes, thematic breaks, pipe tables.
// Inlines: code spans, **strong**, *em* / _em_, ~~del~~, [links](url), ![images](url),
// <autolinks>, bare http(s) URLs, backslash escapes, hard and soft line breaks.
//
// Node shapes:
//   {type:"heading", level, children}       {type:"paragraph", children}
//   {type:"code", lang, text}               {type:"hr"}
//   {type:"list", ordered, start, items:[{checked: null|true|false, children:[blocks]}]}
//   {type:"blockquote", children:[blocks]}
//   {type:"table", align:[null|"left"|"center"|"right"], head:[[inlines]], rows:[[[inlines]]]}
//   inlines: {type:"text", text} {type:"strong"|"em"|"del", children} {type:"code", text}
//            {type:"link", href, children} {type:"br"}

/** Largest input parsed as markdown; longer text is shown as one plain code block. */
export const MAX_MARKDOWN_CHARS = 200_000;
const MAX_DEPTH = 12;

/** @returns {Array<object>} block nodes */
export function parseMarkdown(text) {
  const source = String(text ?? "");
  if (source.length > MAX_MARKDOWN_CHARS) return [{ type: "code", lang: "", text: source }];
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  return parseBlocks(lines, 0);
}

/** The URL when it is an absolute http(s) URL, else null. `javascript:` and friends never pass. */
export function safeHref(raw) {
  if (typeof raw !== "string") return null;
  const trimmed = raw.trim();
  if (!/^https?:\/\//i.test(trimmed)) return null;
  try {
    const url = new URL(trimmed);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// --- blocks ---------------------------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:([ \t]+)(.*))?$/;
const TABLE_DELIMITER = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

function isBlank(line) {
  return /^[ \t]*$/.test(line);
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line) || isListStart(line);
}

function isListStart(line) {
  const m = ITEM.exec(line);
  // "-" alone or "1." alone starts an (empty) item; "-foo" does not.
  return m !== null && (m[3] !== undefined || m[4] === undefined);
}

function parseBlocks(lines, depth) {
  if (depth > MAX_DEPTH) return [{ type: "paragraph", children: [{ type: "text", text: lines.join("\n") }] }];
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }

    let m = FENCE.exec(line);
    if (m) {
      const marker = m[1];
      const indent = line.length - line.trimStart().length;
      const body = [];
      i++;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.startsWith(marker[0].repeat(marker.length)) && /^(`+|~+)$/.test(close) && close[0] === marker[0]) { i++; break; }
        body.push(stripIndent(lines[i], indent));
        i++;
      }
      out.push({ type: "code", lang: m[2] || "", text: body.join("\n") });
      continue;
    }

    m = HEADING.exec(line);
    if (m) {
      out.push({ type: "heading", level: m[1].length, children: parseInline(m[2] || "", depth) });
      i++;
      continue;
    }

    if (HR.test(line)) { out.push({ type: "hr" }); i++; continue; }

    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        if (q) inner.push(q[1]);
        else if (startsBlock(lines[i])) break;
        else inner.push(lines[i]); // lazy continuation
        i++;
      }
      out.push({ type: "blockquote", children: parseBlocks(inner, depth + 1) });
      continue;
    }

    if (isListStart(line)) {
      const [list, next] = parseList(lines, i, depth);
      out.push(list);
      i = next;
      continue;
    }

    if (line.includes("|") && i + 1 < lines.length && TABLE_DELIMITER.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const head = splitRow(line);
      const align = splitRow(lines[i + 1]).map((c) => {
        const t = c.trim();
        if (t.startsWith(":") && t.endsWith(":")) return "center";
        if (t.endsWith(":")) return "right";
        if (t.startsWith(":")) return "left";
        return null;
      });
      if (align.length === head.length) {
        i += 2;
        const rows = [];
        while (i < lines.length && !isBlank(lines[i]) && lines[i].includes("|") && !startsBlock(lines[i])) {
          const cells = splitRow(lines[i]);
          while (cells.length < head.length) cells.push("");
          rows.push(cells.slice(0, head.length).map((c) => parseInline(c.trim(), depth)));
          i++;
        }
        out.push({ type: "table", align, head: head.map((c) => parseInline(c.trim(), depth)), rows });
        continue;
      }
    }

    // Paragraph: up to a blank line or the start of another block.
    const para = [line];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i])) {
      para.push(lines[i]);
      i++;
    }
    out.push({ type: "paragraph", children: parseInline(para.map((l) => l.replace(/^[ \t]+/, "")).join("\n"), depth) });
  }
  return out;
}

function stripIndent(line, n) {
  let k = 0;
  while (k < n && line[k] === " ") k++;
  return line.slice(k);
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells = [];
  let cur = "";
  for (let k = 0; k < s.length; k++) {
    if (s[k] === "\\" && s[k + 1] === "|") { cur += "|"; k++; continue; }
    if (s[k] === "|") { cells.push(cur); cur = ""; continue; }
    cur += s[k];
  }
  cells.push(cur);
  return cells;
}

function parseList(lines, start, depth) {
  const first = ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const bullet = ordered ? first[2].slice(-1) : first[2];
  const baseIndent = first[1].length;
  const list = { type: "list", ordered, start: ordered ? parseInt(first[2], 10) : 1, items: [] };
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || !isListStart(lines[i]) || m[1].length > baseIndent + 1) break;
    const sameKind = ordered ? /\d/.test(m[2]) && m[2].slice(-1) === bullet : m[2] === bullet;
    if (!sameKind) break;
    const contentOffset = m[1].length + m[2].length + (m[3] ? Math.min(m[3].length, 4) : 1);
    const itemLines = [m[4] ?? ""];
    i++;
    let sawBlank = false;
    while (i < lines.length) {
      const l = lines[i];
      if (isBlank(l)) { sawBlank = true; itemLines.push(""); i++; continue; }
      const indent = l.length - l.replace(/^[ \t]+/, "").length;
      if (indent >= contentOffset) { itemLines.push(l.slice(Math.min(contentOffset, indent))); sawBlank = false; i++; continue; }
      if (!sawBlank && !startsBlock(l)) { itemLines.push(l.trimStart()); i++; continue; } // lazy continuation
      break;
    }
    while (itemLines.length && isBlank(itemLines[itemLines.length - 1])) itemLines.pop();
    // A blank line that ends the list belongs to nothing; put the cursor back on it.
    while (i > start && isBlank(lines[i - 1]) && (i >= lines.length || !ITEM.test(lines[i]))) i--;
    let checked = null;
    const task = /^\[([ xX])\][ \t]+/.exec(itemLines[0]);
    if (task) { checked = task[1] !== " "; itemLines[0] = itemLines[0].slice(task[0].length); }
    list.items.push({ checked, children: parseBlocks(itemLines, depth + 1) });
    // Skip blank lines between items of the same list.
    let j = i;
    while (j < lines.length && isBlank(lines[j])) j++;
    if (j < lines.length && j > i && ITEM.test(lines[j]) && isListStart(lines[j])) i = j;
  }
  return [list, i];
}

// --- inlines --------------------------------------------------------------------------------

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
// Sticky (matched at lastIndex): no copy of the rest of the text per candidate.
const BARE_URL = /https?:\/\/[^\s<>"]+/iy;
const ANGLE_URL = /<(https?:\/\/[^\s<>]+)>/iy;

/** @returns {Array<object>} inline nodes */
export function parseInline(text, depth = 0) {
  const out = [];
  let buf = "";
  const flush = () => { if (buf) { pushText(out, buf); buf = ""; } };
  const s = String(text);
  // Linear time on any input: an emphasis opener whose scan found no closer means no later
  // opener of the same kind finds one either (`noCloser`), and brackets are matched once
  // (`brackets`), instead of scanning to the end of the text from every `*` or `[`.
  const scan = { noCloser: new Map(), brackets: null };
  let i = 0;
  while (i < s.length) {
    const c = s[i];

    if (c === "\\" && i + 1 < s.length) {
      if (s[i + 1] === "\n") { flush(); out.push({ type: "br" }); i += 2; continue; }
      if (PUNCTUATION.test(s[i + 1])) { buf += s[i + 1]; i += 2; continue; }
    }

    if (c === "\n") {
      flush();
      out.push({ type: "br" });
      i++;
      continue;
    }

    if (c === "`") {
      let n = 0;
      while (s[i + n] === "`") n++;
      const fence = "`".repeat(n);
      let j = s.indexOf(fence, i + n);
      while (j !== -1 && s[j + n] === "`") {
        let k = j;
        while (s[k] === "`") k++;
        j = s.indexOf(fence, k);
      }
      if (j !== -1) {
        flush();
        let code = s.slice(i + n, j).replace(/\n/g, " ");
        if (code.length > 1 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
        out.push({ type: "code", text: code });
        i = j + n;
        continue;
      }
      buf += fence;
      i += n;
      continue;
    }

    if (depth < MAX_DEPTH && (c === "*" || c === "_" || c === "~")) {
      const span = delimited(s, i, depth, scan);
      if (span) { flush(); out.push(span.node); i = span.end; continue; }
    }

    if (c === "!" && s[i + 1] === "[") {
      const link = linkAt(s, i + 1, depth, scan);
      if (link) {
        flush();
        const alt = link.label || "image";
        if (link.href) out.push({ type: "link", href: link.href, children: [{ type: "text", text: `🖼 ${alt}` }] });
        else pushText(out, `🖼 ${alt}`);
        i = link.end;
        continue;
      }
    }

    if (c === "[" && depth < MAX_DEPTH) {
      const link = linkAt(s, i, depth, scan);
      if (link) {
        flush();
        if (link.href) out.push({ type: "link", href: link.href, children: link.children });
        else for (const child of link.children) child.type === "text" ? pushText(out, child.text) : out.push(child);
        i = link.end;
        continue;
      }
    }

    if (c === "<") {
      ANGLE_URL.lastIndex = i;
      const m = ANGLE_URL.exec(s);
      const href = m && safeHref(m[1]);
      if (href) {
        flush();
        out.push({ type: "link", href, children: [{ type: "text", text: m[1] }] });
        i += m[0].length;
        continue;
      }
    }

    if ((c === "h" || c === "H") && (i === 0 || /[\s(]/.test(s[i - 1]))) {
      BARE_URL.lastIndex = i;
      const m = BARE_URL.exec(s);
      if (m) {
        let url = m[0];
        while (/[.,;:!?'")\]]$/.test(url)) {
          if (url.endsWith(")") && (url.match(/\(/g) || []).length >= (url.match(/\)/g) || []).length) break;
          url = url.slice(0, -1);
        }
        const href = safeHref(url);
        if (href) {
          flush();
          out.push({ type: "link", href, children: [{ type: "text", text: url }] });
          i += url.length;
          continue;
        }
      }
    }

    buf += c;
    i++;
  }
  flush();
  return out;
}

function pushText(out, text) {
  const last = out[out.length - 1];
  if (last && last.type === "text") last.text += text;
  else out.push({ type: "text", text });
}

/** `**x**`, `__x__`, `*x*`, `_x_`, `~~x~~` (and `***x***`) starting at i, or null. */
function delimited(s, i, depth, scan) {
  const c = s[i];
  let run = 0;
  while (s[i + run] === c) run++;
  if (c === "~" && run !== 2) return null;
  const size = c === "~" ? 2 : Math.min(run, 2);
  const kind = c + size;
  if (scan.noCloser.get(kind) <= i) return null;
  const start = i + size;
  if (start >= s.length || /\s/.test(s[start])) return null;
  // `_` inside a word (snake_case) is not emphasis.
  if (c === "_" && i > 0 && /[\p{L}\p{N}]/u.test(s[i - 1])) return null;
  let j = start;
  while (j < s.length) {
    const d = s[j];
    if (d === "\\") { j += 2; continue; }
    if (d === "`") {
      let n = 0;
      while (s[j + n] === "`") n++;
      const close = s.indexOf("`".repeat(n), j + n);
      j = close === -1 ? j + n : close + n;
      continue;
    }
    if (d !== c) { j++; continue; }
    let r = 0;
    while (s[j + r] === c) r++;
    const closable = j > start && !/\s/.test(s[j - 1]);
    const at = size === 2 && r >= 2 ? j + r - 2 : size === 1 && r === 1 ? j : -1;
    const after = at === -1 ? undefined : s[at + size];
    if (closable && at !== -1 && !(c === "_" && after !== undefined && /[\p{L}\p{N}]/u.test(after))) {
      const type = c === "~" ? "del" : size === 2 ? "strong" : "em";
      return { node: { type, children: parseInline(s.slice(start, at), depth + 1) }, end: at + size };
    }
    j += r;
  }
  if (!(scan.noCloser.get(kind) <= i)) scan.noCloser.set(kind, i);
  return null;
}

/** The matching `]` of every `[` of `s` (escapes skipped; a blank line ends every bracket). */
function matchBrackets(s) {
  const close = new Map();
  const open = [];
  for (let j = 0; j < s.length; j++) {
    const d = s[j];
    if (d === "\\") { j++; continue; }
    if (d === "[") open.push(j);
    else if (d === "]") { if (open.length) close.set(open.pop(), j); }
    else if (d === "\n" && s[j + 1] === "\n") open.length = 0;
  }
  return close;
}

/** `[label](url "title")` starting at the `[` at i; href is null when the URL is not http(s). */
function linkAt(s, i, depth, scan) {
  scan.brackets ??= matchBrackets(s);
  const j = scan.brackets.get(i);
  if (j === undefined || s[j + 1] !== "(") return null;
  const label = s.slice(i + 1, j);
  let k = j + 2;
  let parens = 1;
  let dest = "";
  for (; k < s.length; k++) {
    if (s[k] === "(") parens++;
    else if (s[k] === ")") { parens--; if (parens === 0) break; }
    else if (s[k] === "\n") return null;
    dest += s[k];
  }
  if (k >= s.length) return null;
  let url = dest.trim();
  const titled = /^(\S+)\s+["'(].*$/.exec(url);
  if (titled) url = titled[1];
  if (url.startsWith("<") && url.endsWith(">")) url = url.slice(1, -1);
  return { label, href: safeHref(url), children: parseInline(label, depth + 1), end: k + 1 };
}

/** Plain text of inline nodes (for titles, previews, tests). */
export function inlineText(nodes) {
  return nodes.map((n) => (n.type === "text" || n.type === "code" ? n.text : n.type === "br" ? "\n" : inlineText(n.children || []))).join("");
}

/**
 * Where a growing text can be cut so that what comes before never changes as more is appended:
 * just after the last blank line that is outside a code fence. Rendering the part before the cut
 * once and re-rendering only the rest keeps a streamed reply's cost proportional to the delta.
 * @returns {number} an index into `text` (0 when there is no such place)
 */
export function stableCut(text) {
  let cut = 0;
  let fence = null;
  let lineStart = 0;
  let previousBlank = false;
  while (lineStart < text.length) {
    let end = text.indexOf("\n", lineStart);
    if (end === -1) break; // the last line may still grow
    const line = text.slice(lineStart, end);
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = null;
    } else if (m) {
      fence = m[1];
    }
    const blank = /^[ \t]*$/.test(line);
    if (!fence && blank && !previousBlank && lineStart > 0) cut = end + 1;
    previousBlank = blank;
    lineStart = end + 1;
  }
  return cut;
}
