import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertStrictlyIncreasing, client, emptyTable, insertRow, insertRows, openDb, serverMetrics, sleep, startServer, waitFor,
} from './helpers.js';

const TICK = { TICK_MS: '20', TICK_IDLE_MS: '640', TICK_BACKOFF_POLLS: '2' };

async function ticksOver(url, ms) {
  const before = (await serverMetrics(url)).ws_ticks_total;
  await sleep(ms);
  return (await serverMetrics(url)).ws_ticks_total - before;
}

// A fixed 20 ms tick would run about 100 polls in the idle window below, and a
// tick stuck at 640 ms about 3 in the busy one: either failure is far outside
// the bounds asserted, so a busy machine does not make this flaky.
test('backoff: idle polls slow down to TICK_IDLE_MS, rows bring the short tick back, quiet again slows it down again', async (t) => {
  const db = await emptyTable(t);
  await insertRows(db, 3);
  const ws = await startServer(t, TICK);
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  // 2 empty polls at each of 20, 40, 80, 160, 320 ms: the idle wait after about 1.2 s.
  await waitFor('the idle wait', async () => (await serverMetrics(ws.url)).ws_tick_interval_seconds === 0.64, 10000);
  const idleTicks = await ticksOver(ws.url, 2000);
  t.diagnostic(`idle: ${idleTicks} polls in 2 s`);
  assert.ok(idleTicks <= 6, `idle: about one poll per 640 ms (${idleTicks} in 2 s)`);

  // Rows every 30 ms for 2 s: the first is found by the next idle poll, the
  // rest at the short tick.
  const sentAt = new Map();
  const busyBefore = (await serverMetrics(ws.url)).ws_ticks_total;
  const started = Date.now();
  while (Date.now() - started < 2000) {
    const sent = Date.now();
    sentAt.set(await insertRow(db), sent);
    await sleep(30);
  }
  const ids = [...sentAt.keys()];
  await waitFor('every row', () => viewer.ids.at(-1) === ids.at(-1));
  const busyTicks = (await serverMetrics(ws.url)).ws_ticks_total - busyBefore;
  t.diagnostic(`busy: ${busyTicks} polls in ${Date.now() - started} ms for ${ids.length} rows`);
  assert.ok(busyTicks >= 20, `rows flowing: the short tick is back (${busyTicks} polls in about 2 s)`);
  assert.deepEqual(viewer.ids.slice(-ids.length), ids, 'every row once, in order');
  assertStrictlyIncreasing(assert, viewer.ids);

  await waitFor('the idle wait again', async () => (await serverMetrics(ws.url)).ws_tick_interval_seconds === 0.64, 10000);
  const idleAgain = await ticksOver(ws.url, 2000);
  assert.ok(idleAgain <= 6, `idle again: about one poll per 640 ms (${idleAgain} in 2 s)`);
  assert.deepEqual(viewer.invalid, []);
});

// Replicas need nothing from each other: each polls at its own pace and
// delivers every row once to its own clients.
test('replicas: two servers on one database each deliver every row once, each backing off on its own', async (t) => {
  const db = await emptyTable(t);
  const a = await startServer(t, TICK);
  const b = await startServer(t, TICK);
  const onA = client(a.url);
  const onB = client(b.url);
  t.after(() => { onA.close(); onB.close(); });
  await waitFor('both histories', () => onA.histories.length === 1 && onB.histories.length === 1);

  const ids = [];
  for (let i = 0; i < 20; i += 1) {
    ids.push(await insertRow(db));
    await sleep(i === 10 ? 1500 : 20); // a quiet spell in the middle: both back off, both come back
  }
  await waitFor('every row on both', () => onA.ids.at(-1) === ids.at(-1) && onB.ids.at(-1) === ids.at(-1));
  assert.deepEqual(onA.ids, ids);
  assert.deepEqual(onB.ids, ids);
  for (const { url } of [a, b]) {
    await waitFor('the idle wait', async () => (await serverMetrics(url)).ws_tick_interval_seconds === 0.64, 10000);
  }
  assert.deepEqual([...onA.invalid, ...onB.invalid], []);
});

// A row held back behind a lower id still in a transaction is a row found: the
// poll keeps the short tick, so the missing row is delivered as soon as it commits.
test('backoff: a row held back behind an open transaction keeps the short tick', async (t) => {
  const db = await emptyTable(t);
  const slow = await openDb();
  t.after(() => slow.end());
  await insertRows(db, 3);
  const ws = await startServer(t, { ...TICK, GAP_WAIT_MS: '10000' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);

  await slow.query('START TRANSACTION');
  const held = await insertRow(slow);
  const waiting = await insertRow(db);
  await waitFor('a poll that sees the waiting row', () => ws.server.stream.tableMaxId === waiting);
  const intervals = new Set();
  for (let i = 0; i < 15; i += 1) {
    await sleep(100);
    intervals.add((await serverMetrics(ws.url)).ws_tick_interval_seconds);
  }
  assert.deepEqual([...intervals], [0.02], 'the short tick throughout the 1.5 s hold');
  assert.equal(viewer.ids.length, 3, 'the newer row still waits');
  await slow.query('COMMIT');
  await waitFor('both rows', () => viewer.ids.length === 5);
  assert.deepEqual(viewer.ids.slice(-2), [held, waiting]);
  assert.deepEqual(viewer.invalid, []);
});
