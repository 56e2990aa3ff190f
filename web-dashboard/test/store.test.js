import { describe, expect, it, vi } from 'vitest';
import { RingBuffer } from '../src/lib/ringBuffer.js';
import { DEFAULT_MAX_ROWS, MetricsStore } from '../src/lib/store.js';
import { assertEvent, immediately, makeRow, makeRows, makeWindow } from './rows.js';

const HOUR = 3600;

describe('RingBuffer', () => {
  it('keeps the newest entries once full', () => {
    const ring = new RingBuffer(3);
    [1, 2, 3, 4, 5].forEach((n) => ring.push(n));
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.newest(2)).toEqual([5, 4]);
    expect(ring.shift()).toBe(3);
    expect(ring.toArray()).toEqual([4, 5]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});

describe('MetricsStore', () => {
  it('keeps an hour of 1 Hz data, then stays bounded by the widest window', () => {
    const store = new MetricsStore({ schedule: immediately });
    for (let second = 1; second <= 2 * HOUR; second += 1) {
      store.appendRows(assertEvent('metrics', { rows: [makeRow(second)] }).rows);
      if (second === HOUR) expect(store.rows.length).toBe(HOUR);
    }
    // Two hours in: only the last 60 minutes (plus the newest second) are held.
    expect(store.rows.length).toBe(HOUR + 1);
    expect(store.rows.first().id).toBe(HOUR);
    expect(store.lastId).toBe(2 * HOUR);
  });

  it('caps the row count even when every row has the same time', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.appendRows(makeRows(1, DEFAULT_MAX_ROWS + 500, { second: 0 }));
    expect(store.rows.length).toBe(DEFAULT_MAX_ROWS);
    expect(store.rows.first().id).toBe(501);
  });

  it('drops what it had when the history is truncated', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.applyHistory(assertEvent('history', { rows: makeRows(1, 10), truncated: false }));
    expect(store.lastId).toBe(10);
    store.applyHistory(assertEvent('history', { rows: makeRows(5000, 3), truncated: true }));
    expect(store.rows.toArray().map((r) => r.id)).toEqual([5000, 5001, 5002]);
    expect(store.lastId).toBe(5002);
  });

  it('appends a catch-up history and skips rows it already holds', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.applyHistory({ rows: makeRows(1, 5), truncated: false });
    store.applyHistory({ rows: makeRows(4, 4), truncated: false });
    expect(store.rows.toArray().map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(store.rejectedRows).toBe(2);
  });

  it('skips a row without a readable hora, keeping the rest', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.appendRows([makeRow(1), { ...makeRow(2), hora: 'yesterday' }, makeRow(3)]);
    expect(store.rows.toArray().map((r) => r.id)).toEqual([1, 3]);
  });

  it('tells subscribers once per frame, however many events arrived', () => {
    const frames = [];
    const store = new MetricsStore({ schedule: (callback) => frames.push(callback) });
    const listener = vi.fn();
    store.subscribe(listener);
    for (let id = 1; id <= 100; id += 1) store.appendRows([makeRow(id)]);
    store.setConnection('connected');
    expect(frames).toHaveLength(1);
    expect(listener).not.toHaveBeenCalled();
    frames[0]();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getRowsVersion()).toBe(100);
  });
});

describe('chart window', () => {
  const series = (store, field = 'porcentaje_ram') => store.chart.window.points(field).map((p) => [p.x, p.y, p.min, p.max]);
  const at = (second) => Date.parse('2026-11-26T20:00:00Z') + second * 1000;

  it("draws the answer's buckets: x the bucket start, y the average, min and max its band", () => {
    const store = new MetricsStore({ schedule: immediately });
    store.chooseWindow(15);
    const rows = [makeRow(1, { second: 0, porcentaje_ram: 10 }), makeRow(2, { second: 1, porcentaje_ram: 20 }),
      makeRow(3, { second: 2, porcentaje_ram: 60 }), makeRow(4, { second: 3, porcentaje_ram: 50 })];
    store.applyHistory({ rows, truncated: false });
    store.applyWindow(makeWindow(15, rows));
    expect(store.chart.state).toBe('ready');
    expect(store.chart.window.intervalMs).toBe(3000);
    expect(series(store)).toEqual([[at(0), 30, 10, 60], [at(3), 50, 50, 50]]);
    expect(store.chart.window.domain).toEqual([at(3) - 299 * 3000, at(6)]);
  });

  it('adds live rows above through_id to their bucket, each once, also those that arrived before the answer', () => {
    const store = new MetricsStore({ schedule: immediately });
    const rows = makeRows(1, 10, { porcentaje_ram: 40 });
    store.applyHistory({ rows, truncated: false });
    // The answer counted rows 1..8; 9 and 10 reached the store while it was on its way.
    store.applyWindow(makeWindow(5, rows, 8));
    expect(store.chart.window.points('porcentaje_ram')).toHaveLength(10);
    const revision = store.chart.revision;
    store.appendRows([makeRow(11, { second: 10, porcentaje_ram: 80 })]);
    expect(store.chart.revision).toBe(revision + 1);
    expect(series(store).at(-1)).toEqual([at(10), 60, 40, 80]);
    store.appendRows([makeRow(12, { second: 10, porcentaje_ram: 90 })]);
    expect(series(store).at(-1)).toEqual([at(10), (40 + 80 + 90) / 3, 40, 90]);
    expect(store.chart.window.buckets.get(at(10) / 1000).n).toBe(3);
  });

  it("slides forward with the newest hora, keeps at most the window's buckets, ignores rows older than it", () => {
    const store = new MetricsStore({ schedule: immediately });
    store.chooseWindow(1);
    store.applyWindow(makeWindow(1, []));
    expect(store.chart.window.domain).toBeNull();
    store.appendRows(makeRows(1, 200));
    expect(store.chart.window.points('porcentaje_cpu_uso')).toHaveLength(60);
    expect(store.chart.window.domain).toEqual([at(141), at(201)]);
    const before = series(store, 'porcentaje_cpu_uso');
    store.appendRows([makeRow(201, { second: 100 })]);
    expect(series(store, 'porcentaje_cpu_uso')).toEqual(before);
  });

  it('reloads on a window change and drops an answer for a window no longer chosen', () => {
    const store = new MetricsStore({ schedule: immediately });
    const requested = [];
    store.requestWindow = () => requested.push(store.windowMinutes);
    const rows = makeRows(1, 5);
    store.applyWindow(makeWindow(5, rows));
    store.chooseWindow(60);
    expect(requested).toEqual([60]);
    expect(store.chart).toMatchObject({ minutes: 60, state: 'loading', window: null });
    store.applyWindow(makeWindow(5, rows));
    expect(store.chart.state).toBe('loading');
    store.chooseWindow(60);
    expect(requested).toEqual([60]);
    expect(() => store.chooseWindow(7)).toThrow('window must be one of 1, 5, 15, 60 minutes, got 7');
    store.windowFailed(60, 'window: database unreachable');
    expect(store.chart).toMatchObject({ minutes: 60, state: 'error', error: 'window: database unreachable' });
  });
});
