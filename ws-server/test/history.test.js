import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, emptyTable, insertRows, rootSql, startServer, waitFor } from './helpers.js';

test('history: the newest 300 rows oldest first, then only newer rows; every event valid', async (t) => {
  const db = await emptyTable(t);
  const ids = [...(await insertRows(db, 200, 'python')), ...(await insertRows(db, 150, 'node'))];

  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1 && viewer.summaries.length > 0);

  assert.deepEqual(viewer.events.slice(0, 2), ['status', 'history']);
  assert.equal(viewer.statuses[0].database, 'up');
  const [history] = viewer.histories;
  assert.deepEqual(history.rows.map((r) => r.id), ids.slice(-300));
  assert.equal(history.truncated, true, 'older rows than the 300 exist');

  const summary = viewer.summaries.at(-1);
  assert.equal(summary.total, 350);
  assert.deepEqual(summary.routes.python, { stored: 200, records_per_second: 3.333, split_percent: 57.14 });
  assert.deepEqual(summary.routes.node, { stored: 150, records_per_second: 2.5, split_percent: 42.86 });

  // Column conversions: DECIMAL -> number, DATETIME -> the contract's text forms.
  const [inserted] = await db.query(
    `INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram, porcentaje_ram,
      porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,
      procesos_zombie, procesos_parados, hora, received_at)
     VALUES ('0b3c2a52-8a4e-4b7e-9b1f-0d6a3f1e2c11', 'node', 15990, 9007199254740991, 7000, 43.78,
      12.05, 87.95, 3, 410, 400, 2, 5, '2025-10-17 02:21:54', '2025-10-17 02:21:54.1')`,
  );
  const newer = await insertRows(db, 4);
  const expectedNew = [Number(inserted.insertId), ...newer];
  await waitFor('5 new rows', () => viewer.ids.length === 305);
  assert.deepEqual(viewer.ids.slice(300), expectedNew);
  assert.deepEqual(viewer.ids.slice(0, 300), ids.slice(-300));

  const special = await new Promise((resolve) => {
    const probe = client(ws.url, { lastId: expectedNew[0] - 1 });
    probe.socket.on('history', (h) => {
      probe.close();
      resolve(h.rows[0]);
    });
  });
  assert.deepEqual(special, {
    id: expectedNew[0],
    record_id: '0b3c2a52-8a4e-4b7e-9b1f-0d6a3f1e2c11',
    route: 'node',
    total_ram: 15990,
    ram_libre: 9007199254740991,
    uso_ram: 7000,
    porcentaje_ram: 43.78,
    porcentaje_cpu_uso: 12.05,
    porcentaje_cpu_libre: 87.95,
    procesos_corriendo: 3,
    total_procesos: 410,
    procesos_durmiendo: 400,
    procesos_zombie: 2,
    procesos_parados: 5,
    hora: '2025-10-17 02:21:54',
    received_at: '2025-10-17T02:21:54.100Z',
  });

  await waitFor('summary with the new rows', () => viewer.summaries.at(-1).total === 355);
  assert.equal(viewer.summaries.at(-1).routes.node.stored, 153);
  assert.deepEqual(viewer.invalid, []);
});

test('history: a client with lastId gets exactly the rows after it; an empty table gives an empty history', async (t) => {
  const db = await emptyTable(t);

  const ws = await startServer(t, { TICK_MS: '100', HISTORY_LIMIT: '20' });
  const first = client(ws.url);
  t.after(() => first.close());
  await waitFor('empty history', () => first.histories.length === 1);
  assert.deepEqual(first.histories[0], { rows: [], truncated: false });
  assert.deepEqual(first.summaries[0].routes.python, { stored: 0, records_per_second: 0, split_percent: 0 });

  const ids = await insertRows(db, 30);
  await waitFor('30 live rows', () => first.ids.length === 30);
  assert.deepEqual(first.ids, ids);

  const returning = client(ws.url, { lastId: ids[24] });
  t.after(() => returning.close());
  await waitFor('catch-up history', () => returning.histories.length === 1);
  assert.deepEqual(returning.histories[0], {
    rows: returning.histories[0].rows,
    truncated: false,
  });
  assert.deepEqual(returning.histories[0].rows.map((r) => r.id), ids.slice(25));

  const fresh = client(ws.url);
  t.after(() => fresh.close());
  await waitFor('fresh history', () => fresh.histories.length === 1);
  assert.deepEqual(fresh.histories[0].rows.map((r) => r.id), ids.slice(-20));
  assert.equal(fresh.histories[0].truncated, true);

  // A lastId beyond every id in the table names rows that are gone (the table
  // was emptied): a fresh history, marked truncated so the client drops its own.
  const stale = client(ws.url, { lastId: ids.at(-1) + 1000 });
  t.after(() => stale.close());
  await waitFor('history for a stale lastId', () => stale.histories.length === 1);
  assert.equal(stale.histories[0].truncated, true);
  assert.deepEqual(stale.histories[0].rows.map((r) => r.id), ids.slice(-20));
  const more = await insertRows(db, 5);
  await waitFor('everyone has the 5 rows', () => first.ids.length === 35 && fresh.ids.length === 25 && stale.ids.length === 25);
  assert.deepEqual(first.ids, [...ids, ...more]);
  assert.deepEqual(stale.ids, [...ids.slice(-20), ...more]);

  for (const c of [first, returning, fresh, stale]) assert.deepEqual(c.invalid, []);
});

test('summary: records per second count only the last minute and fall as rows age out', async (t) => {
  const db = await emptyTable(t);
  const ids = await insertRows(db, 9, 'python');
  // Three rows from long ago, six that leave the 60 s window about 2 s from now.
  await rootSql(`UPDATE metric_records SET received_at = UTC_TIMESTAMP(3) - INTERVAL 2 HOUR WHERE id IN (${ids.slice(0, 3).join(',')})`);
  await rootSql(`UPDATE metric_records SET received_at = UTC_TIMESTAMP(3) - INTERVAL 58 SECOND WHERE id IN (${ids.slice(3).join(',')})`);
  await insertRows(db, 3, 'node');

  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('first summary', () => viewer.summaries.length > 0);
  assert.deepEqual(viewer.summaries[0].routes, {
    python: { stored: 9, records_per_second: 0.1, split_percent: 75 },
    node: { stored: 3, records_per_second: 0.05, split_percent: 25 },
  });
  await waitFor('python rows aged out', () => viewer.summaries.at(-1).routes.python.records_per_second === 0, 10000);
  assert.deepEqual(viewer.summaries.at(-1).routes.node, { stored: 3, records_per_second: 0.05, split_percent: 25 });
  assert.equal(viewer.summaries.at(-1).total, 12);
  assert.deepEqual(viewer.invalid, []);
});
