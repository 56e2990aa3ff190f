import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, emptyTable, insertRows, startServer, waitFor } from './helpers.js';

test('isolation: with every request connection taken, the tick still delivers new rows', async (t) => {
  const db = await emptyTable(t);
  await insertRows(db, 5);
  // A long pool wait, so the window request below is still waiting when the rows arrive.
  const ws = await startServer(t, { TICK_MS: '50', DB_TIMEOUT_MS: '30000' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  // What a crowd of catch-ups, window and records requests would do: hold every request connection.
  const held = [];
  for (let i = 0; i < ws.server.requestDb.connections; i += 1) held.push(await ws.server.requestDb.acquire());
  t.after(() => held.forEach((connection) => connection.release()));
  let windowReply = null;
  viewer.socket.timeout(30000).emitWithAck('window', { minutes: 5 }).then((reply) => { windowReply = reply; });

  const fresh = await insertRows(db, 3);
  await waitFor('the new rows, through the tick, while the request pool is exhausted', () => viewer.ids.at(-1) === fresh.at(-1));
  assert.equal(windowReply, null, 'the window request was still waiting for a request connection');

  held.splice(0).forEach((connection) => connection.release());
  await waitFor('the window answer once a request connection is free', () => windowReply !== null);
  assert.equal(windowReply.minutes, 5);
  assert.deepEqual(viewer.invalid, []);
});
