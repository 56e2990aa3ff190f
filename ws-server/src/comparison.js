// The route comparison (contracts/realtime-events.schema.json#/$defs/comparison):
// every interval one scrape of each route's /metrics for all clients together,
// the figures routecompare prints in local mode computed from them, and one
// p95 point per route per interval for the dashboard's chart.
import { histogramQuantile, parseRouteMetrics, scrapeDelta } from './routeMetrics.js';

/** records/s: the stored-records counter's change over this much of the newest scrapes. */
export const RATE_WINDOW_MS = 60_000;
/** p95 points are kept this long: the dashboard's widest window. */
export const SERIES_SPAN_MS = 60 * 60_000;

const percent = (part, whole) => (whole > 0 ? (part / whole) * 100 : null);

/** The figures of one route's newest good scrape, as routecompare -window 0 computes them. */
function routeFigures(route) {
  const newest = route.recent.at(-1);
  if (!newest) {
    return { requests: 0, success_percent: null, p50_ms: null, p95_ms: null, p99_ms: null, records_per_second: null };
  }
  const { scrape } = newest;
  const oldest = route.recent.find((entry) => entry.at >= newest.at - RATE_WINDOW_MS);
  const seconds = (newest.at - oldest.at) / 1000;
  return {
    requests: scrape.requests,
    success_percent: percent(scrape.success, scrape.requests),
    p50_ms: histogramQuantile(0.5, scrape.buckets),
    p95_ms: histogramQuantile(0.95, scrape.buckets),
    p99_ms: histogramQuantile(0.99, scrape.buckets),
    records_per_second: seconds > 0 ? (scrape.stored - oldest.scrape.stored) / seconds : null,
  };
}

export class RouteComparison {
  /** routes: [{ name, url }]; nothing is scraped when it is empty (the feature is off). */
  constructor({ routes, intervalMs, timeoutMs, log, fetchImpl = fetch }) {
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    this.log = log;
    this.fetch = fetchImpl;
    this.routes = routes.map(({ name, url }) => ({ name, url, recent: [], points: [], error: 'not scraped yet' }));
    this.lastRoundAt = null;
    this.scrapesTotal = 0;
    this.scrapeErrorsTotal = 0;
    this.running = false;
    this.timer = null;
    this.currentRound = null;
  }

  get enabled() {
    return this.routes.length > 0;
  }

  /** Scrapes every interval (a round starts only after the last one ended) and hands each round's update to onUpdate. */
  start(onUpdate) {
    if (!this.enabled) return;
    this.running = true;
    const loop = async () => {
      this.currentRound = this.round();
      const points = await this.currentRound;
      if (!this.running) return;
      onUpdate(this.snapshot(points));
      this.timer = setTimeout(loop, this.intervalMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop() {
    this.running = false;
    clearTimeout(this.timer);
    await this.currentRound;
  }

  /** One scrape of every route; resolves to the p95 point each added (route name -> point). */
  async round() {
    this.lastRoundAt = Date.now();
    const added = new Map();
    await Promise.all(this.routes.map(async (route) => {
      const point = await this.scrapeRoute(route);
      if (point) added.set(route.name, point);
    }));
    return added;
  }

  async scrapeRoute(route) {
    this.scrapesTotal += 1;
    let scrape;
    let at;
    try {
      const response = await this.fetch(route.url, {
        headers: { accept: 'text/plain;version=0.0.4' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The route writes its counters when it answers: a slow answer is stamped
      // with when it came, not when it was asked for (records/s divides by these).
      at = Date.now();
      if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
      const text = await response.text();
      try {
        scrape = await parseRouteMetrics(text);
      } catch (err) {
        throw new Error(`not the route's Prometheus metrics: ${err.message}`);
      }
    } catch (err) {
      this.scrapeErrorsTotal += 1;
      const reason = err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message;
      if (route.error !== reason) this.log('warn', 'route metrics scrape failed', { route: route.name, url: route.url, error: reason });
      route.error = reason;
      return null;
    }
    route.error = null;
    const previous = route.recent.at(-1);
    // Counters that went down: the route restarted; its totals start over.
    if (previous && (scrape.requests < previous.scrape.requests || scrape.stored < previous.scrape.stored)) {
      this.log('info', 'route counters went down (restarted?); starting over', { route: route.name });
      route.recent = [];
    }
    const earlier = route.recent.at(-1);
    route.recent.push({ at, scrape });
    while (route.recent[0].at < at - RATE_WINDOW_MS) route.recent.shift();
    if (!earlier) return null;
    const delta = scrapeDelta(scrape, earlier.scrape);
    const point = { at: new Date(at).toISOString(), p95_ms: histogramQuantile(0.95, delta.buckets), requests: delta.requests };
    route.points.push(point);
    while (Date.parse(route.points[0].at) < at - SERIES_SPAN_MS) route.points.shift();
    return point;
  }

  /**
   * The `comparison` event. With pointsByRoute (a round's update) each route
   * carries only its new point; without, every point kept (`replace`: the
   * client drops the series it had).
   */
  snapshot(pointsByRoute) {
    const figures = this.routes.map(routeFigures);
    const totalRequests = figures.reduce((sum, f) => sum + f.requests, 0);
    return {
      enabled: this.enabled,
      interval_ms: this.intervalMs,
      at: this.lastRoundAt === null ? null : new Date(this.lastRoundAt).toISOString(),
      replace: pointsByRoute === undefined,
      routes: this.routes.map((route, i) => ({
        route: route.name,
        up: route.error === null,
        ...(route.error === null ? {} : { error: route.error }),
        scraped_at: route.recent.length > 0 ? new Date(route.recent.at(-1).at).toISOString() : null,
        ...figures[i],
        split_percent: percent(figures[i].requests, totalRequests),
        p95_points: pointsByRoute === undefined ? [...route.points] : [pointsByRoute.get(route.name)].filter(Boolean),
      })),
    };
  }
}
