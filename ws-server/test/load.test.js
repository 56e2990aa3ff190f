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
  const before = await serverMetrics(ws.url);
  const selectsBefore = await comSelect(db);
  const ids = [];
  for (let i = 0; i < 40; i += 1) {
    ids.push(await insertRow(db));
    await sleep(50);
  }
  await waitFor('every client has the 40 rows', () => viewers.every((v) => v.ids.at(-1) === ids.at(-1)), 10000);
  const selectsAfter = await comSelect(db);
  const after = await serverMetrics(ws.url);

  const ticks = after.ws_ticks_total - before.ws_ticks_total;
  const queries = after.ws_db_queries_total - before.ws_db_queries_total;
  const selects = selectsAfter - selectsBefore;
  t.diagnostic(`ticks=${ticks} server queries=${queries} Com_select=${selects} clients=${after.ws_clients_connected}`);
  assert.equal(after.ws_clients_connected, 200);
  assert.ok(ticks >= 10, `the tick ran (${ticks})`);
  // A tick in flight during a read has counted itself but not yet its query.
  assert.ok(Math.abs(queries - ticks) <= 1, `the server issued one query per tick (${queries} for ${ticks})`);
  // Both counters are read a moment apart, so at most the ticks that fell
  // between those reads differ; 200 clients polling would add thousands.
  assert.ok(selects <= ticks && selects >= ticks - 2, `Com_select ${selects} vs ticks ${ticks}`);

  for (const v of viewers) {
    assert.deepEqual(v.ids.slice(-40), ids);
    assert.deepEqual(v.invalid, []);
  }
});
