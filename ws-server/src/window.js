// The `window` request (contracts/realtime-events.schema.json#/$defs/windowRequest):
// a chart's whole time window from the database, downsampled on the server to
// at most MAX_BUCKETS per-interval buckets (AVG, MIN, MAX of each chart's
// column) by one GROUP BY over idx_metric_records_hora. What it costs is
// bounded by the rows inside the window, never by the table's size. The index
// is forced: `id <= cursor` is a primary-key range too, nearly the whole table,
// and the optimizer's estimates sometimes prefer it (a full scan, measured).

import { serveRequests } from './requests.js';

export const WINDOW_MINUTES = [1, 5, 15, 60];
export const MAX_BUCKETS = 300;
const CHART_COLUMNS = ['porcentaje_ram', 'porcentaje_cpu_uso'];

/** The smallest whole number of seconds that keeps the window within MAX_BUCKETS. */
export function intervalSeconds(minutes) {
  return Math.max(1, Math.ceil((minutes * 60) / MAX_BUCKETS));
}

/** { minutes } of a valid request, or { error } saying what is wrong with it. */
export function parseWindowRequest(request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return { error: `window: expected an object like {"minutes": 5}, got ${describe(request)}` };
  }
  const unknown = Object.keys(request).filter((key) => key !== 'minutes');
  if (unknown.length > 0) return { error: `window: unknown field '${unknown[0]}' (only 'minutes' is allowed)` };
  if (!WINDOW_MINUTES.includes(request.minutes)) {
    return { error: `window: minutes must be one of ${WINDOW_MINUTES.join(', ')}, got ${describe(request.minutes)}` };
  }
  return { minutes: request.minutes };
}

export function describe(value) {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

const EPOCH = "'1970-01-01 00:00:00'";
export const WINDOW_SQL = `SELECT TIMESTAMPDIFF(SECOND, ${EPOCH}, hora) DIV ? AS bucket, COUNT(*) AS n,
  ${CHART_COLUMNS.map((c) => `AVG(${c}) AS ${c}_avg, MIN(${c}) AS ${c}_min, MAX(${c}) AS ${c}_max`).join(',\n  ')}
  FROM metric_records FORCE INDEX (idx_metric_records_hora)
  WHERE hora BETWEEN ? AND ? AND id <= ?
  GROUP BY bucket
  ORDER BY bucket`;

/**
 * The window of `minutes` that ends at the newest record (MAX(hora), read from
 * the index), with the rows whose id <= throughId: the stream's cursor, so the
 * client adds every newer row itself from `metrics`, each exactly once.
 */
export async function loadWindow(db, minutes, throughId) {
  const interval = intervalSeconds(minutes);
  const empty = { minutes, interval_seconds: interval, start: null, end: null, through_id: throughId, buckets: [] };
  const [{ newest }] = await db.query('SELECT MAX(hora) AS newest FROM metric_records');
  if (newest === null) return empty;
  const start = windowStart(newest, minutes);
  const rows = await db.query(WINDOW_SQL, [interval, start, newest, throughId]);
  return {
    ...empty,
    start,
    end: newest,
    buckets: rows.map((row) => ({
      t: horaText(Number(row.bucket) * interval),
      n: Number(row.n),
      ...Object.fromEntries(CHART_COLUMNS.map((c) => [c, { avg: row[`${c}_avg`], min: row[`${c}_min`], max: row[`${c}_max`] }])),
    })),
  };
}

/** The first bucket's start of the window of `minutes` that ends with the newest record's bucket. */
export function windowStart(newest, minutes) {
  const interval = intervalSeconds(minutes);
  const lastBucket = Math.floor(horaSeconds(newest) / interval);
  return horaText((lastBucket - (minutes * 60) / interval + 1) * interval);
}

function horaSeconds(hora) {
  return Date.parse(`${hora.replace(' ', 'T')}Z`) / 1000;
}

function horaText(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Serves `window` requests on one socket (src/requests.js). */
export function serveWindows(socket, { db, stream, perConnection, log }) {
  serveRequests(socket, 'window', {
    parse: parseWindowRequest,
    load: ({ minutes }, cursor) => loadWindow(db, minutes, cursor),
    summarize: (reply) => ({ buckets: reply.buckets.length }),
    stream,
    perConnection,
    log,
  });
}
