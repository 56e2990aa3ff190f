import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import App from '../src/components/App.jsx';
import { ChartWindow } from '../src/lib/chartWindow.js';
import { MetricsStore } from '../src/lib/store.js';
import { immediately, makeRow, makeRows, makeSummary, makeWindow } from './rows.js';

afterEach(cleanup);

function renderDashboard() {
  const store = new MetricsStore({ schedule: immediately });
  render(<App store={store} wsUrl="http://ws.example:8090" />);
  return store;
}

/** The history, then ws-server's answer for the chosen window over the same rows. */
function load(store, rows) {
  act(() => store.applyHistory({ rows, truncated: false }));
  act(() => store.applyWindow(makeWindow(store.windowMinutes, rows)));
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

  it('draws RAM % and CPU % of the loaded window and prints the latest values', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 2), truncated: false }));
    expect(screen.getByTestId('window-info')).toHaveAttribute('data-state', 'loading');
    expect(screen.getByTestId('ram-chart-placeholder')).toHaveTextContent('Loading the window');
    load(store, [...makeRows(1, 4), makeRow(5, { porcentaje_ram: 63.25, porcentaje_cpu_uso: 17.5, porcentaje_cpu_libre: 82.5 })]);
    const ram = screen.getByTestId('ram-chart');
    const cpu = screen.getByTestId('cpu-chart');
    expect(screen.getByTestId('ram-chart-latest')).toHaveTextContent('63.25 %');
    expect(screen.getByTestId('cpu-chart-latest')).toHaveTextContent('17.50 %');
    expect(ram).toHaveAttribute('data-state', 'ready');
    expect(ram).toHaveAttribute('data-points', '5');
    expect(ram).toHaveAttribute('data-newest-y', '63.25');
    expect(cpu).toHaveAttribute('data-newest-y', '17.5');
    expect(JSON.parse(ram.getAttribute('data-series'))[0]).toEqual(['2026-11-26 20:00:01', 41, 41, 41]);
    // Victory drew the band and the line through the points.
    expect(ram.querySelectorAll('path')).not.toHaveLength(0);
    expect(ram.querySelector('path')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
    expect(screen.getByTestId('window-info')).toHaveTextContent(
      "Last 5 min, ending at the newest record (2026-11-26 20:00:05 UTC). Time axis: hora, the VM's clock when the record was collected (UTC). One point per 1 s",
    );
    expect(screen.getByTestId('window-info')).toHaveAttribute('data-end', '2026-11-26 20:00:05');
  });

  it('adds new rows as metrics arrive and reloads on the window selector', () => {
    const store = renderDashboard();
    const requested = [];
    store.requestWindow = () => requested.push(store.windowMinutes);
    const rows = makeRows(1, 600);
    load(store, rows);
    // The last 5 minutes at 1 s: 300 buckets.
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '300');
    fireEvent.click(screen.getByTestId('window-1'));
    expect(requested).toEqual([1]);
    expect(screen.getByTestId('window-1')).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-state', 'loading');
    act(() => store.applyWindow(makeWindow(1, rows)));
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '60');

    act(() => store.appendRows([makeRow(601, { porcentaje_ram: 88.8 })]));
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '60');
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-newest-y', '88.8');
  });

  it('draws an hour of data as 300 points and lists only the newest rows', () => {
    const store = renderDashboard();
    const rows = makeRows(1, 3600);
    act(() => store.applyHistory({ rows, truncated: false }));
    act(() => store.chooseWindow(60));
    act(() => store.applyWindow(makeWindow(60, rows)));
    expect(screen.getByTestId('ram-chart')).toHaveAttribute('data-points', '300');
    expect(screen.getByTestId('window-info')).toHaveTextContent('One point per 12 s');
    expect(screen.getAllByTestId('recent-row')).toHaveLength(9);
  });

  it('says why the window is missing when ws-server could not load it', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({ rows: makeRows(1, 3), truncated: false }));
    act(() => store.windowFailed(5, 'window: database unreachable: ECONNREFUSED'));
    expect(screen.getByTestId('window-info')).toHaveAttribute('data-state', 'error');
    expect(screen.getByTestId('window-info')).toHaveTextContent(
      'The 5-minute window could not be loaded: window: database unreachable: ECONNREFUSED. Retrying.',
    );
    expect(screen.getByTestId('ram-chart-placeholder')).toHaveTextContent('could not be loaded');
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

  it('says, per row, whether the four states add up to the total, and why not', () => {
    const store = renderDashboard();
    act(() => store.applyHistory({
      rows: [
        makeRow(1, { procesos_corriendo: 2, procesos_durmiendo: 300, procesos_zombie: 1, procesos_parados: 0, total_procesos: 303 }),
        makeRow(2, { procesos_corriendo: 2, procesos_durmiendo: 300, procesos_zombie: 0, procesos_parados: 1, total_procesos: 310 }),
        makeRow(3, { procesos_corriendo: 4, procesos_durmiendo: 300, procesos_zombie: 1, procesos_parados: 0, total_procesos: 303 }),
      ],
      truncated: false,
    }));
    expect(screen.getByTestId('latest-states')).toHaveAttribute('data-ok', 'false');
    expect(screen.getByTestId('latest-states')).toHaveTextContent('4 + 300 + 1 + 0 = 305, 2 over the total 303: processes counted twice');
    const [second, first] = screen.getAllByTestId('recent-states');
    expect(second).toHaveTextContent('2 + 300 + 0 + 1 = 303, 7 short of the total 310: processes in none of the four states');
    expect(first).toHaveAttribute('data-ok', 'true');
    expect(first).toHaveTextContent('adds up');
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
    load(store, makeRows(1, 10));
    // Counts how often the charts recompute their points, i.e. really re-render.
    const points = vi.spyOn(ChartWindow.prototype, 'points');
    act(() => store.setSummary(makeSummary()));
    act(() => store.setDatabaseStatus({ database: 'up', at: '2026-11-26T20:00:05Z' }));
    act(() => store.setConnection('connected'));
    expect(points).not.toHaveBeenCalled();
    act(() => store.appendRows([makeRow(11)]));
    expect(points).toHaveBeenCalledTimes(2);
    points.mockRestore();
  });
});
