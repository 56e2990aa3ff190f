import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertStrictlyIncreasing, client, emptyTable, insertBatch, insertRow, insertRows, serverMetrics, sleep, stalledClient, stalledPollingClient, startServer, waitFor,
} from './helpers.js';

async function comSelect(db) {
  const [[row]] = await db.query("SHOW GLOBAL STATUS LIKE 'Com_select'");
  return Number(row.Value);
}

test('load: 200 connected clients still cost one database query per tick', async (t) => {
  const db = await emptyTable(t);
  await insertRows(db, 20);
  const ws = await startServer(t, { TICK_MS: '100' });

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
  for (let i = 0; i < 24; i += 1) {
    ids.push(await insertRow(db));
    await sleep(50);
  }
  await waitFor('every client has the 24 rows', () => viewers.every((v) => v.ids.at(-1) === ids.at(-1)), 10000);
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
    assert.deepEqual(v.ids.slice(-24), ids);
    assert.deepEqual(v.invalid, []);
  }
});

// One healthy client and one raw websocket that stops reading; rows arrive
// faster than the stalled reader's kernel buffers can absorb until it is dropped.
async function dropStalled(t, env) {
  const db = await emptyTable(t);
  const ws = await startServer(t, { TICK_MS: '20', ...env });
  const healthy = client(ws.url);
  t.after(() => healthy.close());
  await waitFor('the healthy client live', () => healthy.histories.length === 1);
  const stalled = await stalledClient(ws.url);
  t.after(() => stalled.terminate());
  await waitFor('both clients connected', () => ws.server.io.engine.clientsCount === 2);
  let closed = false;
  stalled.on('close', () => { closed = true; });

  let inserted = 0;
  while ((await serverMetrics(ws.url)).ws_slow_clients_dropped_total === 0) {
    assert.ok(inserted < 100000, 'the stalled client was never dropped');
    await insertBatch(db, 1000);
    inserted += 1000;
    await sleep(20);
  }
  const drop = ws.logs.find((l) => l.msg === 'disconnecting a client that stopped reading');
  t.diagnostic(`dropped after ${inserted} rows with ${drop.queuedBytes} bytes queued (${drop.limit})`);
  await waitFor('the stalled connection is gone on the server', () => ws.server.io.engine.clientsCount === 1);
  stalled.resume();
  await waitFor('the stalled client sees the close', () => closed, 40000);

  await waitFor('the healthy client has every row', () => healthy.ids.length === inserted, 20000);
  assertStrictlyIncreasing(assert, healthy.ids);
  assert.equal(healthy.disconnects, 0);
  assert.deepEqual(healthy.invalid, []);
  assert.equal((await serverMetrics(ws.url)).ws_slow_clients_dropped_total, 1, 'only the stalled client');
  return drop;
}

test('slow client: one that stops reading is disconnected once 64 KiB wait for it, the others still get every row', async (t) => {
  const drop = await dropStalled(t, { SLOW_CLIENT_MAX_BYTES: '65536' });
  assert.equal(drop.limit, 'SLOW_CLIENT_MAX_BYTES');
  assert.ok(drop.queuedBytes > 65536);
});

test('slow clients in total: past SLOW_CLIENTS_MAX_TOTAL_BYTES the client holding most is dropped, the reading one is not', async (t) => {
  const drop = await dropStalled(t, { SLOW_CLIENT_MAX_BYTES: '1073741824', SLOW_CLIENTS_MAX_TOTAL_BYTES: '65536' });
  assert.equal(drop.limit, 'SLOW_CLIENTS_MAX_TOTAL_BYTES');
  assert.ok(drop.queuedBytes <= 1073741824);
});

test('slow client over long-polling: one that stops polling is dropped by the bytes in engine.io\'s writeBuffer', async (t) => {
  const db = await emptyTable(t);
  const ws = await startServer(t, { TICK_MS: '20', SLOW_CLIENT_MAX_BYTES: '65536' });
  const session = await stalledPollingClient(ws.url);
  await waitFor('the polling client connected', () => ws.server.io.sockets.sockets.size === 1);
  let inserted = 0;
  while ((await serverMetrics(ws.url)).ws_slow_clients_dropped_total === 0) {
    assert.ok(inserted < 20000, 'the stalled polling client was never dropped');
    await insertBatch(db, 100);
    inserted += 100;
    await sleep(20);
  }
  const drop = ws.logs.find((l) => l.msg === 'disconnecting a client that stopped reading');
  t.diagnostic(`dropped after ${inserted} rows with ${drop.queuedBytes} bytes queued`);
  assert.ok(drop.queuedBytes > 65536 && drop.limit === 'SLOW_CLIENT_MAX_BYTES');
  // Nothing to poll any more: the session is gone, its queue with it.
  assert.equal((await fetch(session)).status, 400);
});
