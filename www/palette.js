// The composer's "/" palette: the agent's commands (get_commands), filtered as the user types.
// Pure; views/palette-view.js shows it, the composer drives it.

/** Entries shown at most. */
export const PALETTE_LIMIT = 50;

/**
 * The agent's commands as the palette lists them: [{name, description, source}], names without
 * the leading "/", each once, in the agent's order. Anything malformed is skipped.
 * @param {unknown} data  get_commands' `data` ({commands:[…]}) or the array itself
 */
export function normalizeCommands(data) {
  const list = Array.isArray(data) ? data : Array.isArray(data?.commands) ? data.commands : [];
  const seen = new Set();
  const out = [];
  for (const c of list) {
    const raw = typeof c === "string" ? c : typeof c?.name === "string" ? c.name : "";
    const name = raw.trim().replace(/^\/+/, "");
    if (!name || /\s/.test(name) || name.length > 200 || seen.has(name)) continue;
    seen.add(name);
    out.push({
      name,
      description: typeof c?.description === "string" ? c.description.slice(0, 300) : "",
      source: typeof c?.source === "string" ? c.source : "",
    });
    if (out.length >= 2000) break;
  }
  return out;
}

/**
 * The palette's query while the composer holds only "/<word>" (the command's name being
 * typed); null once there is a space (its arguments) or no leading "/".
 */
export function paletteQuery(value) {
  const m = /^\/(\S*)$/.exec(String(value ?? ""));
  return m ? m[1] : null;
}

/**
 * The commands matching `query`: names that start with it first, then names that contain it,
 * then names with its letters in order, then descriptions that contain it; the agent's order
 * within each group. Case-insensitive.
 */
export function filterCommands(commands, query, limit = PALETTE_LIMIT) {
  const q = String(query ?? "").toLowerCase();
  if (!q) return commands.slice(0, limit);
  const scored = [];
  commands.forEach((c, index) => {
    const name = c.name.toLowerCase();
    let score = -1;
    if (name.startsWith(q)) score = 0;
    else if (name.includes(q)) score = 1;
    else if (subsequence(q, name)) score = 2;
    else if (c.description.toLowerCase().includes(q)) score = 3;
    if (score >= 0) scored.push({ c, score, index });
  });
  scored.sort((a, b) => a.score - b.score || a.index - b.index);
  return scored.slice(0, limit).map((s) => s.c);
}

function subsequence(needle, hay) {
  let i = 0;
  for (const ch of hay) if (ch === needle[i] && ++i === needle.length) return true;
  return false;
}

/** What choosing a command leaves in the composer: "/name " ready for its arguments. */
export function commandText(name) {
  return `/${name} `;
}

/** The next highlighted entry after a ↑ (-1) or ↓ (+1), wrapping; -1 when the list is empty. */
export function moveActive(active, delta, count) {
  if (count <= 0) return -1;
  if (active < 0) return delta > 0 ? 0 : count - 1;
  return (active + delta + count) % count;
}
