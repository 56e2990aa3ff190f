// The `window` request: the whole chart window from the database, one bucket
// per interval with AVG/MIN/MAX, checked against the values the test stored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, emptyTable, startServer, validators, waitFor } from './helpers.js';
import { WINDOW_SQL, intervalSeconds } from '../src/window.js';

const BASE = Date.parse('2026-03-01T10:00:00Z');
const COLUMNS = ['route', 'total_ram', 'ram_libre', 'uso_ram', 'porcentaje_ram', 'porcentaje_cpu_uso',
  'porcentaje_cpu_libre', 'procesos_corriendo', 'total_procesos', 'procesos_durmiendo', 'procesos_zombie',
  'procesos_parados', 'hora'];

const hora = (millis) => new Date(millis).toISOString().slice(0, 19).replace('T', ' ');

/** Ten minutes of readings, one every 2 s, with values that differ inside every bucket. */
function tenMinutes() {
  return Array.from({ length: 300 }, (_, i) => {
    const ram = 40 + (i % 7) + ((i * 37) % 100) / 100;
    const cpu = 10 + (i % 11) * 3.5 + ((i * 53) % 100) / 100;
    return { ram: Math.round(ram * 100) / 100, cpu: Math.round(cpu * 100) / 100, millis: BASE + i * 2000 };
  });
}

async function store(db, readings) {
  const values = readings.map(({ ram, cpu, millis }, i) => [i % 2 ? 'node' : 'python', 16000, 4_000_000_000, 8000, ram, cpu,
    Math.round((100 - cpu) * 100) / 100, 2, 300, 298, 0, 0, hora(millis)]);
  await db.query(`INSERT INTO metric_records (${COLUMNS.join(', ')}) VALUES ?`, [values]);
}

/** What the buckets must be, computed here from the stored readings. */
function expectedBuckets(readings, minutes) {
  const interval = intervalSeconds(minutes);
  const newest = Math.max(...readings.map((r) => r.millis)) / 1000;
  const last = Math.floor(newest / interval);
  const first = last - (minutes * 60) / interval + 1;
  const buckets = new Map();
  for (const { ram, cpu, millis } of readings) {
    const index = Math.floor(millis / 1000 / interval);
    if (index < first || index > last) continue;
    const bucket = buckets.get(index) ?? { n: 0, ram: [], cpu: [] };
    bucket.n += 1;
    bucket.ram.push(ram);
    bucket.cpu.push(cpu);
    buckets.set(index, bucket);
  }
  const stats = (values) => ({ avg: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) });
  return {
    start: hora(first * interval * 1000),
    buckets: [...buckets.entries()].sort(([a], [b]) => a - b).map(([index, b]) => ({
      t: hora(index * interval * 1000), n: b.n, porcentaje_ram: stats(b.ram), porcentaje_cpu_uso: stats(b.cpu),
    })),
  };
}

function assertBucketsMatch(actual, expected, label) {
  assert.equal(actual.length, expected.length, `${label}: bucket count`);
  actual.forEach((bucket, i) => {
    const want = expected[i];
    assert.equal(bucket.t, want.t, `${label}: bucket ${i} start`);
    assert.equal(bucket.n, want.n, `${label}: bucket ${bucket.t} rows`);
    for (const field of ['porcentaje_ram', 'porcentaje_cpu_uso']) {
      // AVG of a DECIMAL(5,2) comes back with 6 decimals.
      assert.ok(Math.abs(bucket[field].avg - want[field].avg) < 1e-6, `${label}: ${bucket.t} ${field} avg ${bucket[field].avg} vs ${want[field].avg}`);
      assert.equal(bucket[field].min, want[field].min, `${label}: ${bucket.t} ${field} min`);
      assert.equal(bucket[field].max, want[field].max, `${label}: ${bucket.t} ${field} max`);
    }
  });
}

function ask(viewer, request) {
  return viewer.socket.timeout(5000).emitWithAck('window', request);
}

test('window: every window size answers per-interval AVG/MIN/MAX of the stored rows, ending at the newest record', async (t) => {
  const db = await emptyTable(t);
  const readings = tenMinutes();
  // Two hours older: in the table, in no window.
  await store(db, readings.slice(0, 20).map((r) => ({ ...r, millis: r.millis - 2 * 3600_000 })));
  await store(db, readings);
  const [[{ maxId }]] = await db.query('SELECT MAX(id) AS maxId FROM metric_records');

  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  const newest = hora(readings.at(-1).millis);
  for (const [minutes, interval, maxBuckets] of [[1, 1, 60], [5, 1, 300], [15, 3, 300], [60, 12, 300]]) {
    const reply = await ask(viewer, { minutes });
    assert.ok(validators.windowData(reply), `${minutes} min: ${JSON.stringify(validators.windowData.errors)}`);
    const expected = expectedBuckets(readings, minutes);
    assert.equal(reply.minutes, minutes);
    assert.equal(reply.interval_seconds, interval);
    assert.equal(reply.end, newest, `${minutes} min: the window ends at the newest record`);
    assert.equal(reply.start, expected.start);
    assert.equal(reply.through_id, Number(maxId));
    assert.ok(reply.buckets.length <= maxBuckets);
    assertBucketsMatch(reply.buckets, expected.buckets, `${minutes} min`);
  }
  // The 15-minute window holds all ten minutes: every reading, in 200 buckets of 3 s.
  const fifteen = await ask(viewer, { minutes: 15 });
  assert.equal(fifteen.buckets.reduce((sum, b) => sum + b.n, 0), readings.length);
  assert.equal(fifteen.buckets.length, 200);
  assert.deepEqual(viewer.invalid, []);
});

