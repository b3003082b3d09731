// Paging the stored history of a session, one page at a time.
//
// `initial(boundary)` loads the last page below the live stream (records with _seq <= boundary);
// `older()` loads the page before the oldest one loaded. Resolves to false when the server has
// no event store (GET /sessions/<id>/events answers 404), so the caller can fall back.
//
// Opened at a record (a search result): `around(seq)` loads the page that ends with it and the
// page after it; `newer()` then pages forwards (after=) until `caughtUp`, where the live stream
// (or, for a stopped session, the end of its history) takes over.

export const PAGE_SIZE = 200;
/** Records loaded on each side of a target record, and per forward page. */
export const AROUND_PAGE_SIZE = 100;

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
    /** Forward paging (after `around`): the newest _seq loaded, and whether nothing is newer. */
    this.newest = null;
    this.caughtUp = true;
    this.loadingNewer = null;
    /** The session's lastSeq when known: a short page below it was cut by bytes, not the end. */
    this.lastKnown = null;
  }

  get canLoadNewer() {
    return this.mode === "events" && !this.caughtUp && this.loadingNewer === null;
  }

  /**
   * Loads the records up to `seq` and the page after it, in order, into the (empty) transcript.
   * @param {number} seq
   * @param {{size?: number, lastSeq?: number|null}} [options] lastSeq: the summary's
   * @returns {Promise<boolean>} whether the server keeps history
   */
  async around(seq, { size = AROUND_PAGE_SIZE, lastSeq = null } = {}) {
    this.lastKnown = typeof lastSeq === "number" ? lastSeq : null;
    const page = await this.fetch(seq + 1, size);
    if (page === null) {
      this.mode = "none";
      return false;
    }
    this.mode = "events";
    const records = ordered(page, () => true);
    if (records.length < size || records[0]?._seq <= 1) this.exhausted = true;
    if (records.length) this.oldest = records[0]._seq;
    for (const r of records) this.transcript.apply(r, { live: false });
    this.newest = records.length ? records[records.length - 1]._seq : seq;
    this.caughtUp = false;
    this.newerSize = size;
    await this.newer();
    return true;
  }

  /** @returns {Promise<number>} records added after the newest one loaded (0 at the end) */
  async newer() {
    if (!this.canLoadNewer) return 0;
    const size = this.newerSize ?? AROUND_PAGE_SIZE;
    this.loadingNewer = this.api.events(this.sessionId, { after: this.newest, limit: size });
    let page;
    try {
      page = await this.loadingNewer;
    } finally {
      this.loadingNewer = null;
    }
    if (page === null) {
      this.caughtUp = true;
      return 0;
    }
    const records = ordered(page, (s) => s > this.newest);
    if (records.length === 0) {
      this.caughtUp = true;
      return 0;
    }
    for (const r of records) this.transcript.apply(r, { live: false });
    this.newest = records[records.length - 1]._seq;
    if (page.length < size && (this.lastKnown === null || this.newest >= this.lastKnown)) this.caughtUp = true;
    return records.length;
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

  async fetch(before, limit = this.pageSize) {
    if (this.loading) return this.loading;
    this.loading = this.api.events(this.sessionId, { before, limit })
      .finally(() => { this.loading = null; });
    return this.loading;
  }

  take(page) {
    const records = ordered(page, (s) => this.oldest === null || s < this.oldest);
    if (records.length < this.pageSize || records[0]?._seq <= 1) this.exhausted = true;
    if (records.length === 0) return 0;
    this.oldest = records[0]._seq;
    this.transcript.prepend(records);
    return records.length;
  }
}

/** The records of a page with a _seq that `keep` accepts, ascending. */
function ordered(page, keep) {
  return page.filter((r) => r && typeof r === "object" && typeof r._seq === "number" && keep(r._seq))
    .sort((a, b) => a._seq - b._seq);
}
