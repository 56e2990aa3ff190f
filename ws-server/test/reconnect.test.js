import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertStrictlyIncreasing, client, emptyTable, insertBatch, insertRow, insertRows, rootSql, serverMetrics, sleep, startServer, waitFor,
} from './helpers.js';

// Inserts one row every `everyMs` until stopped; returns the ids in order.
function steadyInserter(db, everyMs) {
  const ids = [];
  let running = true;
  const done = (async () => {
    while (running) {
      ids.push(await insertRow(db));
      await sleep(everyMs);
    }
  })();
  return { ids, stop: async () => { running = false; await done; } };
}

test('reconnect: a dropped connection resumes from its lastId with no gap and no duplicate', async (t) => {
  const db = await emptyTable(t);
  const before = await insertRows(db, 10);

  const ws = await startServer(t, { TICK_MS: '50' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  const inserter = steadyInserter(db, 10);
  for (let drop = 1; drop <= 4; drop += 1) {
    await sleep(250);
    viewer.socket.io.engine.close(); // the network goes away; socket.io-client reconnects
    await waitFor(`reconnect #${drop}`, () => viewer.histories.length === drop + 1);
  }
  await sleep(200);
  await inserter.stop();
  const all = [...before, ...inserter.ids];
  await waitFor('every row', () => viewer.ids.length >= all.length);

  assert.ok(viewer.disconnects >= 4);
  assert.ok(viewer.histories.slice(1).every((h) => !h.truncated));
  assert.ok(viewer.histories.slice(1).some((h) => h.rows.length > 0), 'some rows arrived in a catch-up history');
  assertStrictlyIncreasing(assert, viewer.ids);
  assert.deepEqual(viewer.ids, all);
  assert.deepEqual(viewer.invalid, []);
});

test('reconnect: a lastId older than the in-memory ring is served by a bounded catch-up query, rows inserted meanwhile included once', async (t) => {
  const db = await emptyTable(t);
  const old = await insertRows(db, 60);

  // Ring = max(HISTORY_LIMIT, CATCHUP_LIMIT) = 10 rows: lastId old[0] is far behind it.
  const ws = await startServer(t, { TICK_MS: '20', HISTORY_LIMIT: '5', CATCHUP_LIMIT: '10' });
  const before = await serverMetrics(ws.url);

  const inserter = steadyInserter(db, 5);
  await sleep(100);
  const returning = Array.from({ length: 20 }, () => client(ws.url, { lastId: old[0] }));
  t.after(() => returning.forEach((c) => c.close()));
  await waitFor('catch-up histories', () => returning.every((c) => c.histories.length === 1));
  await sleep(300);
  await inserter.stop();
  const all = [...old, ...inserter.ids];
  await waitFor('every client has the newest row', () => returning.every((c) => c.ids.at(-1) === all.at(-1)));

  for (const c of returning) {
    const [history] = c.histories;
    assert.equal(history.truncated, true, 'more than CATCHUP_LIMIT rows were missed');
    assert.equal(history.rows.length, 10);
    // From the first row of the truncated history on, nothing is missing or repeated.
    const from = all.indexOf(history.rows[0].id);
    assert.ok(from > 0);
    assert.deepEqual(c.ids, all.slice(from));
    assert.deepEqual(c.invalid, []);
  }
  const after = await serverMetrics(ws.url);
  const extraQueries = (after.ws_db_queries_total - before.ws_db_queries_total)
    - (after.ws_ticks_total - before.ws_ticks_total);
  assert.ok(extraQueries >= returning.length, `one catch-up query per returning client (got ${extraQueries})`);
});

test('reset: when the table is emptied under it, the stream starts over and clients get a fresh, truncated history', async (t) => {
  const db = await emptyTable(t);
  await insertRows(db, 10);

  const ws = await startServer(t, { TICK_MS: '50' });
  const viewer = client(ws.url);
  const poller = client(ws.url, { transports: ['polling'] });
  t.after(() => [viewer, poller].forEach((c) => c.close()));
  await waitFor('history', () => [viewer, poller].every((c) => c.histories.length === 1 && c.ids.length === 10));

  await rootSql('TRUNCATE TABLE metric_records'); // ids start again at 1
  const fresh = await insertRows(db, 3, 'node');
  assert.deepEqual(fresh, [1, 2, 3]);
  await waitFor('a fresh history after the reset', () => viewer.histories.length === 2, 10000);
  await waitFor('the new rows', () => viewer.ids.length === 3);
  assert.ok(viewer.disconnects >= 1);
  assert.equal(viewer.histories[1].truncated, true);
  assert.deepEqual(viewer.ids, fresh);
  await waitFor('summary of the new table', () => viewer.summaries.at(-1).total === 3);
  assert.equal(viewer.summaries.at(-1).routes.node.stored, 3);
  assert.equal((await serverMetrics(ws.url)).ws_stream_restarts_total, 1);
  assert.deepEqual(viewer.invalid, []);
  // Long-polling closes lazily: it must not see the new table's rows before its fresh history.
  await waitFor('the polling client, too', () => poller.histories.length === 2 && poller.ids.length === 3, 10000);
  assert.equal(poller.histories[1].truncated, true);
  assert.deepEqual(poller.ids, fresh);
  assert.deepEqual(poller.invalid, []);
});

test('catch-up in pages: a lastId older than the ring gets every row once, 50 at a time, one query at a time for 10 clients', async (t) => {
  const db = await emptyTable(t);
  // 100 rows more than the 10,000-row ring, fewer than CATCHUP_LIMIT: the oldest
  // come from the database, the rest from the ring, nothing is left out.
  for (const count of [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1100]) await insertBatch(db, count);
  const [stored] = await db.query('SELECT id FROM metric_records ORDER BY id');
  const old = stored.map((r) => Number(r.id));
  const ws = await startServer(t, { TICK_MS: '20', CATCHUP_LIMIT: '20000', CATCHUP_PAGE_ROWS: '50', CATCHUP_CONCURRENCY: '1' });

  const inserter = steadyInserter(db, 5);
  const returning = Array.from({ length: 10 }, () => client(ws.url, { lastId: old[2] }));
  t.after(() => returning.forEach((c) => c.close()));
  let peakRunning = 0;
  await waitFor('every history', async () => {
    peakRunning = Math.max(peakRunning, (await serverMetrics(ws.url)).ws_catchup_queries_running);
    return returning.every((c) => c.histories.length === 1);
  });
  await sleep(200);
  await inserter.stop();
  const all = [...old, ...inserter.ids];
  await waitFor('every client has the newest row', () => returning.every((c) => c.ids.at(-1) === all.at(-1)), 30000);

  for (const c of returning) {
    const [history] = c.histories;
    assert.equal(history.truncated, false);
    assert.deepEqual(history.rows.map((r) => r.id), old.slice(3, 53), 'the first page is the history');
    assert.deepEqual(c.ids, all.slice(3));
    assert.deepEqual(c.invalid, []);
  }
  assert.ok(peakRunning <= 1, `catch-up queries at once: ${peakRunning}`);
  const { ws_catchup_queries_total: queries } = await serverMetrics(ws.url);
  // Per client: the starting point and the 2 pages below the ring (3 with the inserts moving it).
  assert.ok(queries >= 30 && queries <= 40, `catch-up queries: ${queries}`);
});

test('catch-up in pages: a page query that fails is resumed where it stopped after the next good tick', async (t) => {
  const db = await emptyTable(t);
  for (let i = 0; i < 10; i += 1) await insertBatch(db, 1010); // 100 rows below the 10,000-row ring
  const [stored] = await db.query('SELECT id FROM metric_records ORDER BY id');
  const all = stored.map((r) => Number(r.id));
  const ws = await startServer(t, { TICK_MS: '20', CATCHUP_LIMIT: '20000', CATCHUP_PAGE_ROWS: '30' });

  // The second catch-up page fails once (the first query finds the starting point).
  const { requestDb } = ws.server;
  const { query } = requestDb;
  let calls = 0;
  requestDb.query = async (...args) => {
    calls += 1;
    if (calls === 3) throw Object.assign(new Error('Lost connection to server during query'), { code: 'PROTOCOL_CONNECTION_LOST' });
    return query.apply(requestDb, args);
  };
  t.after(() => { requestDb.query = query; });
  const returning = client(ws.url, { lastId: all[0] });
  t.after(() => returning.close());
  await waitFor('every row', () => returning.ids.at(-1) === all.at(-1), 20000);
  assert.ok(ws.logs.some((l) => l.msg === 'catch-up query failed; resumed after the next good tick' && l.code === 'PROTOCOL_CONNECTION_LOST'));
  assert.equal(returning.histories.length, 1);
  assert.equal(returning.histories[0].rows.length, 30);
  assert.deepEqual(returning.ids, all.slice(1));
  assert.deepEqual(returning.invalid, []);
});