test('window: the reply holds the rows up to through_id, and newer rows come as metrics above it', async (t) => {
  const db = await emptyTable(t);
  const readings = tenMinutes();
  await store(db, readings);
  const ws = await startServer(t, { TICK_MS: '50' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  const before = await ask(viewer, { minutes: 5 });
  await store(db, [{ ram: 99.99, cpu: 1.11, millis: readings.at(-1).millis + 1000 }]);
  await waitFor('the new row as metrics', () => viewer.lastId > before.through_id);
  const after = await ask(viewer, { minutes: 5 });
  assert.equal(after.through_id, viewer.lastId);
  assert.equal(after.end, hora(readings.at(-1).millis + 1000));
  assert.deepEqual(after.buckets.at(-1), {
    t: after.end, n: 1, porcentaje_ram: { avg: 99.99, min: 99.99, max: 99.99 }, porcentaje_cpu_uso: { avg: 1.11, min: 1.11, max: 1.11 },
  });
});

test('window: an empty table gives an empty window', async (t) => {
  await emptyTable(t);
  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);
  const reply = await ask(viewer, { minutes: 60 });
  assert.deepEqual(reply, { minutes: 60, interval_seconds: 12, start: null, end: null, through_id: 0, buckets: [] });
  assert.ok(validators.windowData(reply));
});

test('window: bad requests get a clear error, and a third request while two run is refused', async (t) => {
  const db = await emptyTable(t);
  await store(db, tenMinutes());
  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  const cases = [
    [{ minutes: 7 }, 'window: minutes must be one of 1, 5, 15, 60, got 7'],
    [{ minutes: '5' }, 'window: minutes must be one of 1, 5, 15, 60, got "5"'],
    [{}, 'window: minutes must be one of 1, 5, 15, 60, got nothing'],
    [{ minutes: 5, end: 'now' }, "window: unknown field 'end' (only 'minutes' is allowed)"],
    [5, 'window: expected an object like {"minutes": 5}, got 5'],
    [null, 'window: expected an object like {"minutes": 5}, got null'],
  ];
  for (const [request, error] of cases) {
    assert.ok(!validators.windowRequest(request), `${JSON.stringify(request)} is not a valid request by the contract either`);
    const reply = await ask(viewer, request);
    assert.deepEqual(reply, { error });
    assert.ok(validators.windowReply(reply));
  }
  const noRequest = await viewer.socket.timeout(5000).emitWithAck('window');
  assert.deepEqual(noRequest, { error: 'window: expected an object like {"minutes": 5}, got nothing' });

  // REQUESTS_PER_CONNECTION (2), `window` and `records` together: a third while two run is refused.
  const records = viewer.socket.timeout(5000).emitWithAck('records', { minutes: 60, sort: 'id', order: 'asc', offset: 0, limit: 5 });
  const [first, second] = await Promise.all([ask(viewer, { minutes: 60 }), ask(viewer, { minutes: 1 })]);
  assert.equal(first.minutes, 60);
  assert.deepEqual(second, { error: 'window: 2 request(s) of this connection still running (REQUESTS_PER_CONNECTION); wait for an answer' });
  assert.ok(validators.recordsData(await records));

  // Without an ack there is nobody to answer: logged, and the connection goes on.
  viewer.socket.emit('window', { minutes: 5 });
  await waitFor('the warning', () => ws.logs.some((l) => l.msg.startsWith('window request without an acknowledgement')));
  assert.equal((await ask(viewer, { minutes: 5 })).minutes, 5);
});

test('window: without a database the answer says why', async (t) => {
  // Nothing listens on port 9: the stream never initializes.
  const ws = await startServer(t, { TICK_MS: '100', DB_PORT: '9', DB_TIMEOUT_MS: '500' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('status down', () => viewer.statuses.some((s) => s.database === 'down'));
  const reply = await ask(viewer, { minutes: 5 });
  assert.equal(reply.error, 'window: the stream is not ready yet (database unreachable; retrying)');
  assert.ok(validators.windowError(reply));
});

test('window: the GROUP BY reads a range of idx_metric_records_hora, not the table', async (t) => {
  const db = await emptyTable(t);
  const readings = tenMinutes();
  // A day of older rows around the ten minutes: the window is a small part of the table.
  await store(db, Array.from({ length: 5000 }, (_, i) => ({ ram: 50, cpu: 50, millis: BASE - (i + 1) * 17_000 })));
  await store(db, readings);
  await db.query('ANALYZE TABLE metric_records');
  const [plan] = await db.query(`EXPLAIN ${WINDOW_SQL}`, [3, hora(BASE), hora(readings.at(-1).millis), 1e9]);
  assert.equal(plan.length, 1);
  assert.equal(plan[0].key, 'idx_metric_records_hora', JSON.stringify(plan[0]));
  assert.equal(plan[0].type, 'range');
});
