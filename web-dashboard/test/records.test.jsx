import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import App from '../src/components/App.jsx';
import { MetricsStore, RECORDS_PAGE_ROWS } from '../src/lib/store.js';
import { assertEvent, immediately, makeRow, makeRows } from './rows.js';

afterEach(cleanup);

/** ws-server's answer to `request` over `rows`, sorted and paged as the database does it. */
function answer(request, rows) {
  const direction = request.order === 'asc' ? 1 : -1;
  const sorted = [...rows].sort((a, b) => (a[request.sort] < b[request.sort] ? -1 : a[request.sort] > b[request.sort] ? 1 : a.id - b.id) * direction);
  return assertEvent('recordsData', {
    ...request, start: rows[0].hora, end: rows.at(-1).hora, through_id: rows.at(-1).id, total: rows.length,
    rows: sorted.slice(request.offset, request.offset + request.limit),
  });
}

function renderWithServer(rows) {
  const store = new MetricsStore({ schedule: immediately });
  const asked = [];
  store.requestRecords = () => {
    const request = store.recordsRequest();
    asked.push(request);
    store.applyRecords(answer(request, rows));
  };
  render(<App store={store} wsUrl="http://ws.example:8090" />);
  act(() => store.applyHistory({ rows: rows.slice(-3), truncated: false }));
  act(() => store.requestRecords());
  return { store, asked };
}

const shownIds = () => screen.getAllByTestId('records-row').map((tr) => Number(tr.dataset.id));

describe('the window\'s records table', () => {
  const rows = makeRows(1, 45).map((row, i) => ({ ...row, porcentaje_cpu_uso: (i * 7) % 10, procesos_zombie: i % 3 }));

  it('shows the page the server sorted, newest id first, and pages through the window', () => {
    const { asked } = renderWithServer(rows);
    expect(asked[0]).toEqual({ minutes: 5, sort: 'id', order: 'desc', offset: 0, limit: RECORDS_PAGE_ROWS });
    expect(shownIds()).toEqual(Array.from({ length: 20 }, (_, i) => 45 - i));
    expect(screen.getByTestId('records-status')).toHaveTextContent('Page 1 of 3 · 45 records in the last 5 min (ids up to 45)');
    expect(screen.getByTestId('records-prev')).toBeDisabled();
    fireEvent.click(screen.getByTestId('records-next'));
    expect(asked.at(-1).offset).toBe(20);
    fireEvent.click(screen.getByTestId('records-last'));
    expect(asked.at(-1).offset).toBe(40);
    expect(shownIds()).toEqual([5, 4, 3, 2, 1]);
    expect(screen.getByTestId('records-next')).toBeDisabled();
    fireEvent.click(screen.getByTestId('records-first'));
    expect(asked.at(-1).offset).toBe(0);
  });

  it('sorts by a clicked column, descending then ascending, from the first page; a window switch starts over', () => {
    const { store, asked } = renderWithServer(rows);
    fireEvent.click(screen.getByTestId('records-next'));
    fireEvent.click(screen.getByTestId('records-sort-porcentaje_cpu_uso'));
    expect(asked.at(-1)).toMatchObject({ sort: 'porcentaje_cpu_uso', order: 'desc', offset: 0 });
    expect(screen.getByTestId('records-sort-porcentaje_cpu_uso').closest('th')).toHaveAttribute('aria-sort', 'descending');
    expect(shownIds().slice(0, 5)).toEqual(answer(asked.at(-1), rows).rows.slice(0, 5).map((r) => r.id));
    fireEvent.click(screen.getByTestId('records-sort-porcentaje_cpu_uso'));
    expect(asked.at(-1)).toMatchObject({ sort: 'porcentaje_cpu_uso', order: 'asc' });
    fireEvent.click(screen.getByTestId('records-sort-procesos_zombie'));
    expect(asked.at(-1)).toMatchObject({ sort: 'procesos_zombie', order: 'desc' });
    fireEvent.click(screen.getByTestId('records-next'));
    act(() => store.chooseWindow(15));
    expect(asked.at(-1)).toMatchObject({ minutes: 15, sort: 'procesos_zombie', offset: 0 });
  });

  it('says when the page is loading or failed, keeping the last page', () => {
    const { store } = renderWithServer([makeRow(1), makeRow(2)]);
    act(() => store.recordsLoading());
    expect(screen.getByTestId('records-status')).toHaveTextContent('loading…');
    expect(shownIds()).toEqual([2, 1]);
    act(() => store.recordsFailed('records: the database could not be read; try again shortly'));
    expect(screen.getByTestId('records-table')).toHaveAttribute('data-state', 'error');
    expect(screen.getByTestId('records-status')).toHaveTextContent('could not be loaded: records: the database could not be read');
  });

  it('says when newer records arrived, and asks again by itself only for an empty window', () => {
    const { store, asked } = renderWithServer(rows);
    expect(screen.getByTestId('records-refresh')).toHaveTextContent(/^Refresh$/);
    act(() => store.appendRows([makeRow(46), makeRow(47)]));
    expect(screen.getByTestId('records-refresh')).toHaveTextContent('Refresh: newer records up to id 47');
    expect(asked).toHaveLength(1);

    // An empty window's page is asked again when the first rows come, and only then.
    const empty = new MetricsStore({ schedule: immediately });
    const emptyAsked = [];
    empty.requestRecords = () => emptyAsked.push(empty.recordsRequest());
    empty.applyRecords(assertEvent('recordsData', { ...empty.recordsRequest(), start: null, end: null, through_id: 0, total: 0, rows: [] }));
    empty.appendRows(makeRows(1, 3));
    expect(emptyAsked).toHaveLength(1);
    empty.applyRecords(answer(empty.recordsRequest(), makeRows(1, 3)));
    empty.appendRows([makeRow(4)]);
    expect(emptyAsked).toHaveLength(1);
  });
});
