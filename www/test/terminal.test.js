// Terminal sessions (issue 16): the wire helpers (base64, streaming UTF-8, input frames, resize),
// the key bar's sequences, and TerminalFeed against the vendored xterm.js itself (it runs in
// node without a DOM while no element is opened).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  KEY_BAR, MAX_INPUT_BYTES, OutputDecoder, arrowSequence, base64ToBytes, bytesToBase64, clampSize, ctrlChar,
  fitSize, helloTerminal, inputFrames, isTerminal, keySequence, pasteData, resizeFrame, sizeOf, utf8Bytes, withCtrl,
} from "../terminal.js";
import { TerminalFeed } from "../terminal-feed.js";
import { Terminal, version } from "../vendor/xterm/xterm.js";
import { errorText } from "../terminal-controller.js";
import { App } from "../app.js";
import { sessionSocketUrl } from "../urls.js";

const b64 = (s) => Buffer.from(s).toString("base64");
const decodeFrame = (f) => Buffer.from(f.data, "base64");

// --- bytes ---------------------------------------------------------------------------------

test("base64 <-> bytes: every byte value, long inputs, and text that is not base64", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(bytesToBase64(all), Buffer.from(all).toString("base64"));
  assert.deepEqual(base64ToBytes(bytesToBase64(all)), all);
  const long = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 7) & 0xff);
  assert.equal(bytesToBase64(long), Buffer.from(long).toString("base64"));
  assert.deepEqual(base64ToBytes(Buffer.from(long).toString("base64")), long);
  assert.deepEqual(base64ToBytes(""), new Uint8Array(0));
  assert.equal(base64ToBytes("not base64!"), null);
  assert.equal(base64ToBytes(42), null);
  assert.deepEqual([...utf8Bytes("é€")], [0xc3, 0xa9, 0xe2, 0x82, 0xac]);
});

test("the streaming decoder keeps a character split across records whole, at every split", () => {
  const text = "a é € 𝄞 z";
  const bytes = utf8Bytes(text);
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    const d = new OutputDecoder();
    assert.equal(d.decode(bytes.subarray(0, cut)) + d.decode(bytes.subarray(cut)), text, `cut at ${cut}`);
  }
  // One byte per record.
  const d = new OutputDecoder();
  assert.equal([...bytes].map((b) => d.decode(Uint8Array.of(b))).join(""), text);
  // Bytes that are not UTF-8 become U+FFFD, and the stream goes on.
  const bad = new OutputDecoder();
  assert.equal(bad.decode(Uint8Array.of(0x61, 0xff, 0x62)), "a\ufffdb");
  // A partial character is held back, not shown as U+FFFD, until the rest comes.
  const partial = new OutputDecoder();
  assert.equal(partial.decode(Uint8Array.of(0xe2, 0x82)), "");
  assert.equal(partial.decode(Uint8Array.of(0xac)), "€");
  // reset() forgets a partial character.
  partial.decode(Uint8Array.of(0xe2));
  partial.reset();
  assert.equal(partial.decode(utf8Bytes("x")), "x");
});

// --- frames --------------------------------------------------------------------------------

test("input frames: base64 of the UTF-8 bytes, at most 64 KiB of bytes each", () => {
  assert.deepEqual(inputFrames("ls\r"), [{ type: "terminal.input", data: b64("ls\r") }]);
  assert.deepEqual(inputFrames(""), []);
  assert.equal(decodeFrame(inputFrames("é")[0]).toString(), "é");
  const big = "x".repeat(MAX_INPUT_BYTES * 2 + 5);
  const frames = inputFrames(big);
  assert.deepEqual(frames.map((f) => decodeFrame(f).length), [MAX_INPUT_BYTES, MAX_INPUT_BYTES, 5]);
  // A character split between two frames: the bytes are written in order, so it arrives whole.
  const split = inputFrames("ab€", 3);
  assert.equal(Buffer.concat(split.map(decodeFrame)).toString(), "ab€");
  assert.equal(split.length, 2);
});

test("resize frames: whole cells, clamped to 1…1000; nothing for what is not a number", () => {
  assert.deepEqual(resizeFrame({ cols: 80, rows: 24 }), { type: "terminal.resize", cols: 80, rows: 24 });
  assert.deepEqual(resizeFrame({ cols: 47.9, rows: 30.2 }), { type: "terminal.resize", cols: 47, rows: 30 });
  assert.deepEqual(resizeFrame({ cols: 0, rows: -3 }), { type: "terminal.resize", cols: 1, rows: 1 });
  assert.deepEqual(resizeFrame({ cols: 5000, rows: 1001 }), { type: "terminal.resize", cols: 1000, rows: 1000 });
  assert.equal(resizeFrame({ cols: NaN, rows: 24 }), null);
  assert.equal(resizeFrame({ cols: "80", rows: 24 }), null);
  assert.equal(resizeFrame({ cols: 80 }), null);
  assert.equal(resizeFrame(), null);
  assert.equal(clampSize(Infinity), null);
  assert.equal(clampSize(0.5), 1);
});

