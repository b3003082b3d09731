// Paging the stored history of a session backwards, one page at a time.
//
// `initial(boundary)` loads the last page below the live stream (records with _seq <= boundary);
// `older()` loads the page before the oldest one loaded. Resolves to false when the server has
// no event store (GET /sessions/<id>/events answers 404), so the caller can fall back.

export const PAGE_SIZE = 200;

export class History {
  constructor({ api, sessionId, transcript, pageSize = PAGE_SIZE }) {
    this.api = api;
    this.sessionId = sessionId;
    this.transcript = transcript;
    this.pageSize = pageSize;
    this.mode = "unknown"; // unknown | events | none
    this.oldest = null;
    this.exhausted = false;
    this.loading = null;
  }

  get canLoadOlder() {
    return this.mode === "events" && !this.exhausted && this.loading === null;
  }

  /** @returns {Promise<boolean>} whether the server keeps history */
  async initial(boundary) {
    if (typeof boundary !== "number" || !Number.isFinite(boundary)) {
      this.mode = "none";
      return false;
    }
    const page = await this.fetch(boundary + 1);
    if (page === null) {
      this.mode = "none";
      return false;
    }
    this.mode = "events";
    this.take(page);
    return true;
  }

  /** @returns {Promise<number>} records added (0 when there is nothing older) */
  async older() {
    if (!this.canLoadOlder) return 0;
    const page = await this.fetch(this.oldest);
    if (page === null) {
      this.exhausted = true;
      return 0;
    }
    return this.take(page);
  }

  async fetch(before) {
    if (this.loading) return this.loading;
    this.loading = this.api.events(this.sessionId, { before, limit: this.pageSize })
      .finally(() => { this.loading = null; });
    return this.loading;
  }

  take(page) {
    const records = page.filter((r) => r && typeof r === "object" && typeof r._seq === "number" &&
      (this.oldest === null || r._seq < this.oldest)).sort((a, b) => a._seq - b._seq);
    if (records.length < this.pageSize || records[0]?._seq <= 1) this.exhausted = true;
    if (records.length === 0) return 0;
    this.oldest = records[0]._seq;
    this.transcript.prepend(records);
    return records.length;
  }
}
