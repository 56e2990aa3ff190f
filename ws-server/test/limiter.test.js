import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Limiter } from '../src/limiter.js';

test('limiter: never more than its limit at once, the rest in arrival order, a failure frees its slot', async () => {
  const limiter = new Limiter(2);
  const started = [];
  const releases = new Map();
  let peak = 0;
  const runs = [0, 1, 2, 3, 4].map((n) => limiter.run(async () => {
    started.push(n);
    peak = Math.max(peak, limiter.running);
    await new Promise((resolve) => releases.set(n, resolve));
    if (n === 1) throw new Error('task 1 failed');
    return n;
  }));
  const results = Promise.allSettled(runs); // observed now: task 1's failure is expected
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  await settle();
  assert.deepEqual(started, [0, 1]);
  assert.equal(limiter.waiting, 3);
  releases.get(1)();
  await settle();
  assert.deepEqual(started, [0, 1, 2], 'the failed task gave its slot to the next in line');
  for (const n of [0, 2, 3, 4]) {
    releases.get(n)();
    await settle();
  }
  assert.deepEqual((await results).map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.equal(limiter.running, 0);
  assert.equal(limiter.waiting, 0);
});
