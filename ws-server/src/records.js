// The `records` request (contracts/realtime-events.schema.json#/$defs/recordsRequest):
// one page of the chart window's rows, sorted by the database on any column of
// the wire row. The column and direction come from a whitelist (never from the
// client's text into the SQL); id breaks ties, so the order is total and pages
// never overlap. Cost: the rows inside the window (an index range on hora,
// a sort of them), bounded by the window, never by the table.
import { serveRequests } from './requests.js';
import { ROW_COLUMNS, toWireRow } from './rows.js';
import { WINDOW_MINUTES, describe, windowStart } from './window.js';

export const SORT_COLUMNS = ROW_COLUMNS.split(', ');
export const MAX_PAGE_ROWS = 100;
export const MAX_OFFSET = 1_000_000;
const FIELDS = ['minutes', 'sort', 'order', 'offset', 'limit'];
const ORDERS = { asc: 'ASC', desc: 'DESC' };

/** The request's { minutes, sort, order, offset, limit }, or { error } saying what is wrong with it. */
export function parseRecordsRequest(request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return { error: `records: expected an object like {"minutes": 5, "sort": "hora", "order": "desc", "offset": 0, "limit": 20}, got ${describe(request)}` };
  }
  const unknown = Object.keys(request).find((key) => !FIELDS.includes(key));
  if (unknown) return { error: `records: unknown field '${unknown}' (allowed: ${FIELDS.join(', ')})` };
  const { minutes, sort, order, offset, limit } = request;
  if (!WINDOW_MINUTES.includes(minutes)) return { error: `records: minutes must be one of ${WINDOW_MINUTES.join(', ')}, got ${describe(minutes)}` };
  if (!SORT_COLUMNS.includes(sort)) return { error: `records: sort must be one of ${SORT_COLUMNS.join(', ')}, got ${describe(sort)}` };
  if (!Object.hasOwn(ORDERS, order)) return { error: `records: order must be asc or desc, got ${describe(order)}` };
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    return { error: `records: offset must be a whole number from 0 to ${MAX_OFFSET}, got ${describe(offset)}` };
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) {
    return { error: `records: limit must be a whole number from 1 to ${MAX_PAGE_ROWS}, got ${describe(limit)}` };
  }
  return { minutes, sort, order, offset, limit };
}

const WHERE = 'FROM metric_records FORCE INDEX (idx_metric_records_hora) WHERE hora BETWEEN ? AND ? AND id <= ?';

/** The page's SQL: sort and order are whitelisted by parseRecordsRequest, everything else is a placeholder. */
export function recordsSql(sort, order) {
  // A second guard: nothing outside the whitelist ever reaches the SQL text.
  if (!SORT_COLUMNS.includes(sort) || !Object.hasOwn(ORDERS, order)) throw new RangeError(`records: no such sort ${sort} ${order}`);
  return `SELECT ${ROW_COLUMNS} ${WHERE} ORDER BY ${sort} ${ORDERS[order]}, id ${ORDERS[order]} LIMIT ? OFFSET ?`;
}

/**
 * The page of the window of `minutes` (the chart's: it ends at the newest
 * record) among the rows with id <= throughId, and how many rows the window holds.
 */
export async function loadRecords(db, { minutes, sort, order, offset, limit }, throughId) {
  const reply = { minutes, sort, order, offset, limit, start: null, end: null, through_id: throughId, total: 0, rows: [] };
  const [{ newest }] = await db.query('SELECT MAX(hora) AS newest FROM metric_records');
  if (newest === null) return reply;
  const range = [windowStart(newest, minutes), newest, throughId];
  const [{ total }] = await db.query(`SELECT COUNT(*) AS total ${WHERE}`, range);
  const rows = await db.query(recordsSql(sort, order), [...range, limit, offset]);
  return { ...reply, start: range[0], end: newest, total: Number(total), rows: rows.map(toWireRow) };
}

/** Serves `records` requests on one socket (src/requests.js). */
export function serveRecords(socket, { db, stream, perConnection, log }) {
  serveRequests(socket, 'records', {
    parse: parseRecordsRequest,
    load: (request, cursor) => loadRecords(db, request, cursor),
    summarize: (reply) => ({ total: reply.total }),
    stream,
    perConnection,
    log,
  });
}
