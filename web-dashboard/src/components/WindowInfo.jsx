import { memo } from 'react';
import { millisToHora } from '../lib/rows.js';
import { useStoreSlice } from './storeContext.js';

/** What the charts show: the window, where it ends, which clock the axis is, what a point is. */
function WindowInfo() {
  const chart = useStoreSlice('getChart');
  const { window: chartWindow } = chart;
  let text;
  if (chart.state === 'loading') {
    text = `Loading the last ${chart.minutes} min from the database…`;
  } else if (chart.state === 'error') {
    text = `The ${chart.minutes}-minute window could not be loaded: ${chart.error}. Retrying.`;
  } else if (!chartWindow.domain) {
    text = 'The database holds no records yet; the charts start with the first one.';
  } else {
    text = `Last ${chart.minutes} min, ending at the newest record (${millisToHora(chartWindow.newestMillis)} UTC). `
      + "Time axis: hora, the VM's clock when the record was collected (UTC). "
      + `One point per ${chartWindow.intervalMs / 1000} s: the line is the average, the band min to max.`;
  }
  return (
    <p
      className={`window-info window-${chart.state}`}
      data-testid="window-info"
      data-state={chart.state}
      data-minutes={chart.minutes}
      data-end={chartWindow && !Number.isNaN(chartWindow.newestMillis) ? millisToHora(chartWindow.newestMillis) : ''}
      role="status"
    >
      {text}
    </p>
  );
}

export default memo(WindowInfo);
