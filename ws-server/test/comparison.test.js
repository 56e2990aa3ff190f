// The `comparison` event: the routes' /metrics scraped once per interval for
// every client, routecompare's figures, p95 points, failures and the feature off.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseRouteMetricsUrls } from '../src/config.js';
import { client, serverMetrics, sleep, startServer, waitFor } from './helpers.js';
import { NODE_TEXT, PYTHON_TEXT, serveRouteMetrics } from './routeMetricsFixtures.js';

const INTERVAL_MS = 200;

/** The text with every sample value multiplied by `factor` (the same traffic, `factor` times over). */
const scaled = (text, factor) => text.replace(/^([a-z_]+(?:_bucket|_count|_sum|_total)\{[^}]*\}) ([0-9.e+]+)$/gm,
  (_, series, value) => `${series} ${Number(value) * factor}`);

function assertValid(viewer) {
  assert.deepEqual(viewer.invalid, [], JSON.stringify(viewer.invalid[0]?.errors));
}

test('comparison: routecompare\'s figures per route, one scrape per interval for all clients, p95 of each interval', async (t) => {
  const texts = { python: PYTHON_TEXT, node: NODE_TEXT };
  const url = await serveRouteMetrics(t, texts);
  const { url: wsUrl } = await startServer(t, {
    ROUTE_METRICS_URLS: `python=${url('python')},node=${url('node')}`, ROUTE_METRICS_INTERVAL_MS: String(INTERVAL_MS),
  });
  const viewers = [client(wsUrl), client(wsUrl), client(wsUrl)];
  t.after(() => viewers.forEach((v) => v.close()));
  const secondRound = (c) => !c.replace && c.routes[0].p95_points.length > 0;
  await waitFor('a second round', () => viewers.every((v) => v.comparisons.some(secondRound)));

  const [first] = viewers[0].comparisons;
  assert.equal(first.enabled, true);
  assert.equal(first.interval_ms, INTERVAL_MS);
  const [python, node] = viewers[0].comparisons.find(secondRound).routes;
  // The figures routecompare -mode local prints for these two texts, to its decimals.
  const printed = (r) => [r.route, r.up, r.requests, r.success_percent.toFixed(2), r.p50_ms.toFixed(2), r.p95_ms.toFixed(2), r.p99_ms.toFixed(2), r.split_percent.toFixed(1)];
  assert.deepEqual(printed(python), ['python', true, 12, '83.33', '3.75', '16.00', '23.20', '63.2']);
  assert.deepEqual(printed(node), ['node', true, 7, '100.00', '13.75', '5000.00', '5000.00', '36.8']);
  // Counters that do not move: no stored records per second, no request between scrapes.
  assert.equal(python.records_per_second, 0);
  assert.deepEqual(python.p95_points.map((p) => [p.requests, p.p95_ms]), [[0, null]]);

  // Three clients, one scrape per route per round.
  const before = await serverMetrics(wsUrl);
  await sleep(INTERVAL_MS * 5);
  const after = await serverMetrics(wsUrl);
  const rounds = (after.ws_route_scrapes_total - before.ws_route_scrapes_total) / 2;
  assert.ok(rounds >= 2 && rounds <= 6, `${rounds} rounds in ${INTERVAL_MS * 5} ms`);
  assert.equal(after.ws_route_scrape_errors_total, 0);

  // The same traffic once more: the next interval's p95 is the one of that traffic alone.
  texts.python = scaled(PYTHON_TEXT, 2);
  await waitFor('the doubled counters', () => viewers[0].comparisons.at(-1).routes[0].requests === 24);
  const doubled = viewers[0].comparisons.at(-1).routes[0];
  assert.deepEqual(doubled.p95_points.map((p) => [p.requests, p.p95_ms.toFixed(2)]), [[12, '16.00']]);
  assert.equal(doubled.p95_ms.toFixed(2), '16.00');
  assert.ok(doubled.records_per_second > 0);

  // A newcomer gets every point kept, oldest first.
  const late = client(wsUrl);
  t.after(() => late.close());
  await waitFor('the newcomer\'s comparison', () => late.comparisons.length > 0);
  const whole = late.comparisons[0];
  assert.equal(whole.replace, true);
  const points = whole.routes[0].p95_points;
  assert.ok(points.some((p) => p.requests === 12 && p.p95_ms.toFixed(2) === '16.00'), JSON.stringify(points));
  assert.deepEqual(points.map((p) => p.at), points.map((p) => p.at).sort());
  [...viewers, late].forEach(assertValid);
});

