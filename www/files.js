// Paths of the file browser (relative to the session's cwd, "/"-separated): breadcrumbs,
// parent and child paths, sizes. Pure. The server decides what is inside the session's
// directory; nothing here is a security check.

/** "a//b/./c/" → "a/b/c"; "" is the session's directory. `..` is kept for the server to judge. */
export function normalizePath(path) {
  return String(path ?? "").split("/").filter((p) => p !== "" && p !== ".").join("/");
}

export function childPath(dir, name) {
  const d = normalizePath(dir);
  return d ? `${d}/${name}` : String(name);
}

/** The directory above `path` ("" above a top-level entry), or null at the top. */
export function parentPath(path) {
  const parts = normalizePath(path).split("/").filter(Boolean);
  if (parts.length === 0) return null;
  return parts.slice(0, -1).join("/");
}

/**
 * The way back up: the session's directory, then one crumb per directory of `path`.
 * @param {string} path
 * @param {string} rootLabel  what the session's directory is called (its last path component)
 * @returns {Array<{label: string, path: string}>}
 */
export function breadcrumbs(path, rootLabel = "Files") {
  const crumbs = [{ label: rootLabel || "Files", path: "" }];
  let at = "";
  for (const part of normalizePath(path).split("/").filter(Boolean)) {
    at = at ? `${at}/${part}` : part;
    crumbs.push({ label: part, path: at });
  }
  return crumbs;
}

/** The last component of an absolute path ("/home/me/repo/" → "repo"). */
export function baseName(path) {
  const parts = String(path ?? "").split("/").filter(Boolean);
  return parts.length ? parts[parts.length - 1] : "";
}

/** "0 B", "812 B", "1.4 KB", "23 KB", "1.1 MB" (1 KB = 1024 bytes). */
export function formatSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = bytes, u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u += 1; }
  if (u === 0) return `${n} B`;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}
