'use strict';
// The database frozen (SIGSTOP) for 3 s under steady traffic, then resumed: each
// answer's promise holds afterwards (tests/outcomes.js).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { useService, post, newId, VALID } = require('./support');
const { until, pause, startTraffic, untilServerQuiet, assertOutcomes } = require('./outcomes');

const FREEZE_MS = 3000;
// More than the traffic's clients: requests sent while frozen then find idle pooled
// connections and their statements reach the server (a new connection would wait
// for the server's greeting and send nothing).
const IDLE_CONNECTIONS = 12;
const service = useService();
const serverPid = () => Number(fs.readFileSync(path.join(process.env.MARIADB_DIR, 'mysqld.pid'), 'utf8'));

// Whatever happened, the database runs again for the next test file.
after(() => process.kill(serverPid(), 'SIGCONT'));

test('frozen 3 s under traffic: every 201 is stored, every "nothing was stored" absent, unknown outcomes stored once after a retry', async (t) => {
  const pid = serverPid();
  const warmUp = await Promise.all(Array.from({ length: IDLE_CONNECTIONS }, () => post(service.url, { ...VALID, id: newId() })));
  assert.deepEqual(warmUp.map((answer) => answer.status), Array(IDLE_CONNECTIONS).fill(201));
  const traffic = startTraffic(service.url);
  try {
    await until('a 201 before the freeze', 5000, () => traffic.answers.some((a) => a.status === 201));
    process.kill(pid, 'SIGSTOP');
    const frozenAt = performance.now();
    try {
      await until('a 503 for a request sent while frozen', FREEZE_MS, () =>
        traffic.answers.some((a) => a.status === 503 && a.sentAt > frozenAt));
      await pause(FREEZE_MS - (performance.now() - frozenAt));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumedAt = performance.now();
    await until('a 201 for a request sent after SIGCONT', 15000, () =>
      traffic.answers.some((a) => a.status === 201 && a.sentAt > resumedAt));
  } finally {
    await traffic.stop();
  }
  await untilServerQuiet();
  t.diagnostic(JSON.stringify(await assertOutcomes(service.url, traffic.answers)));
});
