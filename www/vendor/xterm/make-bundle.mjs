// Builds www/vendor/xterm/xterm.js, an ES module, from Debian's xterm.js 3.8.1.
//
//   node www/vendor/xterm/make-bundle.mjs > www/vendor/xterm/xterm.js
//
// Why: Debian's libjs-xterm (bookworm, 3.8.1+~cs0.9.0-1+deb12u1) ships as
// /usr/share/javascript/xterm/xterm.js a 288-byte stub that require()s "./public/Terminal",
// which no browser can load; the compiled modules are in node-xterm
// (/usr/share/nodejs/xterm/lib, CommonJS). This script wraps each of them, and the fit addon
// of libjs-xterm, in a function of its own and links them with a small require(), so the page
// gets one same-origin file (no eval, no inline script: the page's Content-Security-Policy
// stays `script-src 'self'`). The sources are copied as they are, apart from their
// sourceMappingURL comments (the maps are not vendored).
//
// Needs: apt-get install node-xterm libjs-xterm (only to rebuild; the page uses the output).

import { readFileSync, existsSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const LIB = process.argv[2] ?? "/usr/share/nodejs/xterm/lib";
const ADDONS = process.argv[3] ?? "/usr/share/javascript/xterm/addons";
const ENTRY = "public/Terminal";
const FIT = "addons/fit/fit";

/** id ("renderer/Renderer") -> source, following require("./…") from the entry. */
const modules = new Map();

function fileOf(id) {
  return id.startsWith("addons/") ? join(ADDONS, `${id.slice("addons/".length)}.js`) : join(LIB, `${id}.js`);
}

function add(id) {
  if (modules.has(id)) return;
  const file = fileOf(id);
  if (!existsSync(file)) throw new Error(`missing module ${id} (${file})`);
  const source = readFileSync(file, "utf8").replace(/^\/\/# sourceMappingURL=.*$/gm, "");
  modules.set(id, source);
  for (const m of source.matchAll(/\brequire\((["'])([^"']+)\1\)/g)) {
    const spec = m[2];
    if (!spec.startsWith(".")) throw new Error(`${id}: external module ${spec}`);
    add(resolve(id, spec));
  }
}

function resolve(from, spec) {
  return normalize(join(dirname(from), spec)).replace(/\.js$/, "");
}

add(ENTRY);
add(FIT);

const version = JSON.parse(readFileSync(join(LIB, "..", "package.json"), "utf8")).version;
const out = [];
out.push(`// xterm.js ${version} (MIT, see LICENSE), from Debian's node-xterm and libjs-xterm (fit addon),`);
out.push("// linked into one ES module by make-bundle.mjs. Generated: do not edit.");
out.push("/* eslint-disable */");
out.push("const definitions = {");
for (const [id, source] of [...modules].sort(([a], [b]) => a.localeCompare(b))) {
  out.push(`${JSON.stringify(id)}: function (module, exports, require) {`);
  out.push(source.trimEnd());
  out.push("},");
}
out.push("};");
out.push(`const cache = Object.create(null);
function resolve(from, spec) {
  const parts = from.split("/").slice(0, -1);
  for (const part of spec.replace(/\\.js$/, "").split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}
function load(id) {
  if (cache[id]) return cache[id].exports;
  const define = definitions[id];
  if (!define) throw new Error("xterm bundle: no module " + id);
  const module = { exports: {} };
  cache[id] = module;
  define.call(module.exports, module, module.exports, (spec) => load(resolve(id, spec)));
  return module.exports;
}
const Terminal = load(${JSON.stringify(ENTRY)}).Terminal;
const fit = load(${JSON.stringify(FIT)});
Terminal.applyAddon(fit);
export const version = ${JSON.stringify(version)};
export { Terminal, fit };
export default Terminal;`);
process.stdout.write(`${out.join("\n")}\n`);
process.stderr.write(`${modules.size} modules (${relative(process.cwd(), LIB)})\n`);
