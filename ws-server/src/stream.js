// The heart of ws-server: one cursor on metric_records.id for all clients.
//
// Every tick runs ONE query (rows with id > cursor) and broadcasts the new rows
// once to the `live` room, whose members all hold exactly the rows up to the
// cursor. A newly connected client first gets its `history` from an in-memory
// ring of the newest rows, or, with a lastId, what it missed a page at a time
// (src/catchup.js), and only then joins `live`; the last step and joining run
// without awaiting in between, so no tick can slip a row past it or deliver
// one twice.
import { clientsToDrop, queuedBytes } from './backpressure.js';
import { CatchUps } from './catchup.js';
import { TickPacer } from './pacer.js';
import { ROW_COLUMNS, toWireRow } from './rows.js';
import { RATE_WINDOW_MS, RouteSummary } from './summary.js';

const LIVE = 'live';
const STREAMING = 'streaming';
const BATCH_LIMIT = 2000;
const RING_CAP = 10000;
const DATABASE_DOWN = 'database unreachable; retrying';

export class LiveStream {
  constructor({ io, tickDb, requestDb, config, log }) {
    this.io = io;
    this.tickDb = tickDb; // the tick's own connection: nothing else waits in front of it
    this.catchUps = new CatchUps({
      stream: this,
      db: requestDb,
      concurrency: config.catchupConcurrency,
      pageRows: config.catchupPageRows,
      limit: config.catchupLimit,
      log,
    });
    this.log = log;
    this.pacer = new TickPacer(config);
    this.historyLimit = config.historyLimit;
    this.gapWaitMs = config.gapWaitMs;
    this.queueLimits = { perClientMax: config.slowClientMaxBytes, totalMax: config.slowClientsMaxTotalBytes };
    this.ringSize = Math.max(config.historyLimit, Math.min(config.catchupLimit, RING_CAP), 1);

    this.initialized = false;
    this.cursor = 0; // id of the newest row delivered to `live`
    this.tableMaxId = 0; // the table's newest id at the last tick (held-back rows included)
    this.reconnectAll = false;
    this.ring = []; // the newest delivered rows, oldest first
    this.ringFloor = 0; // the ring holds every delivered row with id > ringFloor
    this.gapSince = new Map(); // first missing id -> when the gap was first seen

    this.routeSummary = new RouteSummary();

    this.database = { up: false, message: 'connecting to the database' };
    this.waiting = new Set(); // connected, history not sent yet
    this.ahead = new Set(); // history sent, but their lastId is beyond the cursor
    this.queuedBytes = 0; // for all clients together, at the last tick

    this.counters = {
      ticks: 0, tickErrors: 0, rowsStreamed: 0, gapsSkipped: 0, slowClientsDropped: 0, restarts: 0, historiesSent: 0, lastTickSeconds: 0,
    };
    this.running = false;
    this.timer = null;
    this.currentTick = null;
  }

  // ---- lifecycle -------------------------------------------------------

  async start() {
    this.running = true;
    await this.runTick();
    this.schedule(this.pacer.intervalMs);
  }

  async stop() {
    this.running = false;
    clearTimeout(this.timer);
    await this.currentTick;
  }

  schedule(delay) {
    if (!this.running) return;
    this.timer = setTimeout(async () => {
      const started = performance.now();
      await this.runTick();
      this.schedule(Math.max(0, this.pacer.intervalMs - (performance.now() - started)));
    }, delay);
  }

  // The next tick is only scheduled after this one finished: ticks never overlap.
  async runTick() {
    const started = performance.now();
    this.currentTick = this.tick().catch((err) => {
      this.log('error', 'tick failed unexpectedly', { error: err.stack });
      return false;
    });
    this.pacer.afterPoll(await this.currentTick);
    this.counters.lastTickSeconds = (performance.now() - started) / 1000;
  }

