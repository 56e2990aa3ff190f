import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientsToDrop, queuedBytes } from '../src/backpressure.js';
import {
  emptyTable, insertBatch, serverMetrics, stalledClient, startServer, waitFor,
} from './helpers.js';

// The rows of the socket.io events `history` and `metrics` in a raw engine.io message.
function rowIds(message) {
  const text = message.toString();
  if (!text.startsWith('42')) return [];
  const [name, payload] = JSON.parse(text.slice(2));
  return name === 'history' || name === 'metrics' ? payload.rows.map((r) => r.id) : [];
}

test('backpressure: a catch-up holds its next page until the client has read the last one, then goes on', async (t) => {
  const db = await emptyTable(t);
  // About 7 MB of rows for lastId 0: more than a loopback connection's kernel buffers take.
  for (let i = 0; i < 15; i += 1) await insertBatch(db, 1000);
  const [[{ newest }]] = await db.query('SELECT MAX(id) AS newest FROM metric_records');
  const [[{ oldest }]] = await db.query('SELECT MIN(id) AS oldest FROM metric_records');
  const ws = await startServer(t, { TICK_MS: '50', CATCHUP_LIMIT: '20000', CATCHUP_PAGE_ROWS: '200' });

  const stalled = await stalledClient(ws.url, { lastId: 0 });
  t.after(() => stalled.terminate());
  const { catchUps } = ws.server.stream;
  await waitFor('the catch-up waiting for its client to read', () => catchUps.waitingForClients === 1, 30000);
  const [socket] = ws.server.io.sockets.sockets.values();
  const held = queuedBytes(socket);
  const pageBytes = 200 * 600; // a row is about 450 bytes of JSON
  t.diagnostic(`held in the process while the client does not read: ${held} bytes; catch-up queries so far ${catchUps.queriesTotal}`);
  assert.ok(held > 0 && held <= pageBytes, `${held} bytes held, at most one page (${pageBytes})`);
  assert.equal((await serverMetrics(ws.url)).ws_catchups_waiting_for_client, 1);

  const ids = [];
  stalled.on('message', (message) => ids.push(...rowIds(message)));
  stalled.resume();
  await waitFor('every row once the client reads again', () => ids.at(-1) === Number(newest), 30000);
  assert.equal(ids.length, Number(newest) - Number(oldest) + 1);
  assert.ok(ids.every((id, i) => i === 0 || id === ids[i - 1] + 1), 'every row once, in order');
  assert.equal(catchUps.waitingForClients, 0);
});

test('clientsToDrop: each over its own bound, then the biggest until all together fit', () => {
  const queues = [['a', 10], ['b', 500], ['c', 40], ['d', 30], ['e', 0]].map(([socket, queued]) => ({ socket, queued }));
  const names = (result) => result.drop.map((q) => q.socket);

  assert.deepEqual(clientsToDrop(queues, { perClientMax: 1000, totalMax: 1000 }), { drop: [], total: 580 });
  const perClient = clientsToDrop(queues, { perClientMax: 100, totalMax: 1000 });
  assert.deepEqual(names(perClient), ['b']);
  assert.equal(perClient.total, 80);
  // Under both bounds one by one, over the total together: the biggest go first.
  const together = clientsToDrop(queues, { perClientMax: 100, totalMax: 45 });
  assert.deepEqual(names(together), ['b', 'c']);
  assert.equal(together.total, 40);
  assert.deepEqual(names(clientsToDrop(queues, { perClientMax: 1000, totalMax: 0 })), ['b', 'c', 'd', 'a']);
});
