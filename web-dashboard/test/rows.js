// Rows as ws-server sends them, checked against the contract so a change to
// contracts/realtime-events.schema.json breaks these tests.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const schema = JSON.parse(
  // A path, not a URL: under jsdom the global URL is the DOM's.
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../contracts/realtime-events.schema.json'), 'utf8'),
);
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addSchema(schema);

export function assertEvent(name, payload) {
  const validate = ajv.getSchema(`${schema.$id}#/$defs/${name}`);
  if (!validate(payload)) {
    throw new Error(`${name} does not match the contract: ${ajv.errorsText(validate.errors)}`);
  }
  return payload;
}

const BASE_MILLIS = Date.parse('2026-11-26T20:00:00Z');

export function horaAt(secondsAfterBase) {
  return new Date(BASE_MILLIS + secondsAfterBase * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Row `id`, read `second` seconds after a fixed base time. */
export function makeRow(id, { second = id, ...fields } = {}) {
  const ram = fields.porcentaje_ram ?? Math.round((40 + (id % 20)) * 100) / 100;
  const cpu = fields.porcentaje_cpu_uso ?? Math.round((10 + (id % 50)) * 100) / 100;
  return {
    id,
    record_id: null,
    route: id % 2 ? 'python' : 'node',
    total_ram: 16000,
    ram_libre: 4_000_000_000,
    uso_ram: Math.round((ram / 100) * 16000),
    porcentaje_ram: ram,
    porcentaje_cpu_uso: cpu,
    porcentaje_cpu_libre: Math.round((100 - cpu) * 100) / 100,
    procesos_corriendo: 2,
    total_procesos: 300 + (id % 7),
    procesos_durmiendo: 298 + (id % 7) - 1,
    procesos_zombie: 1,
    procesos_parados: 0,
    hora: horaAt(second),
    received_at: new Date(BASE_MILLIS + second * 1000 + 123).toISOString(),
    ...fields,
  };
}

export function makeRows(fromId, count, options = {}) {
  return Array.from({ length: count }, (_, i) => makeRow(fromId + i, options));
}

export function makeSummary({ python = 6, node = 4 } = {}) {
  const total = python + node;
  return assertEvent('summary', {
    routes: {
      python: { stored: python, records_per_second: python / 60, split_percent: total ? (python / total) * 100 : 0 },
      node: { stored: node, records_per_second: node / 60, split_percent: total ? (node / total) * 100 : 0 },
    },
    total,
    at: '2026-11-26T20:10:00.000Z',
  });
}

/** A store whose notifications run at once, for tests that render. */
export const immediately = (callback) => callback();

/**
 * ws-server's answer to `window` for these rows, computed the way the server
 * does it (buckets of the contract's width, aligned to the epoch, ending with
 * the newest row's) and checked against the contract.
 */
export function makeWindow(minutes, rows, throughId = rows.at(-1)?.id ?? 0) {
  const interval = Math.max(1, Math.ceil((minutes * 60) / 300));
  const seconds = (hora) => Date.parse(`${hora.replace(' ', 'T')}Z`) / 1000;
  const hora = (s) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const counted = rows.filter((r) => r.id <= throughId);
  if (counted.length === 0) {
    return assertEvent('windowData', { minutes, interval_seconds: interval, start: null, end: null, through_id: throughId, buckets: [] });
  }
  const newest = Math.max(...counted.map((r) => seconds(r.hora)));
  const last = Math.floor(newest / interval);
  const first = last - (minutes * 60) / interval + 1;
  const groups = new Map();
  for (const row of counted) {
    const index = Math.floor(seconds(row.hora) / interval);
    if (index < first) continue;
    groups.set(index, [...(groups.get(index) ?? []), row]);
  }
  const stats = (group, field) => {
    const values = group.map((r) => r[field]);
    return { avg: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
  };
  return assertEvent('windowData', {
    minutes,
    interval_seconds: interval,
    start: hora(first * interval),
    end: hora(newest),
    through_id: throughId,
    buckets: [...groups.keys()].sort((a, b) => a - b).map((index) => ({
      t: hora(index * interval),
      n: groups.get(index).length,
      porcentaje_ram: stats(groups.get(index), 'porcentaje_ram'),
      porcentaje_cpu_uso: stats(groups.get(index), 'porcentaje_cpu_uso'),
    })),
  });
}

/** A `comparison` event of two routes, checked against the contract; `points` per route: [[at, p95_ms, requests]]. */
export function makeComparison({ replace = false, at = '2026-11-26T20:10:00.000Z', points = {}, enabled = true, down = {} } = {}) {
  const route = (name, requests, p95, split) => ({
    route: name,
    up: !down[name],
    ...(down[name] ? { error: down[name] } : {}),
    scraped_at: at,
    requests,
    success_percent: name === 'python' ? 83.33333333333333 : 100,
    p50_ms: 3.75,
    p95_ms: p95,
    p99_ms: null,
    records_per_second: name === 'python' ? 12.3456 : null,
    split_percent: split,
    p95_points: (points[name] ?? []).map(([pointAt, p95Ms, n]) => ({ at: pointAt, p95_ms: p95Ms, requests: n })),
  });
  return assertEvent('comparison', enabled
    ? { enabled, interval_ms: 5000, at, replace, routes: [route('python', 12, 16, 63.15789473684211), route('node', 7, 5000, 36.84210526315789)] }
    : { enabled, interval_ms: 5000, at: null, replace: true, routes: [] });
}
