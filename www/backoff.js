// Reconnect delays: 1 s, doubling, capped at 30 s; back to 1 s after a success.

export class Backoff {
  /**
   * @param {{initialMs?: number, maxMs?: number, factor?: number}} options
   */
  constructor({ initialMs = 1000, maxMs = 30_000, factor = 2 } = {}) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.attempt = 0;
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next() {
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return delay;
  }

  /** The delay `next()` would return, without counting an attempt. */
  peek() {
    return Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.attempt, 30));
  }

  /** Call after a successful connection. */
  reset() {
    this.attempt = 0;
  }
}

/**
 * What a WebSocket close code means for the session view.
 *   "ended":   1000, the session was deleted: do not reconnect.
 *   "crashed": 1011, the agent exited (a session_event came first) or the server failed:
 *              ask the REST plane before reconnecting.
 *   "retry":   anything else (1006 network loss, 1001 going away, 1013 too slow, 1012 restart...).
 */
export function closeAction(code) {
  if (code === 1000) return "ended";
  if (code === 1011) return "crashed";
  return "retry";
}
