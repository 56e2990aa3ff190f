import { memo, useMemo } from 'react';
import { VictoryAxis, VictoryChart, VictoryLine, VictoryScatter } from 'victory';
import { windowSeries } from '../lib/series.js';
import { formatClock, formatPercent } from '../lib/rows.js';
import { useStore } from './storeContext.js';

const AXIS_STYLE = {
  tickLabels: { fontSize: 12, fill: '#475569' },
  grid: { stroke: '#e2e8f0' },
  axis: { stroke: '#94a3b8' },
};

/**
 * One live line chart of a percentage field. Re-renders only when the rows
 * change (rowsVersion) or the window does; what Victory draws is downsampled.
 */
function MetricChart({ title, field, windowMs, rowsVersion, color, testId }) {
  const store = useStore();
  const { points, start, end } = useMemo(() => {
    const end = store.newestHoraMillis;
    return { points: windowSeries(store.rows, field, windowMs, end), start: end - windowMs, end };
    // rowsVersion stands for the store's rows, which change in place.
  }, [store, field, windowMs, rowsVersion]);
  const latestRow = store.rows.last();
  const newest = points[points.length - 1];

  return (
    <section
      className="panel chart"
      data-testid={testId}
      data-points={points.length}
      data-newest-x={newest ? formatClock(newest.x) : ''}
      data-newest-y={newest ? newest.y : ''}
    >
      <header className="panel-header">
        <h2>{title}</h2>
        <span className="latest">
          latest <output data-testid={`${testId}-latest`}>{latestRow ? formatPercent(latestRow[field]) : '–'}</output>
          {latestRow ? <span className="muted"> at {latestRow.hora} UTC</span> : null}
        </span>
      </header>
      <VictoryChart
        scale={{ x: 'time' }}
        domain={{ x: [start, end], y: [0, 100] }}
        height={220}
        width={640}
        padding={{ top: 12, bottom: 34, left: 48, right: 20 }}
      >
        <VictoryAxis tickFormat={(t) => formatClock(t)} tickCount={6} style={AXIS_STYLE} />
        <VictoryAxis dependentAxis tickFormat={(v) => `${v}%`} tickValues={[0, 25, 50, 75, 100]} style={AXIS_STYLE} />
        <VictoryLine data={points} style={{ data: { stroke: color, strokeWidth: 2 } }} />
        <VictoryScatter data={newest ? [newest] : []} size={3.5} style={{ data: { fill: color } }} />
      </VictoryChart>
    </section>
  );
}

export default memo(MetricChart);
