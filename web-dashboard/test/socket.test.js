// @vitest-environment node
// The real socket.io-client against a real socket.io server: the handshake
// carries the newest id across reconnects, and a truncated history resets.
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import { RETRY_MS, connectDashboard } from '../src/lib/socket.js';
import { MetricsStore } from '../src/lib/store.js';
import { assertEvent, immediately, makeComparison, makeRows, makeSummary, makeWindow } from './rows.js';

let httpServer;
let ioServer;
let url;
let client;
let handshakes;
let onConnection;

beforeEach(async () => {
  httpServer = createServer();
  ioServer = new Server(httpServer);
  handshakes = [];
  ioServer.on('connection', (socket) => {
    handshakes.push(socket.handshake.auth);
    onConnection(socket, handshakes.length);
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${httpServer.address().port}`;
});

afterEach(async () => {
  client?.disconnect();
  await new Promise((resolve) => ioServer.close(resolve));
});

function waitFor(check, what, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

/** Drops the transport under the socket, as a network failure would: the client reconnects by itself. */
function dropConnections() {
  for (const socket of ioServer.sockets.sockets.values()) socket.conn.close();
}

describe('socket wiring', () => {
  it('sends the newest id it holds on every reconnect', async () => {
    onConnection = (socket, n) => {
      if (n === 1) {
        socket.emit('history', assertEvent('history', { rows: makeRows(1, 3), truncated: false }));
        socket.emit('metrics', assertEvent('metrics', { rows: makeRows(4, 2) }));
      } else {
        const after = socket.handshake.auth.lastId;
        socket.emit('history', assertEvent('history', { rows: makeRows(after + 1, 2), truncated: false }));
      }
    };
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, url, { reconnectionDelay: 50, reconnectionDelayMax: 50 });

    await waitFor(() => store.lastId === 5, 'the first history and metrics');
    expect(store.getConnection()).toBe('connected');
    dropConnections();
    await waitFor(() => store.getConnection() === 'reconnecting', 'the drop to be noticed');
    await waitFor(() => store.lastId === 7, 'the catch-up history');
    dropConnections();
    await waitFor(() => handshakes.length === 3 && store.lastId === 9, 'the second catch-up');

    expect(handshakes).toEqual([{ lastId: null }, { lastId: 5 }, { lastId: 7 }]);
    expect(store.rows.toArray().map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('drops what it had when the catch-up history is truncated', async () => {
    onConnection = (socket, n) => {
      const rows = n === 1 ? makeRows(1, 3) : makeRows(20_000, 2);
      socket.emit('history', assertEvent('history', { rows, truncated: n > 1 }));
    };
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, url, { reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await waitFor(() => store.lastId === 3, 'the first history');
    dropConnections();
    await waitFor(() => store.lastId === 20_001, 'the truncated history');
    expect(handshakes[1]).toEqual({ lastId: 3 });
    expect(store.rows.toArray().map((r) => r.id)).toEqual([20_000, 20_001]);
  });

  it('shows the database status and the summary', async () => {
    onConnection = (socket) => {
      socket.emit('status', assertEvent('status', { database: 'down', message: 'connect ECONNREFUSED', at: new Date().toISOString() }));
      socket.emit('summary', makeSummary({ python: 3, node: 1 }));
    };
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, url);
    await waitFor(() => store.getDatabase()?.database === 'down' && store.getSummary(), 'the status and summary');
    expect(store.getDatabase().message).toBe('connect ECONNREFUSED');
    expect(store.getSummary().routes.python.split_percent).toBe(75);
  });

  it('is reconnecting, not connected, while the server is away', async () => {
    onConnection = () => {};
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, 'http://127.0.0.1:9', { reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await waitFor(() => store.getConnection() === 'reconnecting', 'a failed connect');
  });

  it('asks for the window on connect and on every change, one request at a time, and shows an error then retries', async () => {
    const rows = makeRows(1, 20);
    const requests = [];
    let answer = (request, ack) => ack(assertEvent('windowReply', makeWindow(request.minutes, rows)));
    onConnection = (socket) => {
      socket.emit('history', assertEvent('history', { rows, truncated: false }));
      socket.on('window', (request, ack) => {
        expect(assertEvent('windowRequest', request)).toEqual(request);
        requests.push(request.minutes);
        answer(request, ack);
      });
    };
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, url, { reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await waitFor(() => store.getChart().state === 'ready', 'the first window');
    expect(requests).toEqual([5]);
    expect(store.getChart().window.points('porcentaje_ram')).toHaveLength(20);

    // Answers held back: choosing 1, 15 and 60 while the 1-minute request runs
    // sends only the last choice after it, and the stale answer is dropped.
    const held = [];
    answer = (request, ack) => held.push(() => ack(makeWindow(request.minutes, rows)));
    store.chooseWindow(1);
    store.chooseWindow(15);
    store.chooseWindow(60);
    await waitFor(() => held.length === 1, 'the 1-minute request');
    held.shift()();
    await waitFor(() => held.length === 1, 'the 60-minute request');
    expect(requests).toEqual([5, 1, 60]);
    expect(store.getChart()).toMatchObject({ minutes: 60, state: 'loading' });
    held.shift()();
    await waitFor(() => store.getChart().state === 'ready', 'the 60-minute window');
    expect(store.getChart().window.intervalMs).toBe(12_000);

    // An error is shown, and the request retried until it is answered.
    let failures = 1;
    answer = (request, ack) => {
      if (failures > 0) {
        failures -= 1;
        ack(assertEvent('windowReply', { error: 'window: database unreachable: ECONNREFUSED' }));
      } else ack(makeWindow(request.minutes, rows));
    };
    store.chooseWindow(5);
    await waitFor(() => store.getChart().state === 'error', 'the error');
    expect(store.getChart().error).toBe('window: database unreachable: ECONNREFUSED');
    await waitFor(() => store.getChart().state === 'ready', 'the retry', RETRY_MS + 3000);

    // A reconnect reloads the window.
    dropConnections();
    await waitFor(() => requests.filter((m) => m === 5).length === 4, 'the request after the reconnect');
  });

  it('asks for the records page on connect and after a sort, and folds comparison events into the store', async () => {
    const rows = makeRows(1, 30);
    const requests = [];
    onConnection = (socket) => {
      socket.emit('history', assertEvent('history', { rows, truncated: false }));
      socket.emit('comparison', makeComparison({ replace: true, at: '2026-11-26T20:10:00.000Z', points: { python: [['2026-11-26T20:10:00.000Z', 16, 12]] } }));
      socket.emit('comparison', makeComparison({ at: '2026-11-26T20:10:05.000Z', points: { python: [['2026-11-26T20:10:05.000Z', 17, 3]] } }));
      socket.on('records', (request, ack) => {
        requests.push(assertEvent('recordsRequest', request));
        const sorted = [...rows].sort((a, b) => (request.order === 'asc' ? a.id - b.id : b.id - a.id));
        ack(assertEvent('recordsReply', {
          ...request, start: rows[0].hora, end: rows.at(-1).hora, through_id: 30, total: 30, rows: sorted.slice(request.offset, request.offset + request.limit),
        }));
      });
    };
    const store = new MetricsStore({ schedule: immediately });
    client = connectDashboard(store, url, { reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await waitFor(() => store.getRecords().state === 'ready', 'the first page');
    expect(requests).toEqual([{ minutes: 5, sort: 'id', order: 'desc', offset: 0, limit: 20 }]);
    expect(store.getRecords().page.rows[0].id).toBe(30);
    store.sortRecords('id');
    await waitFor(() => store.getRecords().page.order === 'asc', 'the ascending page');
    expect(store.getRecords().page.rows[0].id).toBe(1);
    await waitFor(() => store.getComparison()?.routes[0].p95_points.length === 2, 'both comparison events');
    expect(store.getComparison().routes[0].p95_points.map((p) => p.p95_ms)).toEqual([16, 17]);
  });
});
