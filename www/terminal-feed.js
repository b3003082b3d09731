// Feeds a session's terminal records to an xterm.js 3.8 Terminal, in order, and tells what the
// terminal sends back apart from what the user typed.
//
// xterm parses what it is given later (its write() queues; a timer parses), so a size change
// must wait for the output before it: every write goes through xterm's own queue with a note of
// what it is (output, live or replayed; or a resize), and the wrapped parser acts on the note
// when xterm reaches it. Answers the terminal writes to the program (device attributes, cursor
// position reports...) come out of that parser: those caused by replayed output (the kept
// scrollback, or what a reconnect catches up on) were answered long ago, or by nobody, and are
// dropped; those of live output go to the program as input.
//
// Uses xterm's internals (`_core`): its public API of 3.8 has neither a write callback nor the
// buffer's text. Node runs it with the vendored xterm (www/test/terminal.test.js).

import { OutputDecoder, base64ToBytes, sizeOf } from "./terminal.js";

export class TerminalFeed {
  /**
   * @param {object} options
   * @param {object} options.term  an xterm.js 3.8 Terminal
   * @param {(data: string) => void} options.onKeys  what the user typed (keyboard, paste by xterm)
   * @param {(data: string) => void} [options.onAnswer]  the terminal's answers to live output
   */
  constructor({ term, onKeys, onAnswer = onKeys }) {
    this.term = term;
    this.decoder = new OutputDecoder();
    /** One note per write() in xterm's queue: {live} for output, {resize: {cols, rows}}. */
    this.pending = [];
    /** While xterm parses a write: its note. */
    this.parsing = null;
    /** Bytes of output written, for tests and the status line. */
    this.bytes = 0;
    const core = term._core;
    const handler = core._inputHandler;
    const parse = handler.parse.bind(handler);
    handler.parse = (data) => {
      const note = this.pending.shift() ?? { live: true };
      if (note.resize) {
        const { cols, rows } = note.resize;
        if (term.cols !== cols || term.rows !== rows) term.resize(cols, rows);
        return;
      }
      this.parsing = note;
      try {
        parse(data);
      } finally {
        this.parsing = null;
      }
    };
    this.onData = (data) => {
      if (this.parsing) {
        if (this.parsing.live) onAnswer(data);
        return;
      }
      onKeys(data);
    };
    term.on("data", this.onData);
  }

  /**
   * A record of the session. `live`: false for a replayed one (its answers are dropped).
   * @returns {boolean} whether it was a terminal record
   */
  apply(record, { live = true } = {}) {
    if (!record || typeof record !== "object") return false;
    if (record.type === "terminal.output") {
      const bytes = base64ToBytes(record.data);
      if (!bytes) return true;
      this.bytes += bytes.length;
      this.write(this.decoder.decode(bytes), live);
      return true;
    }
    if (record.type === "terminal.size") {
      const size = sizeOf(record);
      if (size) this.resize(size);
      return true;
    }
    return false;
  }

  /** Text for the terminal, after everything queued before it. */
  write(text, live = true) {
    if (!text) return;
    this.pending.push({ live });
    this.term.write(text);
  }

  /** The program's size, after the output queued before it. */
  resize({ cols, rows }) {
    this.pending.push({ resize: { cols, rows } });
    // Any character: the wrapped parser sees the note and resizes instead of parsing it.
    this.term.write("\0");
  }

  /** Clears the terminal and forgets a partial character (a fresh replay follows). */
  reset() {
    this.pending = [];
    this.decoder.reset();
    this.term.reset();
  }

  /** The terminal's text: every line of its buffer (scrollback and screen), trailing blanks cut. */
  text() {
    const buffer = this.term._core.buffer;
    const lines = [];
    // Cut at the width: xterm 3.8 keeps the cells of a line past a narrowing resize.
    for (let i = 0; i < buffer.lines.length; i += 1) lines.push(buffer.translateBufferLineToString(i, true, 0, this.term.cols));
    while (lines.length && lines[lines.length - 1] === "") lines.pop();
    return lines.join("\n");
  }

  /** The visible screen's lines (rows of the viewport), trailing blanks of each cut. */
  screen() {
    const buffer = this.term._core.buffer;
    const lines = [];
    for (let i = 0; i < this.term.rows; i += 1) lines.push(buffer.translateBufferLineToString(buffer.ydisp + i, true, 0, this.term.cols));
    return lines;
  }

  /** Whether xterm has parsed everything written so far. */
  get idle() {
    return this.pending.length === 0;
  }

  /** Modes the program set that the key bar follows. */
  get applicationCursor() {
    return this.term._core.applicationCursor === true;
  }

  get bracketedPaste() {
    return this.term._core.bracketedPasteMode === true;
  }

  dispose() {
    this.term.off("data", this.onData);
  }
}
