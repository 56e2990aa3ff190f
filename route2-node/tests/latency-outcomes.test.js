'use strict';
// Latency between the route and the database (a TCP proxy of the test's own,
// tests/latency-proxy.js): a COMMIT answered too late is a 503 saying the outcome
// is unknown, and under traffic every answer's promise holds (tests/outcomes.js).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startService, post, countIds, newId, VALID } = require('./support');
const { OUTCOME_UNKNOWN } = require('../src/store');
const { startLatencyProxy } = require('./latency-proxy');
const { until, startTraffic, untilServerQuiet, assertOutcomes } = require('./outcomes');

// Longer than the route's deadline (1.5 s) and any single statement's timeout.
const LATE_COMMIT_ANSWER_MS = 3000;
let proxy;
let service;

before(async () => {
  proxy = await startLatencyProxy(Number(process.env.DB_PORT));
  service = await startService({ DB_PORT: String(proxy.port) });
});
after(async () => {
  await service?.stop();
  await proxy?.close();
});

test('a COMMIT answered too late: 503 "outcome unknown", the commit happened, the retry is a duplicate', async () => {
  for (const size of [1, 3]) {
    const records = Array.from({ length: size }, () => ({ ...VALID, id: newId() }));
    const body = size === 1 ? records[0] : records;
    const ids = records.map((record) => record.id);
    proxy.setCommitAnswerDelay(LATE_COMMIT_ANSWER_MS);
    const answer = await post(service.url, body);
    proxy.setCommitAnswerDelay(0);
    assert.equal(answer.status, 503, answer.text);
    assert.deepEqual(answer.json, { error: 'database_unavailable', message: OUTCOME_UNKNOWN });
    await proxy.drained();
    await untilServerQuiet();
    assert.equal(await countIds(ids), size);
    const retry = await post(service.url, body);
    assert.equal(retry.status, 201, retry.text);
    assert.deepEqual(retry.json, { stored: 0, duplicates: size, route: 'node' });
  }
});

test('300 then 600 ms each way under traffic: every 201 stored, every "nothing was stored" absent, unknown outcomes stored once after a retry', async (t) => {
  const traffic = startTraffic(service.url);
  try {
    await until('a 201 without added latency', 10000, () => traffic.answers.some((a) => a.status === 201));
    proxy.setDelay(300);
    let since = performance.now();
    await until('4 answers to requests sent with 300 ms each way', 15000, () =>
      traffic.answers.filter((a) => a.sentAt > since).length >= 4);
    proxy.setDelay(600);
    since = performance.now();
    await until('a 503 for a request sent with 600 ms each way', 10000, () =>
      traffic.answers.some((a) => a.status === 503 && a.sentAt > since));
    proxy.setDelay(0);
    const restoredAt = performance.now();
    await until('a 201 for a request sent once the latency is gone', 15000, () =>
      traffic.answers.some((a) => a.status === 201 && a.sentAt > restoredAt));
  } finally {
    await traffic.stop();
  }
  await proxy.drained();
  await untilServerQuiet();
  t.diagnostic(JSON.stringify(await assertOutcomes(service.url, traffic.answers)));
});
