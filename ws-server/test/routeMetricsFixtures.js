// Hand-written /metrics texts in the two layouts the routes' libraries use
// (route 1: float values and _created series as prometheus_client writes them,
// here with le last; route 2: prom-client's le first and whole numbers), small
// enough to work out their figures by hand, and an HTTP server serving them.
// The libraries' real output is in fixtures/.
import http from 'node:http';

const BOUNDS = ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1.0', '2.5', '5.0'];

function pythonSeries(labels, counts) {
  const count = counts.at(-1);
  return [
    ...BOUNDS.map((le, i) => `ingest_http_request_duration_seconds_bucket{${labels},le="${le}"} ${counts[Math.min(i, counts.length - 1)].toFixed(1)}`),
    `ingest_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${count.toFixed(1)}`,
    `ingest_http_request_duration_seconds_count{${labels}} ${count.toFixed(1)}`,
    `ingest_http_request_duration_seconds_sum{${labels}} 0.04`,
  ].join('\n');
}

// 201: 0, 2, 6, 9, then 10 from 25 ms on; 422: 1, then 2; /healthz must not count.
export const PYTHON_TEXT = `# HELP ingest_http_request_duration_seconds Duration of every HTTP request.
# TYPE ingest_http_request_duration_seconds histogram
${pythonSeries('method="POST",path="/api/metrics",route="python",status="201"', [0, 2, 6, 9, 10])}
${pythonSeries('method="POST",path="/api/metrics",route="python",status="422"', [1, 2])}
${pythonSeries('method="GET",path="/healthz",route="python",status="200"', [5])}
# HELP ingest_http_request_duration_seconds_created Duration of every HTTP request.
# TYPE ingest_http_request_duration_seconds_created gauge
ingest_http_request_duration_seconds_created{method="POST",path="/api/metrics",route="python",status="201"} 1.764730000123e+09
# HELP ingest_records_total Records received, by outcome.
# TYPE ingest_records_total counter
ingest_records_total{outcome="stored",route="python"} 10.0
ingest_records_total{outcome="duplicate",route="python"} 3.0
# HELP ingest_records_created Records received, by outcome.
# TYPE ingest_records_created gauge
ingest_records_created{outcome="stored",route="python"} 1.764730000123e+09
`;

// One answer slower than the last finite bound (5 s): only in +Inf.
const NODE_COUNTS = [0, 0, 1, 3, 5, 5, 5, 5, 5, 5, 5, 6];
export const NODE_TEXT = `# HELP ingest_http_request_duration_seconds Duration of every HTTP request.
# TYPE ingest_http_request_duration_seconds histogram
${BOUNDS.map((le, i) => `ingest_http_request_duration_seconds_bucket{le="${Number(le)}",route="node",method="POST",path="/api/metrics",status="201"} ${NODE_COUNTS[i]}`).join('\n')}
ingest_http_request_duration_seconds_bucket{le="+Inf",route="node",method="POST",path="/api/metrics",status="201"} 7
ingest_http_request_duration_seconds_sum{route="node",method="POST",path="/api/metrics",status="201"} 5.9
ingest_http_request_duration_seconds_count{route="node",method="POST",path="/api/metrics",status="201"} 7

# HELP ingest_records_total Records received, by outcome.
# TYPE ingest_records_total counter
ingest_records_total{route="node",outcome="stored"} 7
ingest_records_total{route="node",outcome="duplicate"} 0
ingest_records_total{route="node",outcome="rejected"} 0
`;

/**
 * An HTTP server on a free port answering /<name>/metrics with texts[name]
 * (a string, or a function returning one; change the object to change the
 * answers), anything else 404; closed after the test.
 */
export async function serveRouteMetrics(t, texts) {
  const server = http.createServer((req, res) => {
    const name = /^\/([a-z0-9_-]+)\/metrics$/.exec(req.url)?.[1];
    const text = typeof texts[name] === 'function' ? texts[name]() : texts[name];
    if (text === undefined) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    return res.end(text);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return (name) => `http://127.0.0.1:${server.address().port}/${name}/metrics`;
}
