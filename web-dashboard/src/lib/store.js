// The dashboard's state, kept outside React: socket events mutate it as they
// arrive, and subscribers are told at most once per animation frame, so a burst
// of events costs one render. Each getter returns a value that stays identical
// until that part changes, which lets useSyncExternalStore re-render only the
// components whose slice changed.
import { ChartWindow } from './chartWindow.js';
import { mergeComparison } from './comparison.js';
import { RingBuffer } from './ringBuffer.js';
import { horaToMillis } from './rows.js';

export const WINDOW_CHOICES_MINUTES = [1, 5, 15, 60];
export const DEFAULT_WINDOW_MINUTES = 5;
/** Rows older (by `hora`) than the newest minus this are dropped: the widest window. */
export const MAX_AGE_MS = Math.max(...WINDOW_CHOICES_MINUTES) * 60_000;
/** Rows per page of the window's records table. */
export const RECORDS_PAGE_ROWS = 20;
/** Hard cap on rows held: an hour at 1 Hz twice over. */
export const DEFAULT_MAX_ROWS = 7200;

function scheduleOnNextFrame(callback) {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
    requestAnimationFrame(callback);
  } else {
    // A hidden tab gets no animation frames; keep the state current anyway.
    setTimeout(callback, 50);
  }
}

export class MetricsStore {
  constructor({ maxRows = DEFAULT_MAX_ROWS, maxAgeMs = MAX_AGE_MS, schedule = scheduleOnNextFrame } = {}) {
    this.rows = new RingBuffer(maxRows);
    this.maxAgeMs = maxAgeMs;
    this.schedule = schedule;
    this.listeners = new Set();
    this.notifyPending = false;
    this.lastId = null;
    this.newestHoraMillis = NaN;
    this.rowsVersion = 0;
    this.connection = 'connecting';
    this.database = null;
    this.summary = null;
    this.comparison = null;
    this.rejectedRows = 0;
    this.windowMinutes = DEFAULT_WINDOW_MINUTES;
    // The charts' window: `loading` until ws-server answers the `window`
    // request, then `ready` with a ChartWindow that live rows keep current.
    this.chart = { minutes: this.windowMinutes, state: 'loading', window: null, error: null, revision: 0 };
    // Set by the socket wiring: asks ws-server for the window of windowMinutes.
    this.requestWindow = null;
    // The window's records table: one page, sorted and paged by ws-server's
    // database (`records` request); `page` is the last answer.
    this.records = { sort: 'id', order: 'desc', offset: 0, state: 'loading', page: null, error: null };
    this.requestRecords = null;
  }

  subscribe = (listener) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getRowsVersion = () => this.rowsVersion;
  getConnection = () => this.connection;
  getDatabase = () => this.database;
  getSummary = () => this.summary;
  getComparison = () => this.comparison;
  getChart = () => this.chart;
  getRecords = () => this.records;

  /** The window selector: the charts reload that window from the database. */
  chooseWindow(minutes) {
    if (!WINDOW_CHOICES_MINUTES.includes(minutes)) {
      throw new RangeError(`window must be one of ${WINDOW_CHOICES_MINUTES.join(', ')} minutes, got ${minutes}`);
    }
    if (minutes === this.windowMinutes) return;
    this.windowMinutes = minutes;
    this.windowLoading(minutes);
    this.requestWindow?.();
    this.#setRecords({ offset: 0 });
    this.requestRecords?.();
  }

  /** The `records` request for the table's current sort and page, in the chosen window. */
  recordsRequest() {
    const { sort, order, offset } = this.records;
    return { minutes: this.windowMinutes, sort, order, offset, limit: RECORDS_PAGE_ROWS };
  }

  /** A click on a column: sort by it (descending first), or flip the order when it already is; back to the first page. */
  sortRecords(column) {
    const order = this.records.sort === column && this.records.order === 'desc' ? 'asc' : 'desc';
    this.#setRecords({ sort: column, order, offset: 0 });
    this.requestRecords?.();
  }

  /** The page `pages` away (negative: back), within the window's records. */
  pageRecords(pages) {
    const total = this.records.page?.total ?? 0;
    const lastOffset = Math.max(0, Math.floor((total - 1) / RECORDS_PAGE_ROWS) * RECORDS_PAGE_ROWS);
    const offset = Math.min(lastOffset, Math.max(0, this.records.offset + pages * RECORDS_PAGE_ROWS));
    if (offset === this.records.offset) return;
    this.#setRecords({ offset });
    this.requestRecords?.();
  }

