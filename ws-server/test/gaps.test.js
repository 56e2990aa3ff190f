import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertStrictlyIncreasing, client, insertRow, insertRows, openDb, rootSql, serverMetrics, sleep, startServer, waitFor,
} from './helpers.js';

// Auto-increment ids become visible in commit order: a row must not overtake
// an older id whose transaction is still open, or that row would be lost.
test('gaps: a row waits for an open transaction holding a lower id, a rolled-back id is skipped after GAP_WAIT_MS', async (t) => {
  const slow = await openDb();
  const fast = await openDb();
  t.after(() => Promise.all([slow.end(), fast.end()]));
  await rootSql('DELETE FROM metric_records');
  const start = await insertRows(fast, 3);

  const ws = await startServer(t, { TICK_MS: '50', GAP_WAIT_MS: '2000' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  await slow.query('START TRANSACTION');
  const held = await insertRow(slow);
  const overtaking = await insertRow(fast);
  assert.equal(overtaking, held + 1);
  await sleep(500);
  assert.deepEqual(viewer.ids, start, 'the newer row waits while the older id is uncommitted');
  // A client that already has the held-back row (say, from another replica) is
  // ahead of this server's cursor: an empty history, then only what follows.
  const ahead = client(ws.url, { lastId: overtaking });
  t.after(() => ahead.close());
  await waitFor('history for the client ahead', () => ahead.histories.length === 1);
  assert.deepEqual(ahead.histories[0], { rows: [], truncated: false });
  await slow.query('COMMIT');
  await waitFor('both rows', () => viewer.ids.length === 5);
  assert.deepEqual(viewer.ids, [...start, held, overtaking]);

  await slow.query('START TRANSACTION');
  const rolledBack = await insertRow(slow);
  const t0 = Date.now(); // the server cannot see the gap before `after` exists
  const after = await insertRow(fast);
  await slow.query('ROLLBACK');
  await waitFor('the row after the rolled-back id', () => viewer.ids.length === 6);
  assert.ok(Date.now() - t0 >= 2000, 'held for GAP_WAIT_MS');
  assert.equal(after, rolledBack + 1);
  assert.deepEqual(viewer.ids, [...start, held, overtaking, after]);
  await waitFor('the client ahead gets the row after its lastId', () => ahead.ids.length === 1);
  assert.deepEqual(ahead.ids, [after]);
  assert.deepEqual(ahead.invalid, []);
  assertStrictlyIncreasing(assert, viewer.ids);
  assert.equal((await serverMetrics(ws.url)).ws_gaps_skipped_total, 1);
  assert.deepEqual(viewer.invalid, []);
});
