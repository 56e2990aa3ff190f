import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, insertRow, insertRows, openDb, serverMetrics, sleep, startServer, waitFor } from './helpers.js';

async function comSelect(db) {
  const [[row]] = await db.query("SHOW GLOBAL STATUS LIKE 'Com_select'");
  return Number(row.Value);
}

test('load: 200 connected clients still cost one database query per tick', async (t) => {
  const db = await openDb();
  t.after(() => db.end());
  await db.query('DELETE FROM metric_records');
  await insertRows(db, 20);
  const ws = await startServer({ TICK_MS: '100' });
  t.after(() => ws.close());

  const viewers = Array.from({ length: 200 }, () => client(ws.url));
  t.after(() => viewers.forEach((v) => v.close()));
  await waitFor('200 histories', () => viewers.every((v) => v.histories.length === 1), 20000);

  // The server's own counter and the database's own count of SELECTs on this
  // private instance (nothing else runs SELECTs against it during the window).
  // Each Com_select reading is bracketed by two server readings, so the
  // database's count must lie between the server's inner and outer deltas.
  const outerBefore = await serverMetrics(ws.url);
  const selectsBefore = await comSelect(db);
  const innerBefore = await serverMetrics(ws.url);
  const ids = [];
  for (let i = 0; i < 40; i += 1) {
    ids.push(await insertRow(db));
    await sleep(50);
  }
  await waitFor('every client has the 40 rows', () => viewers.every((v) => v.ids.at(-1) === ids.at(-1)), 10000);
  const innerAfter = await serverMetrics(ws.url);
  const selectsAfter = await comSelect(db);
  const outerAfter = await serverMetrics(ws.url);

  const delta = (name, from, to) => to[name] - from[name];
  const ticks = delta('ws_ticks_total', innerBefore, innerAfter);
  const queries = delta('ws_db_queries_total', innerBefore, innerAfter);
  const selects = selectsAfter - selectsBefore;
  const innerQueries = queries;
  const outerQueries = delta('ws_db_queries_total', outerBefore, outerAfter);
  t.diagnostic(`ticks=${ticks} server queries=${queries} (outer ${outerQueries}) Com_select=${selects} clients=${innerAfter.ws_clients_connected}`);
  assert.equal(innerAfter.ws_clients_connected, 200);
  assert.ok(ticks >= 10, `the tick ran (${ticks})`);
  // A tick in flight during a reading has counted itself but not yet its query.
  assert.ok(Math.abs(queries - ticks) <= 1, `the server issued one query per tick (${queries} for ${ticks})`);
  // ±1: a query counted by the server may still be on its way to the database at a reading.
  assert.ok(selects >= innerQueries - 1 && selects <= outerQueries + 1,
    `Com_select ${selects} within the server's count [${innerQueries}, ${outerQueries}] ±1`);

  for (const v of viewers) {
    assert.deepEqual(v.ids.slice(-40), ids);
    assert.deepEqual(v.invalid, []);
  }
});
