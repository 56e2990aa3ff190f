'use strict';
// The database killed or frozen mid-run: 503 with Retry-After within 2 s, never a
// hang, and recovery without restarting the route. Uses the tests' own MariaDB.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { useService, post, countIds, mariadb, newId, VALID } = require('./support');

const DEADLINE_MS = 2000;
const service = useService();

async function timed(promise) {
  const started = performance.now();
  const answer = await promise;
  return { answer, ms: performance.now() - started };
}

async function assertUnavailable(body) {
  const { answer, ms } = await timed(post(service.url, body));
  assert.equal(answer.status, 503, answer.text);
  assert.ok(ms < DEADLINE_MS, `503 took ${Math.round(ms)} ms`);
  assert.equal(answer.headers.get('x-route'), 'node');
  assert.ok(Number(answer.headers.get('retry-after')) >= 1);
  assert.equal(answer.json.error, 'database_unavailable');
}

async function untilStored(deadlineMs) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const id = newId();
    const answer = await post(service.url, { ...VALID, id });
    if (answer.status === 201) return id;
    assert.equal(answer.status, 503, answer.text);
    assert.ok(Date.now() < until, 'the route did not recover');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Whatever happened, the database is running again for the next test file.
after(() => mariadb('up'));

test('the database killed: 503 within 2 s, still ready (database down), then recovery by itself', async (t) => {
  await untilStored(5000);
  const refused = [newId(), newId(), newId()];
  mariadb('kill');
  try {
    await assertUnavailable({ ...VALID, id: refused[0] });
    await assertUnavailable([{ ...VALID, id: refused[1] }, { ...VALID, id: refused[2] }]);
    const ready = await fetch(`${service.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.headers.get('x-route'), 'node');
    assert.equal((await ready.json()).database, 'down');
    assert.match(await (await fetch(`${service.url}/metrics`)).text(), /^ingest_database_up\{route="node"\} 0$/m);
    // Many at once: each is answered in time by the route (its own measure, which a
    // loaded machine does not stretch), and none hangs.
    const sentAt = Date.now();
    const { answer: answers, ms } = await timed(Promise.all(Array.from({ length: 20 }, () => post(service.url, VALID))));
    assert.ok(answers.every((a) => a.status === 503), JSON.stringify(answers.map((a) => a.status)));
    assert.ok(ms < 3 * DEADLINE_MS, `20 concurrent 503s took ${Math.round(ms)} ms`);
    const servedBatch = () =>
      service.logs.filter((e) => e.msg === 'request' && e.path === '/api/metrics' && Date.parse(e.time) >= sentAt);
    for (let wait = 0; servedBatch().length < 20 && wait < 40; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const served = servedBatch();
    assert.equal(served.length, 20);
    assert.ok(served.every((entry) => entry.status === 503 && entry.ms < DEADLINE_MS), JSON.stringify(served.map((entry) => entry.ms)));
    t.diagnostic(`20 concurrent requests with the database dead: all 503, slowest ${Math.max(...served.map((e) => e.ms))} ms in the route`);
  } finally {
    mariadb('up');
  }
  const id = await untilStored(15000);
  assert.equal(await countIds([id]), 1);
  assert.equal(await countIds(refused), 0, 'a record answered 503 was stored');
  assert.deepEqual(await (await fetch(`${service.url}/readyz`)).json(), { status: 'ok', database: 'up' });
  assert.match(await (await fetch(`${service.url}/metrics`)).text(), /^ingest_database_up\{route="node"\} 1$/m);
});

test('the database frozen (SIGSTOP): the timeouts answer 503 within 2 s, then recovery', async () => {
  await untilStored(5000);
  const pid = Number(fs.readFileSync(path.join(process.env.MARIADB_DIR, 'mysqld.pid'), 'utf8'));
  process.kill(pid, 'SIGSTOP');
  try {
    // A pooled connection (query timeout), then new ones (connect or acquire timeout).
    await assertUnavailable([{ ...VALID, id: newId() }, { ...VALID, id: newId() }]);
    await assertUnavailable([{ ...VALID, id: newId() }, { ...VALID, id: newId() }]);
    const ready = await timed(fetch(`${service.url}/readyz`));
    assert.equal(ready.answer.status, 200);
    assert.equal((await ready.answer.json()).database, 'down');
    assert.ok(ready.ms < DEADLINE_MS, `readyz took ${Math.round(ready.ms)} ms`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await untilStored(15000);
});
