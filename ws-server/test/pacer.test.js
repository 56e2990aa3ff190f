import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { TickPacer } from '../src/pacer.js';

// The wait after each of a series of polls; true = the poll found rows.
function waits(pacer, polls) {
  return polls.map((sawRows) => {
    pacer.afterPoll(sawRows);
    return pacer.intervalMs;
  });
}

test('pacer: empty polls double the wait every TICK_BACKOFF_POLLS up to TICK_IDLE_MS; a poll with rows brings TICK_MS back', () => {
  const pacer = new TickPacer({ tickMs: 50, idleTickMs: 500, backoffPolls: 2 });
  assert.equal(pacer.intervalMs, 50, 'starts at the short tick');
  assert.deepEqual(waits(pacer, Array(10).fill(false)), [50, 100, 100, 200, 200, 400, 400, 500, 500, 500]);
  assert.deepEqual(waits(pacer, [true]), [50], 'one poll with rows: straight back to TICK_MS');
  // The count of empty polls starts over too: a full step at 50 ms before 100.
  assert.deepEqual(waits(pacer, [false, true, false, false, false]), [50, 50, 50, 100, 100]);
});

test('pacer: rows every other poll keep the short tick; TICK_BACKOFF_POLLS=1 doubles on every empty poll', () => {
  const flowing = new TickPacer({ tickMs: 50, idleTickMs: 500, backoffPolls: 4 });
  assert.deepEqual(new Set(waits(flowing, Array(20).fill(null).map((_, i) => i % 2 === 0))), new Set([50]));
  const eager = new TickPacer({ tickMs: 10, idleTickMs: 60, backoffPolls: 1 });
  assert.deepEqual(waits(eager, Array(5).fill(false)), [20, 40, 60, 60, 60]);
});

test('config: the tick knobs, their defaults, and a clear refusal of bad values', () => {
  const defaults = loadConfig({});
  assert.deepEqual([defaults.tickMs, defaults.idleTickMs, defaults.backoffPolls], [50, 250, 4]);
  const set = loadConfig({ TICK_MS: '20', TICK_IDLE_MS: '20', TICK_BACKOFF_POLLS: '1' });
  assert.deepEqual([set.tickMs, set.idleTickMs, set.backoffPolls], [20, 20, 1], 'TICK_IDLE_MS = TICK_MS: a fixed tick');
  assert.throws(() => loadConfig({ TICK_MS: '300' }), /TICK_IDLE_MS \(250\) must be at least TICK_MS \(300\)/);
  assert.throws(() => loadConfig({ TICK_IDLE_MS: '40' }), ConfigError);
  assert.throws(() => loadConfig({ TICK_BACKOFF_POLLS: '0' }), /TICK_BACKOFF_POLLS must be between 1 and/);
  assert.throws(() => loadConfig({ TICK_IDLE_MS: 'slow' }), /TICK_IDLE_MS must be a whole number/);
});
