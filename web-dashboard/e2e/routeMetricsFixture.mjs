// Stand-ins for the two routes' /metrics, serving their real metric names and
// labels (contracts/ingest-api.yaml) in the layout each client library writes
// (compared with the libraries' real output in ws-server/test/fixtures/). The
// test sets the latencies observed; the stored-records counter grows at a fixed rate.
import http from 'node:http';

// Both routes' buckets (route1/metrics.py, route2-node/src/metrics.js), seconds.
const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const METRIC = 'ingest_http_request_duration_seconds';

/** Cumulative counts per bound, the count and the sum of latencies in ms. */
function histogram(latenciesMs) {
  return {
    buckets: BOUNDS.map((le) => latenciesMs.filter((ms) => ms <= le * 1000).length),
    count: latenciesMs.length,
    sum: latenciesMs.reduce((a, b) => a + b, 0) / 1000,
  };
}

// As prometheus_client 0.21.0 writes it in multiprocess mode (route 1 with
// several workers): labels sorted, le first, float values, every _sum line first.
function pythonText(route, series, stored) {
  const labels = (s) => `method="${s.method}",path="${s.path}",route="${route}",status="${s.status}"`;
  const histograms = series.map((s) => [s, histogram(s.latenciesMs)]);
  const lines = [`# HELP ${METRIC} Duration of every HTTP request.`, `# TYPE ${METRIC} histogram`];
  for (const [s, h] of histograms) lines.push(`${METRIC}_sum{${labels(s)}} ${h.sum}`);
  for (const [s, h] of histograms) {
    BOUNDS.forEach((le, i) => lines.push(`${METRIC}_bucket{le="${Number.isInteger(le) ? le.toFixed(1) : le}",${labels(s)}} ${h.buckets[i].toFixed(1)}`));
    lines.push(`${METRIC}_bucket{le="+Inf",${labels(s)}} ${h.count.toFixed(1)}`, `${METRIC}_count{${labels(s)}} ${h.count.toFixed(1)}`);
  }
  lines.push('# HELP ingest_records_total Records received, by outcome (records, not requests).', '# TYPE ingest_records_total counter');
  lines.push(`ingest_records_total{outcome="duplicate",route="${route}"} 0.0`, `ingest_records_total{outcome="stored",route="${route}"} ${stored}`);
  return `${lines.join('\n')}\n`;
}

// As prom-client 15 writes it for route2-node/src/metrics.js: default metrics
// first (a NaN gauge written `Nan`), le first, whole numbers.
function promClientText(route, series, stored) {
  const labels = (s) => `route="${route}",method="${s.method}",path="${s.path}",status="${s.status}"`;
  const lines = ['# HELP nodejs_eventloop_lag_mean_seconds The mean of the recorded event loop delays.',
    '# TYPE nodejs_eventloop_lag_mean_seconds gauge', 'nodejs_eventloop_lag_mean_seconds Nan',
    `# HELP ${METRIC} Duration of every HTTP request.`, `# TYPE ${METRIC} histogram`];
  for (const s of series) {
    const h = histogram(s.latenciesMs);
    BOUNDS.forEach((le, i) => lines.push(`${METRIC}_bucket{le="${le}",${labels(s)}} ${h.buckets[i]}`));
    lines.push(`${METRIC}_bucket{le="+Inf",${labels(s)}} ${h.count}`, `${METRIC}_sum{${labels(s)}} ${h.sum}`, `${METRIC}_count{${labels(s)}} ${h.count}`);
  }
  lines.push('', '# HELP ingest_records_total Records received, by outcome.', '# TYPE ingest_records_total counter');
  lines.push(`ingest_records_total{route="${route}",outcome="stored"} ${stored}`, `ingest_records_total{route="${route}",outcome="rejected"} 0`);
  return `${lines.join('\n')}\n`;
}

const FORMATS = { python: pythonText, node: promClientText };

/**
 * Serves /<route>/metrics for routes python and node on 127.0.0.1:port:
 * routes[name] = { series: [{ method, path, status, latenciesMs }], recordsPerSecond }.
 * /<route>-batch/metrics serves only the series given to addBatch last, for
 * routecompare to work out what that traffic alone gives.
 */
export async function startRouteMetrics(port, routes) {
  const started = Date.now();
  const batches = {};
  const text = (name) => {
    const [route, batch] = name.split('-');
    if (!FORMATS[route] || !routes[route]) return null;
    if (batch === 'batch') return batches[route] ? FORMATS[route](route, batches[route], 0) : null;
    if (batch !== undefined) return null;
    return FORMATS[route](route, routes[route].series, ((Date.now() - started) / 1000) * routes[route].recordsPerSecond);
  };
  const server = http.createServer((req, res) => {
    const body = text(/^\/([a-z-]+)\/metrics$/.exec(req.url)?.[1] ?? '');
    if (body === null) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    return res.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}/metrics`,
    /** More traffic on route: its series gain these observations, all at once. */
    addBatch(route, series) {
      batches[route] = series;
      for (const extra of series) {
        const same = routes[route].series.find((s) => s.method === extra.method && s.path === extra.path && s.status === extra.status);
        if (same) same.latenciesMs = [...same.latenciesMs, ...extra.latenciesMs];
        else routes[route].series.push({ ...extra });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
