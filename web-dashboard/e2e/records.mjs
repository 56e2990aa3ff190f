// The browser tests' access to the e2e database (scripts/mariadb.sh sql, as
// root, against the instance e2e/run.sh started) and ws-server, and their records.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const WS_URL = `http://127.0.0.1:${process.env.WS_E2E_PORT}`;

const COLUMNS = [
  'record_id', 'route', 'total_ram', 'ram_libre', 'uso_ram', 'porcentaje_ram', 'porcentaje_cpu_uso',
  'porcentaje_cpu_libre', 'procesos_corriendo', 'total_procesos', 'procesos_durmiendo', 'procesos_zombie',
  'procesos_parados', 'hora',
];

export function sql(statements) {
  const result = spawnSync(join(ROOT, 'scripts', 'mariadb.sh'), ['sql'], { input: statements, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`mariadb.sh sql failed: ${result.stderr}`);
  return result.stdout.trim();
}

export function hora(millis) {
  return new Date(millis).toISOString().slice(0, 19).replace('T', ' ');
}

export function record({ route, ram, cpu, running = 2, sleeping = 310, zombie = 0, stopped = 0, at }) {
  const total = running + sleeping + zombie + stopped;
  return {
    record_id: null, route, total_ram: 15890, ram_libre: 2_147_483_648, uso_ram: Math.round((ram / 100) * 15890),
    porcentaje_ram: ram, porcentaje_cpu_uso: cpu, porcentaje_cpu_libre: Math.round((100 - cpu) * 100) / 100,
    procesos_corriendo: running, total_procesos: total, procesos_durmiendo: sleeping,
    procesos_zombie: zombie, procesos_parados: stopped, hora: hora(at),
  };
}

/** Inserts the records in one statement; returns the newest id. */
export function insert(records) {
  const literal = (v) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));
  const values = records.map((r) => `(${COLUMNS.map((c) => literal(r[c])).join(', ')})`).join(',\n');
  return Number(sql(`INSERT INTO metric_records (${COLUMNS.join(', ')}) VALUES\n${values};\nSELECT MAX(id) FROM metric_records;`));
}

export async function wsMetrics() {
  const text = await (await fetch(`${WS_URL}/metrics`)).text();
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
}

/** Polls `check` every 100 ms; fails after `timeoutMs` naming what it waited for. */
export async function waitUntil(what, check, timeoutMs) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Empties the table and waits until ws-server noticed (its stream starts over),
 * so that rows stored next reach it as a fresh table.
 */
export async function emptyTable() {
  const { ws_cursor_id: cursor, ws_stream_restarts_total: restarts } = await wsMetrics();
  sql('DELETE FROM metric_records;');
  if (cursor > 0) {
    await waitUntil('ws-server to notice the emptied table', async () => (await wsMetrics()).ws_stream_restarts_total > restarts, 10_000);
  }
}

/** Waits until ws-server's stream has reached the table's newest row. */
export async function streamCaughtUp(timeoutMs) {
  const newest = Number(sql('SELECT IFNULL(MAX(id), 0) FROM metric_records;'));
  await waitUntil(`ws-server's cursor to reach id ${newest}`, async () => (await wsMetrics()).ws_cursor_id === newest, timeoutMs);
}