test("fit: the whole cells of the area; nothing while it cannot be measured", () => {
  // A 390 px wide phone, 6 px of padding, a 13 px font (7.8 × 15 px cells).
  assert.deepEqual(fitSize({ width: 384, height: 600, cellWidth: 7.8, cellHeight: 15 }), { cols: 49, rows: 40 });
  assert.deepEqual(fitSize({ width: 3, height: 3, cellWidth: 7.8, cellHeight: 15 }), { cols: 1, rows: 1 });
  assert.deepEqual(fitSize({ width: 100_000, height: 100_000, cellWidth: 1, cellHeight: 1 }), { cols: 1000, rows: 1000 });
  assert.equal(fitSize({ width: 0, height: 600, cellWidth: 7.8, cellHeight: 15 }), null);
  assert.equal(fitSize({ width: 384, height: 600, cellWidth: 0, cellHeight: 15 }), null);
  assert.equal(fitSize({ width: 384, height: 600, cellWidth: undefined, cellHeight: 15 }), null);
});

test("size records and the hello's terminal member", () => {
  assert.deepEqual(sizeOf({ type: "terminal.size", cols: 100, rows: 30 }), { cols: 100, rows: 30 });
  assert.equal(sizeOf({ cols: 0, rows: 30 }), null);
  assert.equal(sizeOf({ cols: 1.5, rows: 30 }), null);
  assert.deepEqual(sizeOf({ cols: 2000, rows: 30 }), { cols: 1000, rows: 30 });
  assert.deepEqual(helloTerminal({ terminal: { cols: 80, rows: 24, readonly: true } }), { size: { cols: 80, rows: 24 }, readonly: true });
  assert.deepEqual(helloTerminal({ terminal: { cols: 80, rows: 24 } }), { size: { cols: 80, rows: 24 }, readonly: false });
  assert.equal(helloTerminal({ agent: "pi" }), null);
  assert.equal(isTerminal({ agent: "terminal" }), true);
  assert.equal(isTerminal({ agent: "terminal", mode: "structured" }), false);
  assert.equal(isTerminal({ agent: "pi" }), false);
  assert.equal(isTerminal(null), false);
});

test("the socket address carries readonly=1 with or without since", () => {
  const href = "https://box.ts.net/amarre/#/s/0123456789ab";
  assert.equal(sessionSocketUrl("0123456789ab", { href, readonly: true }), "wss://box.ts.net/amarre/sessions/0123456789ab?readonly=1");
  assert.equal(sessionSocketUrl("0123456789ab", { href, since: 7, readonly: true }), "wss://box.ts.net/amarre/sessions/0123456789ab?since=7&readonly=1");
  assert.equal(sessionSocketUrl("0123456789ab", { href, since: 7 }), "wss://box.ts.net/amarre/sessions/0123456789ab?since=7");
});

test("amarre.error codes of terminal input read as sentences", () => {
  assert.match(errorText({ type: "amarre.error", code: "read_only" }), /read-only/);
  assert.match(errorText({ type: "amarre.error", error: "input_too_large" }), /not sent/);
  assert.match(errorText({ type: "amarre.error", code: "invalid_input" }), /refused/);
  assert.match(errorText({ type: "amarre.error", code: "<b>x</b>" }), /<b>x<\/b>/); // text, shown with textContent
});

// --- keys ----------------------------------------------------------------------------------

test("Ctrl with a key: the control characters xterm sends", () => {
  const cases = {
    a: "\x01", c: "\x03", C: "\x03", z: "\x1a", Z: "\x1a", "@": "\x00", " ": "\x00", "[": "\x1b", "\\": "\x1c",
    "]": "\x1d", "^": "\x1e", _: "\x1f", "?": "\x7f", "/": "\x1f", "|": "\x1c", "~": "\x1e", "`": "\x00",
    2: "\x00", 3: "\x1b", 4: "\x1c", 5: "\x1d", 6: "\x1e", 7: "\x1f", 8: "\x7f",
  };
  for (const [key, code] of Object.entries(cases)) assert.equal(ctrlChar(key), code, `Ctrl+${key}`);
  for (const key of ["1", "9", "0", "-", "é", "ab", "", "\t"]) assert.equal(ctrlChar(key), null, `Ctrl+${JSON.stringify(key)}`);
  assert.equal(withCtrl("c"), "\x03");
  assert.equal(withCtrl("\x1b[A"), "\x1b[1;5A");
  assert.equal(withCtrl("\x1bOD"), "\x1b[1;5D");
  assert.equal(withCtrl("hello"), "hello");
  assert.equal(withCtrl("\r"), "\r");
});