  // Resolves to true when rows were found or are likely right behind (a fresh
  // start, a reset): the pacer then keeps the short tick.
  async tick() {
    this.counters.ticks += 1;
    if (!this.initialized) {
      try {
        await this.initialize();
      } catch (err) {
        this.counters.tickErrors += 1;
        this.setDatabase(false, err);
        return false;
      }
      this.setDatabase(true);
      if (this.reconnectAll) {
        this.reconnectAll = false;
        // Transport close: socket.io-client reconnects by itself, with its lastId.
        for (const socket of this.io.sockets.sockets.values()) socket.conn.close();
      }
      this.serveWaiting();
      return true;
    }

    // The new rows and the table's newest id in one statement: MAX(id) on the
    // primary key costs nothing and reveals a table that was emptied.
    let fetched;
    try {
      fetched = await this.tickDb.query(
        `SELECT newest.max_id, fresh.* FROM (SELECT MAX(id) AS max_id FROM metric_records) AS newest
         LEFT JOIN (SELECT ${ROW_COLUMNS} FROM metric_records WHERE id > ? ORDER BY id LIMIT ?) AS fresh ON 1 = 1
         ORDER BY fresh.id`,
        [this.cursor, BATCH_LIMIT],
      );
    } catch (err) {
      this.counters.tickErrors += 1;
      this.setDatabase(false, err);
      return false;
    }
    this.setDatabase(true);

    const maxId = Number(fetched[0]?.max_id ?? 0);
    if (maxId < this.cursor) {
      // Truncated or emptied and refilled: the ids this stream handed out mean
      // nothing any more. Start over on the next tick and make every client
      // reconnect; their lastIds are now beyond the table, so they get a
      // fresh history marked truncated and drop what they had.
      this.log('warn', 'metric_records lost rows below the cursor (emptied?); starting over', { cursor: this.cursor, maxId });
      this.counters.restarts += 1;
      this.initialized = false;
      this.reconnectAll = true;
      // Nothing more reaches the current connections; they are closed once the
      // new state is loaded.
      this.io.socketsLeave([LIVE, STREAMING]);
      this.ahead.clear();
      return true;
    }
    this.tableMaxId = maxId;

    const now = Date.now();
    const found = fetched.filter((row) => row.id !== null);
    const rows = this.acceptInOrder(found, now);
    if (rows.length > 0) {
      this.remember(rows);
      this.io.to(LIVE).emit('metrics', { rows });
      this.counters.rowsStreamed += rows.length;
    }
    this.routeSummary.expire(now);
    const summary = this.routeSummary.ifChanged(now);
    if (summary) this.io.to(STREAMING).emit('summary', summary);
    this.dropStalledClients();
    for (const socket of this.ahead) this.joinLive(socket);
    this.serveWaiting();
    // Rows held back behind a gap count too: the missing row, or the gap's
    // expiry, is then noticed within a short tick.
    return found.length > 0;
  }

  // A client that stopped reading (a frozen tab, a dead network path) makes
  // socket.io queue every event for it in memory. Past a bound in bytes (an
  // event may be one row or 2000) it is disconnected; if it comes back, its
  // lastId brings it up to date.
  // A bound for all clients together keeps many stalled clients, each under
  // its own bound, from adding up to more than the process can hold.
  dropStalledClients() {
    const queues = [...this.io.sockets.sockets.values()].map((socket) => ({ socket, queued: queuedBytes(socket) }));
    const { drop, total } = clientsToDrop(queues, this.queueLimits);
    for (const { socket, queued } of drop) {
      this.counters.slowClientsDropped += 1;
      const limit = queued > this.queueLimits.perClientMax ? 'SLOW_CLIENT_MAX_BYTES' : 'SLOW_CLIENTS_MAX_TOTAL_BYTES';
      this.log('warn', 'disconnecting a client that stopped reading', { queuedBytes: queued, limit, lastSent: socket.data.lastSent });
      socket.conn.close(true); // discard the queue; a plain disconnect would wait for it to drain
    }
    this.queuedBytes = total;
  }

  // The cursor's starting point, the ring, the per-route counts and the last
  // minute's rows, all from one consistent snapshot.
  async initialize() {
    const since = sqlDatetime(Date.now() - RATE_WINDOW_MS);
    const state = await this.tickDb.snapshot(async (query) => {
      const newest = await query(
        `SELECT ${ROW_COLUMNS} FROM metric_records ORDER BY id DESC LIMIT ?`,
        [this.ringSize + 1],
      );
      const cursor = newest.length > 0 ? Number(newest[0].id) : 0;
      const counts = await query(
        'SELECT route, COUNT(*) AS n FROM metric_records WHERE id <= ? GROUP BY route',
        [cursor],
      );
      const recent = await query(
        'SELECT route, received_at FROM metric_records WHERE id <= ? AND received_at >= ? ORDER BY received_at',
        [cursor, since],
      );
      return { newest, cursor, counts, recent };
    });

    const older = state.newest.length > this.ringSize ? state.newest.pop() : null;
    this.ringFloor = older ? Number(older.id) : 0;
    this.ring = state.newest.reverse().map(toWireRow);
    this.cursor = state.cursor;
    this.tableMaxId = state.cursor;
    this.gapSince.clear();
    this.routeSummary.reset(state.counts, state.recent.map(({ route, received_at: receivedAt }) => (
      { route, t: Date.parse(`${receivedAt.replace(' ', 'T')}Z`) })));
    this.initialized = true;
    this.log('info', 'stream initialized', { cursor: this.cursor, ring: this.ring.length, stored: this.routeSummary.stored });
  }

