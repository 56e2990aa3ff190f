// The routes' /metrics reduced to routecompare's figures: hand-written texts
// checked against figures worked out by hand, and the client libraries' real
// output checked against what routecompare printed for it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { histogramQuantile, parseRouteMetrics, scrapeDelta } from '../src/routeMetrics.js';
import { NODE_TEXT, PYTHON_TEXT } from './routeMetricsFixtures.js';

const close = (actual, expected) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} vs ${expected}`);

test('route 1 (prometheus_client): POST /api/metrics of every status, 2xx, stored, summed buckets', async () => {
  const scrape = await parseRouteMetrics(PYTHON_TEXT);
  assert.equal(scrape.requests, 12);
  assert.equal(scrape.success, 10);
  assert.equal(scrape.stored, 10);
  assert.deepEqual(scrape.buckets.slice(0, 5), [
    { upperMs: 1, count: 1 }, { upperMs: 2.5, count: 4 }, { upperMs: 5, count: 8 }, { upperMs: 10, count: 11 }, { upperMs: 25, count: 12 },
  ]);
  assert.deepEqual(scrape.buckets.at(-1), { upperMs: Infinity, count: 12 });
  // rank 6 between 2.5 ms (4) and 5 ms (8); rank 11.4 and 11.88 between 10 ms (11) and 25 ms (12).
  close(histogramQuantile(0.5, scrape.buckets), 3.75);
  close(histogramQuantile(0.95, scrape.buckets), 16);
  close(histogramQuantile(0.99, scrape.buckets), 23.2);
});

test('route 2 (prom-client): a rank in the +Inf bucket gives the highest finite bound; other families are not read', async () => {
  // prom-client's default metrics, as it writes them: a NaN gauge is `Nan`.
  const scrape = await parseRouteMetrics(`# HELP nodejs_eventloop_lag_mean_seconds The mean of the recorded event loop delays.
# TYPE nodejs_eventloop_lag_mean_seconds gauge
nodejs_eventloop_lag_mean_seconds Nan
${NODE_TEXT}`);
  assert.deepEqual([scrape.requests, scrape.success, scrape.stored], [7, 7, 7]);
  close(histogramQuantile(0.5, scrape.buckets), 13.75); // rank 3.5 between 10 ms (3) and 25 ms (5)
  assert.equal(histogramQuantile(0.99, scrape.buckets), 5000);
});

test('no request: no percentile; the delta of two scrapes is the traffic between them', async () => {
  const idle = await parseRouteMetrics(NODE_TEXT.replace(/ [0-9.]+$/gm, ' 0'));
  assert.equal(idle.requests, 0);
  assert.equal(histogramQuantile(0.95, idle.buckets), null);
  assert.equal(histogramQuantile(0.95, []), null);
  const later = await parseRouteMetrics(NODE_TEXT);
  const delta = scrapeDelta(later, idle);
  assert.deepEqual([delta.requests, delta.success, delta.stored], [7, 7, 7]);
  assert.deepEqual(delta.buckets, later.buckets);
  assert.deepEqual(scrapeDelta(later, later).buckets.map((b) => b.count), later.buckets.map(() => 0));
});

test('what is not the routes\' metrics is refused', async () => {
  await assert.rejects(parseRouteMetrics('<html><body>502 Bad Gateway</body></html>'), /no histogram ingest_http_request_duration_seconds/);
  await assert.rejects(parseRouteMetrics(`${NODE_TEXT}ingest_records_total{route="node",outcome="stored" 7\n`), /parse/);
  await assert.rejects(parseRouteMetrics('# TYPE ws_ticks_total counter\nws_ticks_total 3\n'), /no histogram ingest_http_request_duration_seconds/);
});

test('the client libraries\' real output (test/fixtures) gives what routecompare printed for the same files', async () => {
  const fixture = (name) => readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), 'utf8');
  // routecompare -mode local over these three files: requests, success %, p50, p95, p99; and the stored counter.
  const printed = {
    'route1-prometheus_client-0.21.0': [211, '94.79', '12.78', '26.12', '47.22', 200],
    'route1-prometheus_client-0.21.0-multiprocess': [211, '94.79', '12.78', '26.12', '47.22', 200],
    'route2-prom-client-15.1.3': [156, '96.79', '24.67', '48.07', '72.00', 151],
  };
  for (const [name, expected] of Object.entries(printed)) {
    const scrape = await parseRouteMetrics(fixture(name));
    const quantiles = [0.5, 0.95, 0.99].map((q) => histogramQuantile(q, scrape.buckets).toFixed(2));
    assert.deepEqual([scrape.requests, ((scrape.success / scrape.requests) * 100).toFixed(2), ...quantiles, scrape.stored], expected, name);
  }
});
