// The session list split in two: sessions with an agent (running, crashed) and the archive
// (stopped: history kept, no agent). Pure.

/** The archive starts folded when it holds more sessions than this. */
export const ARCHIVE_OPEN_MAX = 3;

const newestFirst = (a, b) => (b.createdAt ?? b.spawnedAt ?? 0) - (a.createdAt ?? a.spawnedAt ?? 0);

/**
 * @param {Array<object>} sessions summaries from GET /sessions
 * @returns {{active: object[], archived: object[]}} each newest first
 */
export function splitArchive(sessions) {
  const active = [];
  const archived = [];
  for (const s of Array.isArray(sessions) ? sessions : []) {
    if (!s || typeof s !== "object" || typeof s.id !== "string") continue;
    (s.status === "stopped" ? archived : active).push(s);
  }
  return { active: active.sort(newestFirst), archived: archived.sort(newestFirst) };
}

/** Whether the archive heading starts folded. */
export function archiveFolded(count) {
  return count > ARCHIVE_OPEN_MAX;
}
