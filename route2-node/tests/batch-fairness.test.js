'use strict';
// Batches do not starve single records: while 25 concurrent 1000-record batches are
// in the route, each single record sent meanwhile is answered 201 within the
// contract's 1 s; every batch is 201 or a 503 that stored nothing (tests/outcomes.js).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useService, newId, VALID } = require('./support');
const { sendRecorded, assertOutcomes } = require('./outcomes');

const BATCHES = 25;
const BATCH_SIZE = 1000;
const SINGLE_RECORD_ANSWER_MS = 1000;
const service = useService();

test('25 concurrent 1000-record batches: single records sent meanwhile answered 201 within 1 s', async (t) => {
  const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH_SIZE }, () => ({ ...VALID, id: newId() })));
  const answers = [];
  let batchesPending = BATCHES;
  const batchesDone = Promise.all(batches.map(async (batch) => {
    await sendRecorded(service.url, answers, batch);
    batchesPending -= 1;
  }));
  const singles = [];
  while (batchesPending > 0) {
    const entry = await sendRecorded(service.url, answers, { ...VALID, id: newId() });
    singles.push({ ...entry, overlapped: batchesPending > 0 });
  }
  await batchesDone;
  const overlapped = singles.filter((single) => single.overlapped);
  assert.ok(overlapped.length > 0, 'no single record was answered while batches were pending');
  for (const single of overlapped) {
    const ms = single.answeredAt - single.sentAt;
    assert.equal(single.status, 201);
    assert.ok(ms < SINGLE_RECORD_ANSWER_MS, `a single record took ${Math.round(ms)} ms`);
  }
  const batchStatuses = answers.filter((answer) => answer.ids.length === BATCH_SIZE).map((answer) => answer.status);
  const counts = await assertOutcomes(service.url, answers);
  t.diagnostic(JSON.stringify({
    singles: overlapped.length,
    slowestSingleMs: Math.round(Math.max(...overlapped.map((single) => single.answeredAt - single.sentAt))),
    batches201: batchStatuses.filter((status) => status === 201).length,
    batches503: batchStatuses.filter((status) => status === 503).length,
    ...counts,
  }));
});
