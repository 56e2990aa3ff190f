import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import App from '../src/components/App.jsx';
import { formatFigure, mergeComparison } from '../src/lib/comparison.js';
import { MetricsStore } from '../src/lib/store.js';
import { immediately, makeComparison, makeSummary } from './rows.js';

afterEach(cleanup);

const HOUR = 3_600_000;
const at = (minute) => new Date(Date.parse('2026-11-26T20:00:00Z') + minute * 60_000).toISOString();

describe('mergeComparison', () => {
  it('replaces the series on replace, appends new points otherwise, drops what is older than the widest window', () => {
    const whole = mergeComparison(null, makeComparison({ replace: true, at: at(0), points: { python: [[at(-70), 9, 3], [at(-1), 10, 3], [at(0), 11, 4]] } }), HOUR);
    expect(whole.routes[0].p95_points.map((p) => p.p95_ms)).toEqual([10, 11]);
    const next = mergeComparison(whole, makeComparison({ at: at(1), points: { python: [[at(1), 12, 5]], node: [[at(1), null, 0]] } }), HOUR);
    expect(next.routes[0].p95_points.map((p) => p.p95_ms)).toEqual([10, 11, 12]);
    expect(next.routes[1].p95_points).toEqual([{ at: at(1), p95_ms: null, requests: 0 }]);
    // A point seen already (the same round twice) is not added again.
    expect(mergeComparison(next, makeComparison({ at: at(1), points: { python: [[at(1), 12, 5]] } }), HOUR).routes[0].p95_points).toHaveLength(3);
    const fresh = mergeComparison(next, makeComparison({ replace: true, at: at(2), points: { python: [[at(2), 1, 1]] } }), HOUR);
    expect(fresh.routes[0].p95_points.map((p) => p.p95_ms)).toEqual([1]);
  });

  it('prints figures as routecompare does', () => {
    expect([formatFigure(83.33333, 2), formatFigure(12.34, 1), formatFigure(null, 2), formatFigure(NaN, 1), formatFigure(7, 0)])
      .toEqual(['83.33', '12.3', '-', '-', '7']);
  });
});

describe('comparison panel', () => {
  function renderDashboard() {
    const store = new MetricsStore({ schedule: immediately });
    render(<App store={store} wsUrl="http://ws.example:8090" />);
    return store;
  }

  it('waits, then shows routecompare\'s columns per route with the database\'s rows, and each p95 over the window', () => {
    const store = renderDashboard();
    expect(screen.getByTestId('comparison-panel')).toHaveAttribute('data-state', 'waiting');
    act(() => store.applyComparison(makeComparison({
      replace: true, at: at(0), points: { python: [[at(-10), 14, 5], [at(-2), 15, 5], [at(0), null, 0]], node: [[at(0), 40, 2]] },
    })));
    act(() => store.setSummary(makeSummary({ python: 30, node: 20 })));
    expect(screen.getByTestId('comparison-panel')).toHaveAttribute('data-state', 'ready');
    const cells = (route) => [...screen.getByTestId(`comparison-${route}`).querySelectorAll('td')].map((td) => td.textContent);
    expect(cells('python')).toEqual(['12', '83.33', '3.75', '16.00', '-', '12.3', '63.2', '30', '60.0']);
    expect(cells('node')).toEqual(['7', '100.00', '3.75', '5000.00', '-', '-', '36.8', '20', '40.0']);
    expect(screen.getByTestId('comparison-python-p95_ms')).toHaveAttribute('data-value', '16');
    // The default 5-minute window: the point 10 minutes old is left out; the idle interval is a gap.
    const chart = screen.getByTestId('p95-chart');
    expect(chart).toHaveAttribute('data-minutes', '5');
    expect(JSON.parse(chart.getAttribute('data-series'))).toEqual({ python: [[at(-2), 15], [at(0), null]], node: [[at(0), 40]] });
    expect(chart.querySelectorAll('path').length).toBeGreaterThan(0);
    act(() => store.chooseWindow(15));
    expect(JSON.parse(screen.getByTestId('p95-chart').getAttribute('data-series')).python).toHaveLength(3);
  });

  it('says why a route\'s figures are old, and when the comparison is off', () => {
    const store = renderDashboard();
    act(() => store.applyComparison(makeComparison({ down: { node: 'no answer within 2000 ms' } })));
    expect(screen.getByTestId('comparison-node')).toHaveAttribute('data-up', 'false');
    expect(screen.getByTestId('comparison-node-error')).toHaveTextContent('scrape failed: no answer within 2000 ms');
    expect(screen.queryByTestId('comparison-python-error')).toBeNull();
    act(() => store.applyComparison(makeComparison({ enabled: false })));
    expect(screen.getByTestId('comparison-panel')).toHaveAttribute('data-state', 'off');
    expect(screen.getByTestId('comparison-off')).toHaveTextContent('ROUTE_METRICS_URLS');
  });
});
