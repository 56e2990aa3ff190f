import { memo } from 'react';
import { VictoryAxis, VictoryChart, VictoryLegend, VictoryLine, VictoryScatter } from 'victory';
import { formatFigure } from '../lib/comparison.js';
import { formatClock } from '../lib/rows.js';
import { useStoreSlice } from './storeContext.js';

const AXIS_STYLE = {
  tickLabels: { fontSize: 11, fill: '#475569' },
  grid: { stroke: '#e2e8f0' },
  axis: { stroke: '#94a3b8' },
};
const ROUTE_COLORS = { python: '#2563eb', node: '#f97316' };
const OTHER_COLORS = ['#16a34a', '#9333ea', '#0891b2', '#ca8a04'];

// routecompare's columns, in its order and to its decimals. `db` figures come
// from the `summary` event (rows in metric_records), the others from `comparison`.
const COLUMNS = [
  ['requests', 'requests', 0],
  ['success_percent', 'success %', 2],
  ['p50_ms', 'p50 ms', 2],
  ['p95_ms', 'p95 ms', 2],
  ['p99_ms', 'p99 ms', 2],
  ['records_per_second', 'records/s', 1],
  ['split_percent', 'split %', 1],
  ['db_rows', 'db rows', 0],
  ['db_split_percent', 'db split %', 1],
];

function colorOf(route, i) {
  return ROUTE_COLORS[route] ?? OTHER_COLORS[i % OTHER_COLORS.length];
}

/** Each route's p95 per scrape interval over the chosen window, on ws-server's clock. */
function P95Chart({ routes, at, minutes }) {
  const end = Date.parse(at);
  const start = end - minutes * 60_000;
  const series = routes.map((route) => ({
    route: route.route,
    points: route.p95_points
      .map((p) => ({ x: Date.parse(p.at), y: p.p95_ms }))
      .filter((p) => p.x >= start),
  }));
  const highest = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y ?? 0)));
  return (
    <figure
      className="p95-chart"
      data-testid="p95-chart"
      data-minutes={minutes}
      data-series={JSON.stringify(Object.fromEntries(series.map((s) => [s.route, s.points.map((p) => [new Date(p.x).toISOString(), p.y])])))}
    >
      <figcaption className="muted">
        p95 latency per scrape interval, last {minutes} min (ws-server&apos;s clock, UTC); intervals without requests are left out
      </figcaption>
      <VictoryChart
        scale={{ x: 'time' }}
        domain={{ x: [start, end], y: [0, highest * 1.1] }}
        height={160}
        width={640}
        padding={{ top: 28, bottom: 30, left: 56, right: 20 }}
      >
        <VictoryLegend
          x={60}
          y={0}
          orientation="horizontal"
          gutter={16}
          style={{ labels: { fontSize: 11 } }}
          data={series.map((s, i) => ({ name: s.route, symbol: { fill: colorOf(s.route, i) } }))}
        />
        <VictoryAxis tickFormat={(t) => formatClock(t)} tickCount={5} style={AXIS_STYLE} />
        <VictoryAxis dependentAxis tickFormat={(v) => `${v} ms`} tickCount={4} style={AXIS_STYLE} />
        {/* Idle intervals (no p95) are left out; a dot marks every interval with traffic, so a lone one shows too. */}
        {series.map((s, i) => (
          <VictoryLine key={`${s.route}-line`} data={s.points.filter((p) => p.y !== null)} style={{ data: { stroke: colorOf(s.route, i), strokeWidth: 1.5 } }} />
        ))}
        {series.map((s, i) => (
          <VictoryScatter key={`${s.route}-dots`} data={s.points.filter((p) => p.y !== null)} size={2.5} style={{ data: { fill: colorOf(s.route, i) } }} />
        ))}
      </VictoryChart>
    </figure>
  );
}

/**
 * The comparison the project exists for, live: per route what `routecompare
 * -mode local -db` prints, from the routes' own Prometheus metrics (scraped by
 * ws-server) and the database's rows per route, and a chart of each p95.
 */
function ComparisonPanel() {
  const comparison = useStoreSlice('getComparison');
  const summary = useStoreSlice('getSummary');
  const chart = useStoreSlice('getChart');
  let body;
  if (!comparison) {
    body = <p className="muted">Waiting for the route comparison from ws-server…</p>;
  } else if (!comparison.enabled) {
    body = (
      <p className="muted" data-testid="comparison-off">
        The comparison is off: ws-server scrapes no route metrics (set its <code>ROUTE_METRICS_URLS</code>, e.g.{' '}
        <code>python=http://127.0.0.1:8001/metrics,node=http://127.0.0.1:8002/metrics</code>).
      </p>
    );
  } else {
    const rows = comparison.routes.map((route) => ({
      ...route,
      db_rows: summary?.routes?.[route.route]?.stored ?? null,
      db_split_percent: summary?.routes?.[route.route]?.split_percent ?? null,
    }));
    body = (
      <>
        <table className="comparison-table">
          <thead>
            <tr>
              <th scope="col">route</th>
              {COLUMNS.map(([field, label]) => <th scope="col" key={field}>{label}</th>)}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.route} data-testid={`comparison-${row.route}`} data-up={row.up}>
                <th scope="row">
                  {row.route}
                  {row.up ? null : <span className="route-down" data-testid={`comparison-${row.route}-error`}> (scrape failed: {row.error})</span>}
                </th>
                {COLUMNS.map(([field, , digits]) => (
                  <td key={field} data-testid={`comparison-${row.route}-${field}`} data-value={row[field] ?? ''}>
                    {formatFigure(row[field], digits)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted comparison-note">
          Totals since each route started, from its own /metrics (POST /api/metrics, every status), scraped every{' '}
          {comparison.interval_ms / 1000} s{comparison.at ? `, last at ${comparison.at.slice(11, 19)} UTC` : ''};
          records/s over the last minute; db rows and db split from metric_records.
        </p>
        {comparison.at ? <P95Chart routes={comparison.routes} at={comparison.at} minutes={chart.minutes} /> : null}
      </>
    );
  }
  return (
    <section className="panel comparison" data-testid="comparison-panel" data-state={comparison ? (comparison.enabled ? 'ready' : 'off') : 'waiting'}>
      <header className="panel-header">
        <h2>Route comparison</h2>
      </header>
      {body}
    </section>
  );
}

export default memo(ComparisonPanel);