test("the key bar: its keys and what each sends, with and without Ctrl", () => {
  assert.deepEqual(KEY_BAR.map((k) => k.label), ["Esc", "Tab", "Ctrl", "←", "↑", "↓", "→", "|", "~", "/", "Paste"]);
  assert.equal(keySequence("esc"), "\x1b");
  assert.equal(keySequence("tab"), "\t");
  assert.equal(keySequence("up"), "\x1b[A");
  assert.equal(keySequence("down"), "\x1b[B");
  assert.equal(keySequence("right"), "\x1b[C");
  assert.equal(keySequence("left"), "\x1b[D");
  // Application cursor keys (DECCKM, set by vim, less...).
  assert.equal(keySequence("up", { applicationCursor: true }), "\x1bOA");
  assert.equal(keySequence("left", { applicationCursor: true }), "\x1bOD");
  assert.equal(keySequence("left", { ctrl: true, applicationCursor: true }), "\x1b[1;5D");
  assert.equal(arrowSequence("up", { ctrl: true }), "\x1b[1;5A");
  assert.equal(arrowSequence("sideways"), "");
  assert.equal(keySequence("pipe"), "|");
  assert.equal(keySequence("tilde"), "~");
  assert.equal(keySequence("slash"), "/");
  assert.equal(keySequence("pipe", { ctrl: true }), "\x1c");
  assert.equal(keySequence("slash", { ctrl: true }), "\x1f");
  assert.equal(keySequence("esc", { ctrl: true }), "\x1b");
  assert.equal(keySequence("ctrl"), "");
  assert.equal(keySequence("paste"), "");
  assert.equal(keySequence("nope"), "");
});

test("paste: line ends become Enter; bracketed when the program asked, with no marker of its own", () => {
  assert.equal(pasteData("a\nb\r\nc"), "a\rb\rc");
  assert.equal(pasteData("ls", { bracketed: true }), "\x1b[200~ls\x1b[201~");
  assert.equal(pasteData("x\x1b[201~rm -rf ~\n", { bracketed: true }), "\x1b[200~xrm -rf ~\r\x1b[201~");
  assert.equal(pasteData(null), "");
});

// --- TerminalFeed, with the vendored xterm.js ----------------------------------------------

function feedOn(options = { cols: 20, rows: 5 }) {
  const term = new Terminal(options);
  const keys = [];
  const answers = [];
  const feed = new TerminalFeed({ term, onKeys: (d) => keys.push(d), onAnswer: (d) => answers.push(d) });
  return { term, feed, keys, answers };
}

/** Waits until xterm has parsed everything written (its write queue runs on timers). */
async function settle(feed) {
  for (let i = 0; i < 200 && !feed.idle; i += 1) await new Promise((r) => setTimeout(r, 5));
  assert.equal(feed.idle, true, "xterm parsed everything");
}

test("the vendored bundle is xterm.js 3.8.1", () => {
  assert.equal(version, "3.8.1");
  assert.equal(typeof Terminal, "function");
  assert.equal(typeof Terminal.prototype.proposeGeometry, "function", "the fit addon is applied");
});

test("output records reach the terminal, a character split across two records whole", async () => {
  const { feed } = feedOn();
  const bytes = Buffer.from("hello-42 €uro\r\nnext");
  assert.equal(feed.apply({ _seq: 1, type: "terminal.output", data: bytes.subarray(0, 11).toString("base64") }), true);
  feed.apply({ _seq: 2, type: "terminal.output", data: bytes.subarray(11).toString("base64") });
  feed.apply({ _seq: 3, type: "terminal.output", data: "%%% not base64" });
  assert.equal(feed.apply({ _seq: 4, type: "agent_start" }), false);
  await settle(feed);
  assert.equal(feed.text(), "hello-42 €uro\nnext");
  assert.equal(feed.bytes, bytes.length);
});

test("a size record applies after the output before it, in order", async () => {
  const { term, feed } = feedOn({ cols: 10, rows: 3 });
  feed.apply({ type: "terminal.output", data: b64("0123456789abcdef") });
  feed.apply({ type: "terminal.size", cols: 30, rows: 4 });
  feed.apply({ type: "terminal.output", data: b64("\r\n0123456789abcdef") });
  assert.equal(term.cols, 10, "not before xterm reaches it");
  await settle(feed);
  assert.deepEqual([term.cols, term.rows], [30, 4]);
  // Wrapped at 10 columns before the resize, not after.
  assert.equal(feed.text(), "0123456789\nabcdef\n0123456789abcdef");
  // Narrower: the text is cut at the new width (xterm keeps the cells past it).
  feed.apply({ type: "terminal.size", cols: 5, rows: 4 });
  await settle(feed);
  assert.equal(feed.text(), "01234\nabcde\n01234");
  assert.deepEqual(feed.screen().length, 4);
  feed.apply({ type: "terminal.size", cols: 30, rows: 4 });
  feed.apply({ type: "terminal.size", cols: 0, rows: 4 });
  await settle(feed);
  assert.deepEqual([term.cols, term.rows], [30, 4], "an invalid size changes nothing");
});

