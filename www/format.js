// Small formatting helpers (pure).

export function formatCost(dollars) {
  if (typeof dollars !== "number" || !Number.isFinite(dollars) || dollars <= 0) return "$0";
  if (dollars < 0.01) return `$${dollars.toFixed(4)}`;
  if (dollars < 1) return `$${dollars.toFixed(3)}`;
  return `$${dollars.toFixed(2)}`;
}

export function formatTokens(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "0";
  if (n < 1000) return String(Math.round(n));
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function relativeTime(ms, now = Date.now()) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return s < 5 ? "just now" : `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

/** How a session exited: "exit status 3", "killed by SIGKILL". */
export function exitText({ exitCode, signal } = {}) {
  if (typeof signal === "string" && signal) return `killed by ${signal}`;
  if (typeof exitCode === "number") return `exit status ${exitCode}`;
  return "exited";
}

/** The name a session is shown under. */
export function sessionTitle(summary) {
  if (summary && typeof summary.name === "string" && summary.name.trim()) return summary.name.trim();
  return summary && summary.id ? `Session ${summary.id.slice(0, 6)}` : "Session";
}

/** Page title with an attention badge: "(2) amarre". */
export function badgeTitle(count, base) {
  return count > 0 ? `(${count > 99 ? "99+" : count}) ${base}` : base;
}
