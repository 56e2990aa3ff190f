import { describe, expect, it, vi } from 'vitest';
import { RingBuffer } from '../src/lib/ringBuffer.js';
import { downsample, windowSeries } from '../src/lib/series.js';
import { DEFAULT_MAX_ROWS, MetricsStore } from '../src/lib/store.js';
import { assertEvent, immediately, makeRow, makeRows } from './rows.js';

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

describe('chart series', () => {
  it('draws at most 300 points of an hour of 1 Hz data, first and last kept', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.appendRows(makeRows(1, HOUR));
    const points = windowSeries(store.rows, 'porcentaje_ram', 60 * 60_000, store.newestHoraMillis);
    expect(points).toHaveLength(300);
    expect(points[0].id).toBe(1);
    expect(points.at(-1).id).toBe(HOUR);
  });

  it('keeps only the window, in reading order even when rows arrived out of order', () => {
    const store = new MetricsStore({ schedule: immediately });
    store.appendRows([makeRow(1, { second: 100 }), makeRow(2, { second: 30 }), makeRow(3, { second: 70 })]);
    const points = windowSeries(store.rows, 'porcentaje_cpu_uso', 60_000, store.newestHoraMillis);
    expect(points.map((p) => p.id)).toEqual([3, 1]);
  });

  it('downsampling keeps a lone peak', () => {
    const points = Array.from({ length: 3000 }, (_, i) => ({ x: i, y: i === 1234 ? 99 : 10, id: i }));
    const sampled = downsample(points, 200);
    expect(sampled).toHaveLength(200);
    expect(Math.max(...sampled.map((p) => p.y))).toBe(99);
  });
});
