import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  client, dbEnv, emptyTable, insertBatch, insertRow, serverMetrics, stalledClient, startServerProcess, waitFor,
} from './helpers.js';

const STALLED = 200;
// What 200 stalled catch-ups may add to the server's peak RSS. Each would be
// sent 11,000 rows (about 5 MB of JSON) at once without paging: about 1 GB
// (655-711 MB measured). Paged, 77-137 MB were measured: the garbage
// collector's slack over about 1 GB of pages written within seconds (26 MB
// with a 96 MB old space).
const RSS_GROWTH_BOUND_MB = 250;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

test('bounded: 200 clients that ask for the oldest rows and never read; memory stays bounded, /readyz 200, the others keep getting new rows', async (t) => {
  const db = await emptyTable(t);
  // More rows than the 10,000-row ring and fewer than CATCHUP_LIMIT: lastId 0
  // gets every row, the oldest 1,000 in pages from the database, then the ring's.
  for (let i = 0; i < 11; i += 1) await insertBatch(db, 1000);
  const ws = await startServerProcess({ ...dbEnv, PORT: '0', TICK_MS: '50', CATCHUP_LIMIT: '20000' });
  t.after(() => ws.child.kill());
  const { pid } = ws.child;

  const viewers = [client(ws.url), client(ws.url)];
  t.after(() => viewers.forEach((v) => v.close()));
  await waitFor('the normal clients\' histories', () => viewers.every((v) => v.histories.length === 1));
  // Reported, not asserted: from the INSERT to the moment both clients hold the row (20 ms polls).
  const latencies = [];
  const deliver = async (what) => {
    const started = performance.now();
    const id = await insertRow(db);
    await waitFor(`row ${id} at both normal clients (${what})`, () => viewers.every((v) => v.ids.at(-1) === id), 5000);
    if (what === 'during the catch-ups') latencies.push(performance.now() - started);
  };
  await deliver('before');
  const before = memoryMb(pid);
  const start = await serverMetrics(ws.url);

  const stalled = [];
  t.after(() => stalled.forEach((s) => s.terminate()));
  for (let i = 0; i < STALLED; i += 1) stalled.push(await stalledClient(ws.url, { lastId: 0 }));
  await waitFor('every client connected', async () => (await serverMetrics(ws.url)).ws_clients_connected === STALLED + 2);

  let peakRunning = 0;
  let peakQueued = 0;
  await waitFor('a history sent to every stalled client and no catch-up query running or waiting', async () => {
    await deliver('during the catch-ups');
    const readyz = await fetch(`${ws.url}/readyz`);
    assert.equal(readyz.status, 200, `/readyz during the catch-ups: ${await readyz.text()}`);
    const now = await serverMetrics(ws.url);
    peakRunning = Math.max(peakRunning, now.ws_catchup_queries_running);
    peakQueued = Math.max(peakQueued, now.ws_queued_bytes);
    return now.ws_histories_sent_total - start.ws_histories_sent_total === STALLED
      && now.ws_catchup_queries_running === 0 && now.ws_catchup_queries_waiting === 0;
  }, 40000);
  await deliver('after');
  const after = memoryMb(pid);
  const end = await serverMetrics(ws.url);

  t.diagnostic(`RSS before ${before.rss.toFixed(1)} MB, after ${after.rss.toFixed(1)} MB, peak ${after.peak.toFixed(1)} MB; `
    + `catch-up queries ${end.ws_catchup_queries_total - start.ws_catchup_queries_total}, at most ${peakRunning} running at a reading; `
    + `queued for all clients at most ${(peakQueued / 1e6).toFixed(1)} MB at a reading; `
    + `clients ${end.ws_clients_connected}, dropped ${end.ws_slow_clients_dropped_total}, `
    + `${end.ws_catchups_waiting_for_client} catch-ups holding their next page; `
    + `new rows during the catch-ups: ${latencies.length}, median ${median(latencies).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);
  assert.ok(after.peak - before.rss < RSS_GROWTH_BOUND_MB,
    `peak RSS grew by ${(after.peak - before.rss).toFixed(1)} MB (bound ${RSS_GROWTH_BOUND_MB} MB)`);
  assert.ok(peakRunning <= 2, `catch-up queries at once: ${peakRunning} (CATCHUP_CONCURRENCY 2)`);
  assert.equal(end.ws_slow_clients_dropped_total, 0, 'a paused catch-up holds one page, far below SLOW_CLIENT_MAX_BYTES');
  for (const v of viewers) assert.deepEqual(v.invalid, []);
});
