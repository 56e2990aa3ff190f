import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertStrictlyIncreasing, client, insertRows, mariadb, openDb, rootSql, serverMetrics, startServer, waitFor,
} from './helpers.js';

test('outage: clients stay connected through a database kill, get status down/up, and catch up with no gap', async (t) => {
  let db = await openDb();
  await rootSql('DELETE FROM metric_records');
  const first = await insertRows(db, 5);

  const ws = await startServer(t, { TICK_MS: '100', DB_TIMEOUT_MS: '2000' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  // Rows committed just before the crash must still reach the client afterwards.
  const lastBeforeCrash = await insertRows(db, 3);
  await db.end();
  await mariadb('kill');
  let restarted = false;
  t.after(async () => {
    if (!restarted) await mariadb('up');
  });

  await waitFor('status down', () => viewer.statuses.at(-1).database === 'down', 10000);
  assert.match(viewer.statuses.at(-1).message, /database unreachable/);
  const readyz = await fetch(`${ws.url}/readyz`);
  assert.equal(readyz.status, 503);
  assert.equal((await fetch(`${ws.url}/healthz`)).status, 200);

  // While the database is down a newcomer still connects and gets the rows held in memory.
  const newcomer = client(ws.url);
  t.after(() => newcomer.close());
  await waitFor('newcomer history', () => newcomer.histories.length === 1);
  assert.equal(newcomer.statuses[0].database, 'down');
  // A failed poll counts as an empty one: the database is retried at the idle pace, not every TICK_MS.
  await waitFor('the idle wait while down', async () => (await serverMetrics(ws.url)).ws_tick_interval_seconds === 0.25, 10000);

  await mariadb('up');
  restarted = true;
  db = await openDb();
  t.after(() => db.end());
  const afterRecovery = await insertRows(db, 4);

  await waitFor('status up', () => viewer.statuses.at(-1).database === 'up', 15000);
  const all = [...first, ...lastBeforeCrash, ...afterRecovery];
  await waitFor('every row', () => viewer.ids.length === all.length && newcomer.ids.at(-1) === all.at(-1), 10000);
  assert.equal(viewer.disconnects, 0, 'the client stayed connected');
  assert.deepEqual(viewer.ids, all);
  assertStrictlyIncreasing(assert, newcomer.ids);
  assert.deepEqual(viewer.statuses.map((s) => s.database), ['up', 'down', 'up']);
  assert.equal((await fetch(`${ws.url}/readyz`)).status, 200);
  assert.deepEqual(viewer.invalid, []);
  assert.deepEqual(newcomer.invalid, []);
});