  // Auto-increment ids become visible in commit order, not id order: a row
  // whose id is above a missing one is held back for up to GAP_WAIT_MS, so
  // that a slow transaction's row is still delivered first. A gap older than
  // that (a rollback, a failed duplicate insert) is skipped.
  acceptInOrder(fetched, now) {
    const accepted = [];
    let expected = this.cursor + 1;
    for (const raw of fetched) {
      const id = Number(raw.id);
      // With nothing delivered yet (empty table at start) any first id is fine.
      if (id !== expected && (this.cursor > 0 || accepted.length > 0)) {
        if (!this.gapSince.has(expected)) this.gapSince.set(expected, now);
        if (now - this.gapSince.get(expected) < this.gapWaitMs) break;
        this.counters.gapsSkipped += 1;
      }
      accepted.push(toWireRow(raw));
      expected = id + 1;
    }
    for (const missing of this.gapSince.keys()) {
      if (missing < expected) this.gapSince.delete(missing);
    }
    return accepted;
  }

  remember(rows) {
    this.ring.push(...rows);
    if (this.ring.length > this.ringSize) {
      const evicted = this.ring.splice(0, this.ring.length - this.ringSize);
      this.ringFloor = evicted[evicted.length - 1].id;
    }
    this.cursor = rows[rows.length - 1].id;
    for (const row of rows) this.routeSummary.add(Date.parse(row.received_at), row.route);
  }

  // ---- per-connection ----------------------------------------------------

  attach(socket, lastId) {
    socket.data.requestedLastId = lastId;
    socket.data.catchingUp = false;
    socket.emit('status', this.status());
    this.waiting.add(socket);
    socket.on('disconnect', () => {
      this.waiting.delete(socket);
      this.ahead.delete(socket);
    });
    this.serveHistory(socket);
  }

  serveWaiting() {
    for (const socket of this.waiting) this.serveHistory(socket);
  }

  serveHistory(socket) {
    if (!this.initialized || socket.data.catchingUp) return;
    const lastId = socket.data.requestedLastId;
    // A lastId beyond every id in the table belongs to rows that are gone.
    const unknown = lastId !== null && lastId > this.tableMaxId;
    if (lastId === null || unknown) {
      const rows = this.historyLimit > 0 ? this.ring.slice(-this.historyLimit) : [];
      const truncated = unknown || this.ringFloor > 0 || rows.length < this.ring.length;
      this.sendHistory(socket, rows, truncated, this.cursor);
    } else {
      this.catchUps.serve(socket, lastId);
    }
  }

  // `history`, then the summaries; the rows after `history` follow as `metrics`.
  beginStreaming(socket, rows, truncated) {
    socket.emit('history', { rows, truncated });
    this.counters.historiesSent += 1;
    socket.join(STREAMING);
    socket.emit('summary', this.routeSummary.figures(Date.now()));
  }

  sendHistory(socket, rows, truncated, lastSent) {
    this.beginStreaming(socket, rows, truncated);
    this.goLive(socket, lastSent);
  }

  // The socket holds every row up to lastSent: the rest from the ring, then `live`.
  goLive(socket, lastSent) {
    this.waiting.delete(socket);
    socket.data.lastSent = lastSent;
    this.joinLive(socket);
  }

  joinLive(socket) {
    const { lastSent } = socket.data;
    if (lastSent > this.cursor) {
      this.ahead.add(socket);
      return;
    }
    if (lastSent < this.cursor) {
      const rows = this.ringAfter(lastSent);
      if (rows.length > 0) socket.emit('metrics', { rows });
    }
    socket.data.lastSent = this.cursor;
    this.ahead.delete(socket);
    socket.join(LIVE);
  }

  // The ring's rows with an id above `id`, at most `limit` of them (a page,
  // without copying the rest of the ring).
  ringAfter(id, limit = Infinity) {
    const start = this.ringIndexAfter(id);
    return this.ring.slice(start, start + limit);
  }

  ringIndexAfter(id) {
    let low = 0;
    let high = this.ring.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ring[mid].id <= id) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  // ---- database state ------------------------------------------------------

  // The database's own text names the user and the host: it goes to the log
  // only; clients and /readyz get the generic reason.
  setDatabase(up, err) {
    const changed = up !== this.database.up;
    // While down, a new kind of failure (refused, then denied) is logged too.
    if (!up && (changed || err?.code !== this.database.errorCode)) {
      this.log('warn', 'database is down', { error: err?.message, code: err?.code });
    }
    if (up && changed) this.log('info', 'database is up');
    this.database = up ? { up } : { up, message: DATABASE_DOWN, errorCode: err?.code };
    if (changed) this.io.emit('status', this.status());
  }

  status() {
    const status = { database: this.database.up ? 'up' : 'down', at: new Date().toISOString() };
    if (!this.database.up && this.database.message) status.message = this.database.message;
    return status;
  }
}

function sqlDatetime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
