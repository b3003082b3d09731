import { test } from "node:test";
import assert from "node:assert/strict";
import { commandText, filterCommands, moveActive, normalizeCommands, paletteQuery } from "../palette.js";

const COMMANDS = normalizeCommands({
  commands: [
    { name: "compact", description: "Clear conversation history but keep a summary", source: "builtin" },
    { name: "/review", description: "Review a pull request" },
    { name: "fake-hello", description: "Say hello", source: "extension" },
    { name: "skill:commit-message", description: "Write the commit message" },
    "model",
    { name: "compact" },
    { name: "has space" },
    { name: "" },
    { description: "no name" },
    null,
  ],
});

test("commands: names without the slash, each once, malformed ones skipped, the agent's order", () => {
  assert.deepEqual(COMMANDS.map((c) => c.name), ["compact", "review", "fake-hello", "skill:commit-message", "model"]);
  assert.deepEqual(COMMANDS[0], { name: "compact", description: "Clear conversation history but keep a summary", source: "builtin" });
  assert.deepEqual(COMMANDS[4], { name: "model", description: "", source: "" });
  assert.deepEqual(normalizeCommands(undefined), []);
  assert.deepEqual(normalizeCommands({ commands: "nope" }), []);
  assert.deepEqual(normalizeCommands([{ name: "x" }]).map((c) => c.name), ["x"], "the array itself");
});

test("the palette is open while the box holds only /word", () => {
  assert.equal(paletteQuery("/"), "");
  assert.equal(paletteQuery("/comp"), "comp");
  assert.equal(paletteQuery("/compact "), null, "arguments being typed");
  assert.equal(paletteQuery("hello /x"), null);
  assert.equal(paletteQuery(" /x"), null);
  assert.equal(paletteQuery(""), null);
  assert.equal(paletteQuery("/a\nb"), null);
});

test("filtering: prefix, then substring, then letters in order, then the description", () => {
  const names = (q) => filterCommands(COMMANDS, q).map((c) => c.name);
  assert.deepEqual(names(""), ["compact", "review", "fake-hello", "skill:commit-message", "model"]);
  assert.deepEqual(names("co"), ["compact", "skill:commit-message"]);
  assert.deepEqual(names("CO"), ["compact", "skill:commit-message"], "case-insensitive");
  assert.deepEqual(names("hello"), ["fake-hello"]);
  assert.deepEqual(names("fh"), ["fake-hello"], "letters in order");
  assert.deepEqual(names("pull"), ["review"], "from the description");
  assert.deepEqual(names("zzz"), []);
  assert.deepEqual(names("m"), ["model", "compact", "skill:commit-message"], "a name that starts with it first");
  assert.equal(filterCommands(COMMANDS, "", 2).length, 2, "bounded");
});

test("choosing leaves /name and a space for the arguments", () => {
  assert.equal(commandText("compact"), "/compact ");
});

test("arrow keys move the highlight and wrap", () => {
  assert.equal(moveActive(-1, 1, 3), 0);
  assert.equal(moveActive(-1, -1, 3), 2);
  assert.equal(moveActive(0, 1, 3), 1);
  assert.equal(moveActive(2, 1, 3), 0);
  assert.equal(moveActive(0, -1, 3), 2);
  assert.equal(moveActive(0, 1, 0), -1);
});
