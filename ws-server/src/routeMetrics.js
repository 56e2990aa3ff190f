// What one scrape of a route's /metrics says about its ingestion endpoint, and
// the arithmetic on it, exactly as go-agent's routecompare does it in local mode
// (internal/routecompare/local.go and stats.go), so the dashboard and the
// report print the same figures for the same data.
import { getMetricsFromIterator } from 'prom2javascript';

// Metric names and labels fixed by contracts/ingest-api.yaml.
const DURATION_METRIC = 'ingest_http_request_duration_seconds';
const RECORDS_METRIC = 'ingest_records_total';
const INGEST_METHOD = 'POST';
const INGEST_PATH = '/api/metrics';
// Only the lines (and HELP/TYPE) of the two families above reach the parser:
// the routes' runtime metrics are not read, and prom-client writes a NaN gauge
// as `Nan`, which prom2javascript refuses. `_created` series are left out too.
const OUR_FAMILIES = new RegExp(`^(# (HELP|TYPE) )?(${DURATION_METRIC}(_bucket|_count|_sum)?|${RECORDS_METRIC})[ \t{]`);

/**
 * { requests, success, stored, buckets } of a Prometheus text exposition:
 * requests and their cumulative latency buckets (upperMs, count; +Inf last)
 * summed over every status of POST /api/metrics, the 2xx among them, and
 * ingest_records_total{outcome="stored"}. Throws when the text is not
 * Prometheus text or has no such histogram.
 */
export async function parseRouteMetrics(text) {
  const lines = text.split('\n').filter((line) => OUR_FAMILIES.test(line));
  const families = await getMetricsFromIterator(lines[Symbol.iterator]());
  const histogram = families[DURATION_METRIC];
  if (histogram?.type !== 'histogram') throw new Error(`no histogram ${DURATION_METRIC}`);
  const byBound = new Map();
  const add = (bound, count) => byBound.set(bound, (byBound.get(bound) ?? 0) + count);
  let requests = 0;
  let success = 0;
  for (const series of histogram.data) {
    if (series.labels.method !== INGEST_METHOD || series.labels.path !== INGEST_PATH) continue;
    requests += series.count;
    if (String(series.labels.status ?? '').startsWith('2')) success += series.count;
    for (const [le, count] of Object.entries(series.buckets)) {
      if (le !== '+Inf') add(Number(le) * 1000, count);
    }
    add(Infinity, series.count); // the +Inf bucket is the sample count
  }
  let stored = 0;
  for (const series of families[RECORDS_METRIC]?.data ?? []) {
    if (series.labels.outcome === 'stored') stored += series.value;
  }
  const buckets = [...byBound].map(([upperMs, count]) => ({ upperMs, count })).sort((a, b) => a.upperMs - b.upperMs);
  return { requests, success, stored, buckets };
}

/**
 * Prometheus' histogram_quantile over cumulative buckets sorted by upperMs:
 * the bucket holding rank q * total, interpolated linearly (from 0 for the
 * first bucket); a rank in the +Inf bucket gives the highest finite bound.
 * null without observations.
 */
export function histogramQuantile(q, buckets) {
  if (buckets.length < 2 || buckets.at(-1).upperMs !== Infinity) return null;
  const total = buckets.at(-1).count;
  if (total === 0) return null;
  const rank = q * total;
  const i = buckets.findIndex((b) => b.count >= rank);
  if (i === buckets.length - 1) return buckets.at(-2).upperMs;
  const [lower, below] = i > 0 ? [buckets[i - 1].upperMs, buckets[i - 1].count] : [0, 0];
  if (buckets[i].count === below) return buckets[i].upperMs;
  return lower + ((buckets[i].upperMs - lower) * (rank - below)) / (buckets[i].count - below);
}

/** The traffic between two scrapes: later minus earlier, per counter and bucket. */
export function scrapeDelta(later, earlier) {
  const before = new Map(earlier.buckets.map((b) => [b.upperMs, b.count]));
  return {
    requests: later.requests - earlier.requests,
    success: later.success - earlier.success,
    stored: later.stored - earlier.stored,
    buckets: later.buckets.map((b) => ({ upperMs: b.upperMs, count: b.count - (before.get(b.upperMs) ?? 0) })),
  };
}
