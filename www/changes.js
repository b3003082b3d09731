// What a GET /sessions/<id>/changes answer looks like on screen: one row per changed file
// (status letter and word, +N/−N or "binary"), and the summary line. Pure.

const STATUS = {
  added: { letter: "A", label: "added" },
  modified: { letter: "M", label: "modified" },
  deleted: { letter: "D", label: "deleted" },
  renamed: { letter: "R", label: "renamed" },
};

/** "src/app/", "main.js" from "src/app/main.js". */
export function splitPath(path) {
  const p = String(path ?? "");
  const at = p.lastIndexOf("/");
  return at === -1 ? { dir: "", name: p } : { dir: p.slice(0, at + 1), name: p.slice(at + 1) };
}

const count = (n) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/**
 * @param {{path: string, status: string, oldPath?: string, added?: number, removed?: number, binary?: boolean}} file
 */
export function changeRow(file) {
  const status = STATUS[file.status] ?? { letter: "?", label: String(file.status ?? "changed") };
  const { dir, name } = splitPath(file.path);
  const binary = file.binary === true;
  const added = binary ? 0 : count(file.added);
  const removed = binary ? 0 : count(file.removed);
  return {
    path: String(file.path ?? ""),
    dir,
    name,
    oldPath: typeof file.oldPath === "string" && file.oldPath !== file.path ? file.oldPath : null,
    status: String(file.status ?? ""),
    letter: status.letter,
    label: status.label,
    binary,
    added,
    removed,
    /** What the counts column says, and what a screen reader says for it. */
    counts: binary ? "binary" : `+${added} −${removed}`,
    countsLabel: binary ? "binary file" : `${added} ${added === 1 ? "line" : "lines"} added, ${removed} removed`,
  };
}

export function shortSha(sha) {
  return typeof sha === "string" && /^[0-9a-f]{7,}$/i.test(sha) ? sha.slice(0, 7) : String(sha ?? "");
}

/**
 * "3 files changed · +12 −4" and "since 1a2b3c4 (main)", or "No changes since …".
 * @param {{base?: string, baseRef?: string, files?: object[]}} answer
 */
export function changesSummary(answer) {
  const rows = (Array.isArray(answer?.files) ? answer.files : []).map(changeRow);
  const added = rows.reduce((n, r) => n + r.added, 0);
  const removed = rows.reduce((n, r) => n + r.removed, 0);
  const sha = shortSha(answer?.base);
  const ref = typeof answer?.baseRef === "string" && answer.baseRef && answer.baseRef !== answer?.base ? answer.baseRef : "";
  const against = sha ? `since ${sha}${ref && ref !== sha ? ` (${ref})` : ""}` : "";
  if (rows.length === 0) return { rows, added, removed, title: "No changes", against };
  return {
    rows, added, removed,
    title: `${rows.length} ${rows.length === 1 ? "file" : "files"} changed · +${added} −${removed}`,
    against,
  };
}
