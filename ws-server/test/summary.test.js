import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RATE_WINDOW_MS, RouteSummary } from '../src/summary.js';

test('summary: stored counts, the last minute per route, the split, and an event only when a figure changed', () => {
  const now = Date.parse('2025-10-17T02:21:54.000Z');
  const summary = new RouteSummary();
  summary.reset([{ route: 'python', n: 3 }, { route: 'node', n: '1' }], [{ route: 'python', t: now - 1000 }]);
  for (let i = 0; i < 6; i += 1) summary.add(now - 500 + i * 100, 'node'); // in arrival order, as the stream adds them

  const first = summary.ifChanged(now);
  assert.deepEqual(first, {
    routes: {
      python: { stored: 3, records_per_second: 0.017, split_percent: 30 },
      node: { stored: 7, records_per_second: 0.1, split_percent: 70 },
    },
    total: 10,
    at: '2025-10-17T02:21:54.000Z',
  });
  assert.equal(summary.ifChanged(now + 5), null, 'nothing changed: no event');

  // A minute later the rows of the window have left it; the stored counts stay.
  summary.expire(now + RATE_WINDOW_MS + 1);
  const later = summary.ifChanged(now + RATE_WINDOW_MS + 1);
  assert.equal(later.routes.python.records_per_second, 0);
  assert.equal(later.routes.node.records_per_second, 0);
  assert.equal(later.routes.node.stored, 7);
  assert.deepEqual(new RouteSummary().figures(now).routes.python, { stored: 0, records_per_second: 0, split_percent: 0 });
});
