import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import App from '../src/components/App.jsx';
import * as series from '../src/lib/series.js';
import { MetricsStore } from '../src/lib/store.js';
import { immediately, makeRow, makeRows, makeSummary } from './rows.js';

// Counts how often the charts recompute their series, i.e. really re-render.
vi.mock('../src/lib/series.js', async (importOriginal) => {
  const actual = await importOriginal();
  return { ...actual, windowSeries: vi.fn(actual.windowSeries) };
});

afterEach(cleanup);

function renderDashboard() {
  const store = new MetricsStore({ schedule: immediately });
  render(<App store={store} wsUrl="http://ws.example:8090" />);
  return store;
}

describe('dashboard', () => {
  it('shows a clear empty state until the first row', () => {
    const store = renderDashboard();
    expect(screen.getByTestId('empty-state')).toHaveTextContent('No records yet');
    expect(screen.getByTestId('empty-state')).toHaveTextContent('http://ws.example:8090');
    expect(screen.getByTestId('connection')).toHaveAttribute('data-state', 'connecting');
    expect(screen.getByTestId('route-panel')).toHaveAttribute('data-state', 'waiting');
    expect(screen.queryByTestId('ram-chart')).toBeNull();

    act(() => store.applyHistory({ rows: [makeRow(1)], truncated: false }));
    expect(screen.queryByTestId('empty-state')).toBeNull();
    expect(screen.getByTestId('ram-chart')).toBeInTheDocument();
  });

  it('draws RAM % and CPU % and prints the latest values', () => {
    const store = renderDashboard();
    act(() =>
      store.applyHistory({
        rows: [...makeRows(1, 4), makeRow(5, { porcentaje_ram: 63.25, porcentaje_cpu_uso: 17.5, porcentaje_cpu_libre: 82.5 })],
        truncated: false,
      }),
    );
    const ram = screen.getByTestId('ram-chart');
    const cpu = screen.getByTestId('cpu-chart');
    expect(screen.getByTestId('ram-chart-latest')).toHaveTextContent('63.25 %');
    expect(screen.getByTestId('cpu-chart-latest')).toHaveTextContent('17.50 %');
    expect(ram).toHaveAttribute('data-points', '5');
    expect(ram).toHaveAttribute('data-newest-y', '63.25');
    expect(cpu).toHaveAttribute('data-newest-y', '17.5');
    // Victory drew a line through the points.
    const line = ram.querySelector('path');
    expect(line?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
  });

  it('adds new rows as metrics arrive and follows the window selector', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 600), truncated: false }));
    // Default: the last 5 minutes at 1 Hz, 301 readings, downsampled to 300 points.
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '300');
    fireEvent.click(screen.getByTestId('window-1'));
    expect(screen.getByTestId('window-1')).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '61');

    act(() => store.appendRows([makeRow(601, { porcentaje_ram: 88.8 })]));
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '61');
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-newest-y', '88.8');
  });

  it('draws an hour of 1 Hz data as at most 300 points and lists only the newest rows', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 3600), truncated: false }));
    fireEvent.click(screen.getByTestId('window-60'));
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '300');
    expect(screen.getByTestId('ram-chart').querySelectorAll('path')[0].getAttribute('d').split('L')).toHaveLength(300);
    expect(screen.getAllByTestId('recent-row')).toHaveLength(9);
  });

  it('fills the process table with the latest row and the recent ones', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 20), truncated: false }));
    act(() =>
      store.appendRows([
        makeRow(21, { procesos_corriendo: 3, procesos_durmiendo: 290, procesos_zombie: 2, procesos_parados: 1, total_procesos: 296 }),
      ]),
    );
    expect(screen.getByTestId('latest-id')).toHaveTextContent('21');
    expect(screen.getByTestId('latest-procesos_corriendo')).toHaveTextContent('3');
    expect(screen.getByTestId('latest-procesos_durmiendo')).toHaveTextContent('290');
    expect(screen.getByTestId('latest-procesos_zombie')).toHaveTextContent('2');
    expect(screen.getByTestId('latest-procesos_parados')).toHaveTextContent('1');
    expect(screen.getByTestId('latest-total_procesos')).toHaveTextContent('296');
    const recent = screen.getAllByTestId('recent-row');
    expect(recent).toHaveLength(9);
    expect(within(recent[0]).getAllByRole('cell')[0]).toHaveTextContent('20');
  });

  it('shows the route panel from the summary', () => {
    const store = renderDashboard();
    act(() => store.setSummary(makeSummary({ python: 612, node: 588 })));
    expect(screen.getByTestId('route-panel')).toHaveAttribute('data-state', 'ready');
    expect(screen.getByTestId('route-total')).toHaveTextContent('1200');
    expect(screen.getByTestId('route-python-stored')).toHaveTextContent('612');
    expect(screen.getByTestId('route-node-stored')).toHaveTextContent('588');
    expect(screen.getByTestId('route-python-split')).toHaveTextContent('51.0 %');
    expect(screen.getByTestId('route-node-split')).toHaveTextContent('49.0 %');
    expect(screen.getByTestId('route-python-rate')).toHaveTextContent('10.20');
  });

  it('tells connected, reconnecting and database down apart', () => {
    const store = renderDashboard();
    const indicator = () => screen.getByTestId('connection');
    act(() => store.setConnection('connected'));
    expect(indicator()).toHaveAttribute('data-state', 'connected');
    act(() => store.setDatabaseStatus({ database: 'down', message: 'ECONNREFUSED', at: '2026-11-26T20:00:00Z' }));
    expect(indicator()).toHaveAttribute('data-state', 'database-down');
    expect(indicator()).toHaveTextContent('Database down: ECONNREFUSED');
    act(() => store.setConnection('reconnecting'));
    expect(indicator()).toHaveTextContent('Reconnecting');
    act(() => store.setConnection('connected'));
    act(() => store.setDatabaseStatus({ database: 'up', at: '2026-11-26T20:00:05Z' }));
    expect(indicator()).toHaveAttribute('data-state', 'connected');
  });

  it('does not redraw the charts for a summary or a status event', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 10), truncated: false }));
    series.windowSeries.mockClear();
    act(() => store.setSummary(makeSummary()));
    act(() => store.setDatabaseStatus({ database: 'up', at: '2026-11-26T20:00:05Z' }));
    act(() => store.setConnection('connected'));
    expect(series.windowSeries).not.toHaveBeenCalled();
    act(() => store.appendRows([makeRow(11)]));
    expect(series.windowSeries).toHaveBeenCalledTimes(2);
  });
});