  recordsLoading() {
    this.#setRecords({ state: 'loading', error: null });
  }

  applyRecords(page) {
    this.#setRecords({ state: 'ready', page, error: null });
  }

  recordsFailed(error) {
    this.#setRecords({ state: 'error', error });
  }

  #setRecords(change) {
    this.records = { ...this.records, ...change };
    this.#notify();
  }

  windowLoading(minutes) {
    this.#setChart({ minutes, state: 'loading', window: null, error: null });
  }

  /** ws-server's answer (windowData), plus the rows above its through_id that arrived meanwhile. */
  applyWindow(reply) {
    if (reply.minutes !== this.windowMinutes) return;
    const window = new ChartWindow(reply);
    let first = this.rows.length;
    while (first > 0 && this.rows.at(first - 1).id > reply.through_id) first -= 1;
    for (let i = first; i < this.rows.length; i += 1) window.add(this.rows.at(i));
    this.#setChart({ minutes: reply.minutes, state: 'ready', window, error: null });
  }

  windowFailed(minutes, error) {
    this.#setChart({ minutes, state: 'error', window: null, error });
  }

  /** `history`: once per connection. When truncated, the server could not fill our gap: start over. */
  applyHistory({ rows, truncated }) {
    if (truncated) {
      this.rows.clear();
      this.lastId = null;
      this.newestHoraMillis = NaN;
    }
    this.#append(rows);
    this.rowsVersion += 1;
    this.#notify();
  }

  /** `metrics`: new rows in id order. */
  appendRows(rows) {
    if (this.#append(rows) > 0) {
      this.rowsVersion += 1;
      this.#notify();
      // The table is asked again on a click or a reload, not per row (that would be a query per
      // client per tick); only a page of an empty window is asked again when the first rows come.
      if (this.records.page?.total === 0) this.requestRecords?.();
    }
  }

  setSummary(summary) {
    this.summary = summary;
    this.#notify();
  }

  /** `comparison`: the routes' figures, and their p95 points over the widest window. */
  applyComparison(payload) {
    if (!payload || !Array.isArray(payload.routes)) return;
    this.comparison = mergeComparison(this.comparison, payload, this.maxAgeMs);
    this.#notify();
  }

  setDatabaseStatus(status) {
    this.database = status;
    this.#notify();
  }

  setConnection(connection) {
    if (connection === this.connection) return;
    this.connection = connection;
    this.#notify();
  }

  /** Runs a pending notification now (tests, and callers that cannot wait a frame). */
  flush() {
    if (!this.notifyPending) return;
    this.notifyPending = false;
    for (const listener of [...this.listeners]) listener();
  }

  #append(rows) {
    if (!Array.isArray(rows)) return 0;
    let appended = 0;
    let windowChanged = false;
    for (const row of rows) {
      const millis = horaToMillis(row?.hora);
      // A duplicate or out-of-order id would break the cursor; a row without a
      // readable time cannot be drawn. Both are skipped and counted.
      if (!Number.isInteger(row?.id) || (this.lastId !== null && row.id <= this.lastId) || Number.isNaN(millis)) {
        this.rejectedRows += 1;
        continue;
      }
      this.rows.push(row);
      this.lastId = row.id;
      if (this.chart.window?.add(row)) windowChanged = true;
      if (!(millis <= this.newestHoraMillis)) this.newestHoraMillis = millis;
      appended += 1;
    }
    this.#evictOld();
    if (windowChanged) this.chart = { ...this.chart, revision: this.chart.revision + 1 };
    return appended;
  }

  #setChart(chart) {
    this.chart = { ...chart, revision: this.chart.revision + 1 };
    this.#notify();
  }

  #evictOld() {
    const oldestAllowed = this.newestHoraMillis - this.maxAgeMs;
    while (this.rows.length > 0 && horaToMillis(this.rows.first().hora) < oldestAllowed) {
      this.rows.shift();
    }
  }

  #notify() {
    if (this.notifyPending) return;
    this.notifyPending = true;
    this.schedule(() => this.flush());
  }
}
