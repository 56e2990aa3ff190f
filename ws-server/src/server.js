// HTTP (health, readiness, Prometheus metrics) and socket.io on one port.
import http from 'node:http';
import { Server } from 'socket.io';
import { RouteComparison } from './comparison.js';
import { Database } from './db.js';
import { serveRecords } from './records.js';
import { LiveStream } from './stream.js';
import { serveWindows } from './window.js';

const REQUEST_DB_CONNECTIONS = 4;

export function jsonLogger(stream = process.stdout) {
  return (level, msg, fields = {}) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

// auth.lastId: absent/null on first connect, else the newest id the client holds.
function parseLastId(auth) {
  const lastId = auth?.lastId;
  if (lastId === undefined || lastId === null) return { lastId: null };
  if (Number.isSafeInteger(lastId) && lastId >= 0) return { lastId };
  return { error: `invalid auth.lastId ${JSON.stringify(lastId)}: expected a non-negative integer or null` };
}

export function createWsServer(config, { log = jsonLogger() } = {}) {
  // The tick has a connection of its own, so catch-ups, `window` and `records`
  // (however many wait for the request pool) never delay it.
  const tickDb = new Database(config.db, { connections: 1 });
  const requestDb = new Database(config.db, { connections: REQUEST_DB_CONNECTIONS });
  const httpServer = http.createServer();
  // Any program can leave Origin out, so with CORS_ORIGINS set a missing Origin
  // is refused too; only the local development default lets it through.
  const originAllowed = (origin) => (origin === undefined ? !config.cors.configured : config.cors.allows(origin));
  let connectionsRefused = 0;
  const io = new Server(httpServer, {
    serveClient: false,
    cors: {
      origin: (origin, callback) => callback(null, originAllowed(origin)),
      methods: ['GET', 'POST'],
    },
    // The cors option only sets headers; this refuses the handshake itself,
    // a direct websocket one included. An upgrade carries the session id of a
    // connection already let in, and is not asked again.
    allowRequest: (req, callback) => {
      if (!originAllowed(req.headers.origin)) {
        log('warn', 'refused connection from a disallowed origin', { origin: req.headers.origin });
        return callback('origin not allowed', false);
      }
      if (io.engine.clientsCount >= config.maxConnections) {
        connectionsRefused += 1;
        return callback('too many connections (MAX_CONNECTIONS)', false);
      }
      return callback(null, true);
    },
  });
  const stream = new LiveStream({ io, tickDb, requestDb, config, log });
  const comparison = new RouteComparison({ ...config.routeMetrics, log });

  io.use((socket, next) => {
    const parsed = parseLastId(socket.handshake.auth);
    if (parsed.error) return next(new Error(parsed.error));
    socket.data.handshakeLastId = parsed.lastId;
    return next();
  });
  io.on('connection', (socket) => {
    const perConnection = config.requestsPerConnection;
    serveWindows(socket, { db: requestDb, stream, perConnection, log });
    serveRecords(socket, { db: requestDb, stream, perConnection, log });
    stream.attach(socket, socket.data.handshakeLastId);
    socket.emit('comparison', comparison.snapshot());
  });

  httpServer.on('request', (req, res) => {
    if (req.url.startsWith('/socket.io/')) return; // socket.io answers these
    const path = req.url.split('?')[0];
    if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ready = stream.initialized && stream.database.up;
      return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...stream.status() });
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return res.end(prometheus(stream, [tickDb, requestDb], io, comparison, connectionsRefused));
    }
    return send(res, 404, { error: 'not found' });
  });

  return {
    httpServer,
    io,
    stream,
    tickDb,
    requestDb,
    comparison,
    async listen(port = config.port, host) {
      await stream.start();
      comparison.start((update) => io.emit('comparison', update));
      await new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, resolve);
      });
      log('info', 'ws-server listening', {
        port: httpServer.address().port,
        tickMs: config.tickMs,
        idleTickMs: config.idleTickMs,
        backoffPolls: config.backoffPolls,
        corsOrigins: config.cors.describe,
        routeMetrics: comparison.enabled ? config.routeMetrics.routes.map((r) => r.name).join(',') : 'off (ROUTE_METRICS_URLS unset)',
        database: `${config.db.host}:${config.db.port}/${config.db.database}`,
      });
      return httpServer.address().port;
    },
    async close() {
      await comparison.stop();
      await stream.stop();
      await new Promise((resolve) => io.close(() => resolve()));
      await Promise.all([tickDb.close(), requestDb.close()]);
    },
  };
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function prometheus(stream, databases, io, comparison, connectionsRefused) {
  const c = stream.counters;
  const lines = [
    ['ws_db_queries_total', 'counter', 'Database statements issued by this process.', databases.reduce((sum, db) => sum + db.queriesTotal, 0)],
    ['ws_ticks_total', 'counter', 'Polling ticks run.', c.ticks],
    ['ws_tick_errors_total', 'counter', 'Ticks whose database query failed.', c.tickErrors],
    ['ws_rows_streamed_total', 'counter', 'Rows broadcast to live clients.', c.rowsStreamed],
    ['ws_gaps_skipped_total', 'counter', 'Id gaps given up on after GAP_WAIT_MS.', c.gapsSkipped],
    ['ws_histories_sent_total', 'counter', '`history` events sent (one per connection).', c.historiesSent],
    ['ws_catchup_queries_total', 'counter', 'Catch-up queries (a starting point or a page) run.', stream.catchUps.queriesTotal],
    ['ws_catchup_queries_running', 'gauge', 'Catch-up queries running now (at most CATCHUP_CONCURRENCY).', stream.catchUps.slots.running],
    ['ws_catchup_queries_waiting', 'gauge', 'Catch-up queries waiting for their turn.', stream.catchUps.slots.waiting],
    ['ws_catchups_waiting_for_client', 'gauge', 'Catch-ups holding their next page until the client has read the last one.', stream.catchUps.waitingForClients],
    ['ws_slow_clients_dropped_total', 'counter', 'Clients disconnected for not reading.', c.slowClientsDropped],
    ['ws_stream_restarts_total', 'counter', 'Times the table lost rows below the cursor and the stream started over.', c.restarts],
    ['ws_tick_duration_seconds', 'gauge', 'Duration of the last tick.', c.lastTickSeconds],
    ['ws_tick_interval_seconds', 'gauge', 'Current wait between polls: TICK_MS while rows flow, up to TICK_IDLE_MS when idle.', stream.pacer.intervalMs / 1000],
    ['ws_cursor_id', 'gauge', 'Newest metric_records.id delivered.', stream.cursor],
    ['ws_database_up', 'gauge', '1 when the last database call succeeded.', stream.database.up ? 1 : 0],
    ['ws_clients_connected', 'gauge', 'Connected socket.io clients.', io.engine.clientsCount],
    ['ws_queued_bytes', 'gauge', 'Bytes queued in this process for all clients together at the last tick.', stream.queuedBytes],
    ['ws_connections_refused_total', 'counter', 'Handshakes refused at MAX_CONNECTIONS.', connectionsRefused],
    ['ws_route_scrapes_total', 'counter', "Scrapes of the routes' /metrics (ROUTE_METRICS_URLS).", comparison.scrapesTotal],
    ['ws_route_scrape_errors_total', 'counter', "Scrapes of the routes' /metrics that failed.", comparison.scrapeErrorsTotal],
  ];
  return lines.map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`).join('');
}