test("the terminal's answers: sent for live output, dropped for replayed output; typing goes to onKeys", async () => {
  const { term, feed, keys, answers } = feedOn();
  // A device-attributes query in the replayed scrollback: answered long ago.
  feed.apply({ _seq: 1, type: "terminal.output", data: b64("old\x1b[c\r\n") }, { live: false });
  await settle(feed);
  assert.deepEqual(answers, []);
  feed.apply({ _seq: 2, type: "terminal.output", data: b64("\x1b[c") }, { live: true });
  await settle(feed);
  assert.deepEqual(answers, ["\x1b[?1;2c"]);
  term._core.handler("typed");
  assert.deepEqual(keys, ["typed"]);
  // Application cursor mode is read from the terminal for the key bar.
  assert.equal(feed.applicationCursor, false);
  feed.apply({ type: "terminal.output", data: b64("\x1b[?1h\x1b[?2004h") });
  await settle(feed);
  assert.equal(feed.applicationCursor, true);
  assert.equal(feed.bracketedPaste, true);
});

test("reset clears the screen and a partial character; the screen's rows are readable", async () => {
  const { feed } = feedOn({ cols: 20, rows: 3 });
  feed.apply({ type: "terminal.output", data: Buffer.from([0x61, 0xe2, 0x82]).toString("base64") });
  await settle(feed);
  feed.reset();
  feed.apply({ type: "terminal.output", data: b64("\x1b[2;3Hbox") });
  await settle(feed);
  assert.deepEqual(feed.screen(), ["", "  box", ""]);
  assert.equal(feed.text(), "\n  box");
  feed.dispose();
});

// --- the session screen hands over to the terminal screen ------------------------------------

test("a terminal session's screen: the session screen hands over, at most twice per route", () => {
  const made = [];
  const make = (kind) => (options) => {
    const s = { kind, options, id: options.sessionId, mount() {}, destroy() { this.destroyed = true; } };
    made.push(s);
    return s;
  };
  const router = new EventTarget();
  const app = new App({ root: {}, api: new EventTarget(), attention: {}, router, win: { scrollTo() {} },
    screens: { list: make("list"), session: make("session"), terminal: make("terminal") } });
  router.dispatchEvent(new CustomEvent("route", { detail: { name: "session", id: "0123456789ab" } }));
  const summary = { id: "0123456789ab", agent: "terminal", status: "running" };
  assert.equal(made[0].options.onTerminal(summary), true);
  assert.deepEqual(made.map((s) => s.kind), ["session", "terminal"]);
  assert.equal(made[0].destroyed, true);
  assert.equal(made[1].options.summary, summary, "the summary is not asked again");
  assert.equal(app.screen, "terminal");
  // The same route again keeps the terminal screen.
  router.dispatchEvent(new CustomEvent("route", { detail: { name: "session", id: "0123456789ab" } }));
  assert.equal(made.length, 2);
  // Answers that disagree cannot loop.
  assert.equal(made[1].options.onStructured(), true);
  assert.equal(made[2].options.onTerminal(summary), false);
  assert.deepEqual(made.map((s) => s.kind), ["session", "terminal", "session"]);
  // A stale screen's hand-over is ignored.
  assert.equal(made[0].options.onTerminal(summary), false);
});

// --- the vendored bundle is what make-bundle.mjs makes from Debian's packages ----------------

const NODE_XTERM = "/usr/share/nodejs/xterm/lib/public/Terminal.js";
const FIT = "/usr/share/javascript/xterm/addons/fit/fit.js";

test("vendor/xterm/xterm.js is make-bundle.mjs's output from Debian's node-xterm and libjs-xterm", () => {
  // scripts/test installs both (its deps stage): without them this fails rather than skips.
  assert.ok(existsSync(NODE_XTERM) && existsSync(FIT), "node-xterm / libjs-xterm not installed: apt-get install -y node-xterm libjs-xterm");
  const script = fileURLToPath(new URL("../vendor/xterm/make-bundle.mjs", import.meta.url));
  const built = execFileSync(process.execPath, [script], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 8 << 20 });
  const vendored = readFileSync(new URL("../vendor/xterm/xterm.js", import.meta.url), "utf8");
  assert.equal(built === vendored, true, "rebuild with: node www/vendor/xterm/make-bundle.mjs > www/vendor/xterm/xterm.js");
  const css = readFileSync(new URL("../vendor/xterm/xterm.css", import.meta.url), "utf8");
  assert.equal(css, readFileSync("/usr/share/javascript/xterm/xterm.css", "utf8"));
});
