// Terminal sessions (issue 16): the pure parts of the terminal view. The wire is JSON text
// frames whose bytes travel as base64 (terminal.output from the host, terminal.input to it);
// xterm.js 3.8 takes strings, so output is decoded with one streaming TextDecoder per session
// (a UTF-8 character split across two records stays whole). The key bar's keys are the
// sequences xterm itself sends for them. No DOM here: node tests it as it is.

/** The agent kind of a session run under a pseudo-terminal. */
export const TERMINAL_AGENT = "terminal";
/** At most this many raw bytes per terminal.input frame (the host refuses more). */
export const MAX_INPUT_BYTES = 65536;
/** terminal.resize bounds, each of cols and rows. */
export const MIN_SIZE = 1;
export const MAX_SIZE = 1000;

/**
 * A session summary or hello of a terminal session shown as a terminal (not one handed over to
 * structured mode: `"mode":"structured"`).
 */
export function isTerminal(summaryOrHello) {
  return summaryOrHello?.agent === TERMINAL_AGENT && summaryOrHello.mode !== "structured";
}

// --- bytes ---------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** The UTF-8 bytes of a string. */
export function utf8Bytes(text) {
  return encoder.encode(String(text));
}

/** Base64 of bytes (a Uint8Array), in slices so long inputs do not overflow the call stack. */
export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of base64 text; null when it is not base64. */
export function base64ToBytes(text) {
  if (typeof text !== "string") return null;
  let binary;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The program's output as text for xterm, across records: a character whose bytes are split
 * between two records comes out whole with the second; bytes that are not UTF-8 become U+FFFD.
 */
export class OutputDecoder {
  constructor() {
    this.decoder = new TextDecoder("utf-8");
  }

  /** @param {Uint8Array} bytes */
  decode(bytes) {
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Forgets a partial character (a fresh start of the stream). */
  reset() {
    this.decoder = new TextDecoder("utf-8");
  }
}

// --- frames to the host --------------------------------------------------------------------

/**
 * terminal.input frames for what the user typed (a string, sent as its UTF-8 bytes), each at
 * most MAX_INPUT_BYTES raw bytes; [] for nothing.
 */
export function inputFrames(data, maxBytes = MAX_INPUT_BYTES) {
  const bytes = typeof data === "string" ? utf8Bytes(data) : data;
  const frames = [];
  for (let i = 0; i < bytes.length; i += maxBytes) {
    frames.push({ type: "terminal.input", data: bytesToBase64(bytes.subarray(i, i + maxBytes)) });
  }
  return frames;
}

/** A whole number of cells within MIN_SIZE…MAX_SIZE; null when `n` is not a finite number. */
export function clampSize(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return null;
  return Math.min(MAX_SIZE, Math.max(MIN_SIZE, Math.floor(n)));
}

/** The terminal.resize frame for a size (clamped); null when either number is not one. */
export function resizeFrame({ cols, rows } = {}) {
  const c = clampSize(cols);
  const r = clampSize(rows);
  return c === null || r === null ? null : { type: "terminal.resize", cols: c, rows: r };
}

/**
 * How many cells fit an area: whole cells only, clamped; null while nothing can be measured
 * (a hidden element, a font not laid out yet).
 * @param {{width: number, height: number, cellWidth: number, cellHeight: number}} m  CSS pixels
 */
export function fitSize({ width, height, cellWidth, cellHeight }) {
  if (![width, height, cellWidth, cellHeight].every((n) => typeof n === "number" && Number.isFinite(n))) return null;
  if (width <= 0 || height <= 0 || cellWidth <= 0 || cellHeight <= 0) return null;
  return { cols: clampSize(width / cellWidth), rows: clampSize(height / cellHeight) };
}

/** A size record's (terminal.size, the hello's `terminal`) cols and rows; null when invalid. */
export function sizeOf(record) {
  const cols = record?.cols;
  const rows = record?.rows;
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < MIN_SIZE || rows < MIN_SIZE) return null;
  return { cols: Math.min(cols, MAX_SIZE), rows: Math.min(rows, MAX_SIZE) };
}

/** The hello's `terminal` member: {cols, rows, readonly}; null without one. */
export function helloTerminal(hello) {
  const t = hello?.terminal;
  if (!t || typeof t !== "object") return null;
  return { size: sizeOf(t), readonly: t.readonly === true };
}

// --- keys ----------------------------------------------------------------------------------

const ESC = "\x1b";

/** Arrow keys: the final letter of their sequence. */
const ARROWS = { up: "A", down: "B", right: "C", left: "D" };

/**
 * The key bar under the terminal, in order. `send`: the characters of a plain key; `arrow`: an
 * arrow key; `sticky`: Ctrl (applies to the next key); `paste`: the clipboard.
 */
export const KEY_BAR = [
  { id: "esc", label: "Esc", title: "Escape", send: ESC },
  { id: "tab", label: "Tab", title: "Tab", send: "\t" },
  { id: "ctrl", label: "Ctrl", title: "Ctrl: the next key is sent with Control", sticky: true },
  { id: "left", label: "←", title: "Left", arrow: "left" },
  { id: "up", label: "↑", title: "Up", arrow: "up" },
  { id: "down", label: "↓", title: "Down", arrow: "down" },
  { id: "right", label: "→", title: "Right", arrow: "right" },
  { id: "pipe", label: "|", title: "|", send: "|" },
  { id: "tilde", label: "~", title: "~", send: "~" },
  { id: "slash", label: "/", title: "/", send: "/" },
  { id: "paste", label: "Paste", title: "Paste the clipboard", paste: true },
];

/**
 * What an arrow key sends: CSI A…D, or SS3 A…D while the program asked for application cursor
 * keys (DECCKM: vim, less, readline in some modes), as xterm does; with Ctrl CSI 1;5 A…D.
 */
export function arrowSequence(direction, { ctrl = false, applicationCursor = false } = {}) {
  const final = ARROWS[direction];
  if (!final) return "";
  if (ctrl) return `${ESC}[1;5${final}`;
  return `${ESC}${applicationCursor ? "O" : "["}${final}`;
}

/**
 * The control character a key sends with Ctrl held, as xterm does: @ A…Z [ \ ] ^ _ (either
 * case for letters) are 0…31, space and 2 are NUL, 3…7 ESC…US, 8 and ? DEL, / is US, and the
 * other printable ASCII characters from 0x60 up fold like their upper-case twins (| is ^\,
 * ~ is ^^). null when Ctrl changes nothing.
 */
export function ctrlChar(ch) {
  if (typeof ch !== "string" || ch.length !== 1) return null;
  const code = ch.charCodeAt(0);
  if (ch === " " || ch === "2" || ch === "@") return "\x00";
  if (ch >= "3" && ch <= "7") return String.fromCharCode(code - 0x33 + 0x1b);
  if (ch === "8" || ch === "?") return "\x7f";
  if (ch === "/") return "\x1f";
  if (code >= 0x40 && code <= 0x7e) return String.fromCharCode(code & 0x1f);
  return null;
}

/** Ctrl applied to what was typed: a single key (or arrow) changes, anything longer is sent as it is. */
export function withCtrl(data) {
  if (typeof data !== "string") return "";
  const control = ctrlChar(data);
  if (control !== null) return control;
  const arrow = /^\x1b[[O]([ABCD])$/.exec(data);
  if (arrow) return `${ESC}[1;5${arrow[1]}`;
  return data;
}

/**
 * What a key of the key bar sends (KEY_BAR ids; "ctrl" and "paste" send nothing themselves).
 * @param {string} id
 * @param {{ctrl?: boolean, applicationCursor?: boolean}} [mode]
 */
export function keySequence(id, { ctrl = false, applicationCursor = false } = {}) {
  const key = KEY_BAR.find((k) => k.id === id);
  if (!key || key.sticky || key.paste) return "";
  if (key.arrow) return arrowSequence(key.arrow, { ctrl, applicationCursor });
  return ctrl ? withCtrl(key.send) : key.send;
}

/**
 * Pasted text as the terminal takes it: line ends as Enter (CR), as xterm pastes; inside
 * bracketed paste markers when the program asked for them, with any such marker in the text
 * removed (a pasted "ESC[201~" would end the paste early and run the rest as typed keys).
 */
export function pasteData(text, { bracketed = false } = {}) {
  let data = String(text ?? "").replace(/\r?\n/g, "\r");
  if (!bracketed) return data;
  data = data.replace(/\x1b\[20[01]~/g, "");
  return `${ESC}[200~${data}${ESC}[201~`;
}