test('comparison: records/s is the stored counter\'s change over the last scrapes', async (t) => {
  const started = Date.now();
  const RATE = 40;
  const texts = { node: () => NODE_TEXT.replace('ingest_records_total{route="node",outcome="stored"} 7', `ingest_records_total{route="node",outcome="stored"} ${((Date.now() - started) / 1000) * RATE}`) };
  const url = await serveRouteMetrics(t, texts);
  const { url: wsUrl } = await startServer(t, { ROUTE_METRICS_URLS: `node=${url('node')}`, ROUTE_METRICS_INTERVAL_MS: String(INTERVAL_MS) });
  const viewer = client(wsUrl);
  t.after(() => viewer.close());
  await waitFor('five rounds', () => viewer.comparisons.filter((c) => !c.replace).length >= 5);
  const rate = viewer.comparisons.at(-1).routes[0].records_per_second;
  assert.ok(Math.abs(rate - RATE) < RATE * 0.1, `records/s ${rate}, served ${RATE}`);
  assertValid(viewer);
});

test('comparison: a route that fails keeps its last figures, says why, and the others go on', async (t) => {
  const texts = { python: PYTHON_TEXT, node: NODE_TEXT };
  const url = await serveRouteMetrics(t, texts);
  const { url: wsUrl, logs } = await startServer(t, {
    ROUTE_METRICS_URLS: `python=${url('python')},node=${url('node')}`, ROUTE_METRICS_INTERVAL_MS: String(INTERVAL_MS),
  });
  const viewer = client(wsUrl);
  t.after(() => viewer.close());
  await waitFor('a round', () => viewer.comparisons.some((c) => !c.replace && c.routes.every((r) => r.up)));
  delete texts.node;
  await waitFor('node down', () => viewer.comparisons.at(-1).routes[1].up === false);
  const node = viewer.comparisons.at(-1).routes[1];
  assert.equal(node.error, 'GET /metrics answered 404');
  assert.equal(node.requests, 7, 'the last good scrape\'s figures');
  texts.node = '<html>maintenance</html>';
  await waitFor('node not Prometheus', () => /^not the route's Prometheus metrics/.test(viewer.comparisons.at(-1).routes[1].error ?? ''));
  assert.equal(viewer.comparisons.at(-1).routes[0].up, true);
  texts.node = NODE_TEXT;
  await waitFor('node back', () => viewer.comparisons.at(-1).routes[1].up);
  assert.equal(logs.filter((l) => l.msg === 'route metrics scrape failed').length, 2, 'one log line per new failure, not per scrape');
  assertValid(viewer);
});

test('comparison: a route that does not answer in time, and ROUTE_METRICS_URLS unset', async (t) => {
  const silent = http.createServer(() => {}); // takes the request, never answers
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { silent.closeAllConnections(); silent.close(resolve); }));
  const { url: wsUrl } = await startServer(t, {
    ROUTE_METRICS_URLS: `python=http://127.0.0.1:${silent.address().port}/metrics`, ROUTE_METRICS_INTERVAL_MS: '100', ROUTE_METRICS_TIMEOUT_MS: '100',
  });
  const viewer = client(wsUrl);
  t.after(() => viewer.close());
  await waitFor('the timeout', () => viewer.comparisons.some((c) => !c.replace));
  const [python] = viewer.comparisons.find((c) => !c.replace).routes;
  assert.equal(python.up, false);
  assert.equal(python.error, 'no answer within 100 ms');
  assert.deepEqual([python.scraped_at, python.requests, python.p95_ms, python.split_percent], [null, 0, null, null]);

  const { url: offUrl } = await startServer(t);
  const off = client(offUrl);
  t.after(() => off.close());
  await waitFor('the comparison on connect', () => off.comparisons.length > 0);
  await sleep(300);
  assert.deepEqual(off.comparisons, [{ enabled: false, interval_ms: 5000, at: null, replace: true, routes: [] }]);
  [viewer, off].forEach(assertValid);
});

test('comparison: ROUTE_METRICS_URLS and its knobs are checked at startup', () => {
  assert.deepEqual(parseRouteMetricsUrls('python=http://127.0.0.1:8001/metrics, node=http://127.0.0.1:8002/metrics'),
    [{ name: 'python', url: 'http://127.0.0.1:8001/metrics' }, { name: 'node', url: 'http://127.0.0.1:8002/metrics' }]);
  assert.deepEqual(parseRouteMetricsUrls(undefined), []);
  for (const bad of ['python', 'python=', '=http://x/metrics', 'Python=http://x/metrics', 'python=ftp://x/metrics', 'a=http://x,a=http://y']) {
    assert.throws(() => parseRouteMetricsUrls(bad), ConfigError, bad);
  }
  const config = loadConfig({});
  assert.deepEqual(config.routeMetrics, { routes: [], intervalMs: 5000, timeoutMs: 2000 });
  assert.throws(() => loadConfig({ ROUTE_METRICS_INTERVAL_MS: '10' }), /ROUTE_METRICS_INTERVAL_MS must be between 100/);
  assert.throws(() => loadConfig({ ROUTE_METRICS_TIMEOUT_MS: 'soon' }), /ROUTE_METRICS_TIMEOUT_MS must be a whole number/);
});
