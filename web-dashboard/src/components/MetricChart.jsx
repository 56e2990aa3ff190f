import { memo, useEffect, useMemo } from 'react';
import { VictoryArea, VictoryAxis, VictoryChart, VictoryLine, VictoryScatter } from 'victory';
import { formatClock, formatPercent, millisToHora } from '../lib/rows.js';
import { useStore, useStoreSlice } from './storeContext.js';

const AXIS_STYLE = {
  tickLabels: { fontSize: 12, fill: '#475569' },
  grid: { stroke: '#e2e8f0' },
  axis: { stroke: '#94a3b8' },
};

// The first time each chart draws a loaded window, as a User Timing mark
// (performance.getEntriesByName): what the browser test measures.
const drawnOnce = new Set();

/**
 * One chart of a percentage field over the chosen window: per bucket the
 * average as a line and min–max as a band, as ws-server computed them from the
 * database and live rows extended them. At most 300 points, whatever the table holds.
 */
function MetricChart({ title, field, color, testId }) {
  const store = useStore();
  const chart = useStoreSlice('getChart');
  useStoreSlice('getRowsVersion'); // the latest value below
  const { window: chartWindow } = chart;
  const points = useMemo(() => (chartWindow ? chartWindow.points(field) : []), [chartWindow, field, chart.revision]);
  const domain = chartWindow?.domain ?? null;
  const latestRow = store.rows.last();
  const newest = points[points.length - 1];

  useEffect(() => {
    if (chart.state !== 'ready' || drawnOnce.has(testId)) return;
    drawnOnce.add(testId);
    performance.mark(`first-window-draw:${testId}`);
  }, [chart.state, testId]);

  return (
    <section
      className="panel chart"
      data-testid={testId}
      data-state={chart.state}
      data-minutes={chart.minutes}
      data-points={points.length}
      data-newest-x={newest ? formatClock(newest.x) : ''}
      data-newest-y={newest ? newest.y : ''}
      data-series={JSON.stringify(points.map((p) => [millisToHora(p.x), p.y, p.min, p.max]))}
    >
      <header className="panel-header">
        <h2>{title}</h2>
        <span className="latest">
          latest <output data-testid={`${testId}-latest`}>{latestRow ? formatPercent(latestRow[field]) : '–'}</output>
          {latestRow ? <span className="muted"> at {latestRow.hora} UTC</span> : null}
        </span>
      </header>
      {chart.state === 'ready' && domain ? (
        <VictoryChart
          scale={{ x: 'time' }}
          domain={{ x: domain, y: [0, 100] }}
          height={220}
          width={640}
          padding={{ top: 12, bottom: 34, left: 48, right: 20 }}
        >
          <VictoryAxis tickFormat={(t) => formatClock(t)} tickCount={6} style={AXIS_STYLE} />
          <VictoryAxis dependentAxis tickFormat={(v) => `${v}%`} tickValues={[0, 25, 50, 75, 100]} style={AXIS_STYLE} />
          <VictoryArea
            data={points.map((p) => ({ x: p.x, y: p.max, y0: p.min }))}
            style={{ data: { fill: color, fillOpacity: 0.15, stroke: 'none' } }}
          />
          <VictoryLine data={points} style={{ data: { stroke: color, strokeWidth: 2 } }} />
          <VictoryScatter data={newest ? [newest] : []} size={3.5} style={{ data: { fill: color } }} />
        </VictoryChart>
      ) : (
        <p className="chart-placeholder muted" data-testid={`${testId}-placeholder`}>
          {chart.state === 'error' ? 'The window could not be loaded (see above).' : 'Loading the window…'}
        </p>
      )}
    </section>
  );
}

export default memo(MetricChart);
