// A returning client whose lastId is behind the stream gets what it missed a
// page at a time (CATCHUP_PAGE_ROWS): the next page only once the previous one
// has left the process, so a client that does not read holds one page, not
// its whole history. Pages come from the ring while it still holds them, else
// from the database, at most CATCHUP_CONCURRENCY queries (and as many pages
// from the ring) at a time for all clients together, the others waiting their
// turn, each query bounded by the cursor at the time. The last page and
// joining the live broadcast happen in one synchronous step, so no row is lost
// or repeated at that boundary.
import { drained } from './backpressure.js';
import { Limiter } from './limiter.js';
import { ROW_COLUMNS, toWireRow } from './rows.js';

// The (limit + 1)-th newest missed id: the rows above it are the newest `limit`.
const CUT_SQL = 'SELECT id FROM metric_records WHERE id > ? AND id <= ? ORDER BY id DESC LIMIT 1 OFFSET ?';
const PAGE_SQL = `SELECT ${ROW_COLUMNS} FROM metric_records WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`;

export class CatchUps {
  constructor({ stream, db, concurrency, pageRows, limit, log }) {
    this.stream = stream;
    this.db = db;
    this.slots = new Limiter(concurrency); // database queries
    this.sends = new Limiter(concurrency); // pages from the ring
    this.pageRows = pageRows;
    this.limit = limit;
    this.log = log;
    this.queriesTotal = 0;
    this.waitingForClients = 0; // catch-ups whose last page has not left the process yet
  }

  /**
   * Sends `history` (the first page), `metrics` (the next ones) and makes the
   * socket live. Returns early when the client leaves, the stream starts over
   * or a query fails; the stream calls it again after its next good tick and
   * it resumes where it stopped (socket.data.catchUp).
   */
  async serve(socket, lastId) {
    const { stream } = this;
    const state = socket.data.catchUp ??= { sent: lastId, truncated: null, started: false, restarts: stream.counters.restarts };
    const gone = () => socket.disconnected || stream.counters.restarts !== state.restarts;
    if (gone() || (state.sent < stream.ringFloor && !stream.database.up)) return;
    socket.data.catchingUp = true;
    try {
      if (state.truncated === null && !(await this.findStart(state, gone))) return;
      while (!gone()) {
        if (state.sent >= stream.ringFloor) {
          // Encoding and writing a page is the CPU's work: CATCHUP_CONCURRENCY at
          // a time too, each holding its turn across one event-loop turn, so
          // the tick and the other sockets get theirs between pages.
          const finished = await this.sends.run(async () => {
            if (gone() || state.sent < stream.ringFloor) return false;
            const missed = stream.ringAfter(state.sent, this.pageRows + 1);
            if (missed.length <= this.pageRows) {
              this.finish(socket, state, missed);
              return true;
            }
            this.sendPage(socket, state, missed.slice(0, this.pageRows), missed[this.pageRows - 1].id);
            await new Promise((resolve) => setImmediate(resolve));
            return false; // the ring may have moved on meanwhile: the loop looks again
          });
          if (finished) return;
        } else {
          // Up to the cursor as it was at the start (the newest CATCHUP_LIMIT then),
          // then, if the ring moved on meanwhile, up to the cursor of the time.
          if (state.sent >= state.bound) state.bound = stream.cursor;
          const { bound } = state;
          const rows = await this.query(PAGE_SQL, [state.sent, bound, this.pageRows], gone);
          if (rows === null || gone()) return;
          // A short page holds everything up to `bound`.
          const through = rows.length < this.pageRows ? bound : Number(rows.at(-1).id);
          this.sendPage(socket, state, rows.map(toWireRow), through);
        }
        this.waitingForClients += 1;
        try {
          await drained(socket);
        } finally {
          this.waitingForClients -= 1;
        }
      }
    } catch (err) {
      this.log('warn', 'catch-up query failed; resumed after the next good tick', { error: err.message, code: err.code });
    } finally {
      socket.data.catchingUp = false;
    }
  }

  // With more than CATCHUP_LIMIT rows missed only the newest CATCHUP_LIMIT are sent, marked truncated.
  async findStart(state, gone) {
    const { stream } = this;
    state.bound = stream.cursor;
    if (state.sent >= stream.ringFloor) {
      const { ring } = stream;
      state.truncated = ring.length - stream.ringIndexAfter(state.sent) > this.limit;
      if (state.truncated) state.sent = ring[ring.length - this.limit - 1].id;
      return true;
    }
    const cut = await this.query(CUT_SQL, [state.sent, state.bound, this.limit], gone);
    if (cut === null || gone()) return false;
    state.truncated = cut.length > 0;
    if (state.truncated) state.sent = Number(cut[0].id);
    return true;
  }

  query(sql, values, gone) {
    return this.slots.run(() => {
      if (gone()) return null; // left while waiting for its turn
      this.queriesTotal += 1;
      return this.db.query(sql, values);
    });
  }

  sendPage(socket, state, rows, through) {
    if (!state.started) {
      this.stream.beginStreaming(socket, rows, state.truncated);
      state.started = true;
    } else if (rows.length > 0) {
      socket.emit('metrics', { rows });
    }
    state.sent = through;
    socket.data.lastSent = through;
  }

  // The rest fits one page and is in the ring: synchronous from here to live.
  finish(socket, state, missed) {
    delete socket.data.catchUp;
    if (!state.started) {
      // A lastId beyond the cursor (rows held back behind a gap) waits in `ahead`.
      this.stream.sendHistory(socket, missed, state.truncated, Math.max(state.sent, this.stream.cursor));
      return;
    }
    this.stream.goLive(socket, state.sent);
  }
}
