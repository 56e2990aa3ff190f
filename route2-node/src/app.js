'use strict';
// The HTTP side of contracts/ingest-api.yaml: Express, validation at the edge,
// the contract's error shape on every failure, X-Route on every response.
const express = require('express');
const { DatabaseUnavailableError, NOTHING_STORED } = require('./store');
const { createBatchTurns } = require('./batch-turns');
const { LimitExceededError, checkLimits } = require('./jsontext');

const ROUTE = 'node';
const BODY_LIMIT_BYTES = 1024 * 1024;
const RETRY_AFTER_SECONDS = '2';

// Media type only; parameters such as charset are ignored (contract, step 1).
function isJsonMediaType(header) {
  return typeof header === 'string' && header.split(';', 1)[0].trim().toLowerCase() === 'application/json';
}

function sendError(res, status, error, message, extra = {}) {
  res.status(status).json({ error, message, ...extra });
}

function sendUnavailable(res, body) {
  res.set('Retry-After', RETRY_AFTER_SECONDS);
  res.status(503).json(body);
}

function createApp({ validateBody, store, metrics, logger, admits }) {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Paths match exactly, as in route 1: /API/metrics and /api/metrics/ are not /api/metrics.
  app.enable('case sensitive routing');
  app.enable('strict routing');
  // Strict UTF-8; a byte order mark is kept, so JSON.parse refuses it (RFC 8259 forbids it; route 1 too).
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.setHeader('X-Route', ROUTE);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = req.route ? req.route.path : 'unmatched';
      metrics.observeRequest(req.method, path, res.statusCode, seconds);
      const entry = { method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 };
      if (res.statusCode >= 500) logger.warn(entry, 'request');
      else logger.info(entry, 'request');
    });
    next();
  });

  app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

  app.get('/readyz', async (req, res) => {
    // Ready either way: a route whose database is down stays in rotation and answers
    // the contract's 503 with Retry-After itself, so that no balancer is left without one.
    try {
      await store.ping();
      metrics.setDatabaseUp(true);
      res.json({ status: 'ok', database: 'up' });
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      metrics.setDatabaseUp(false);
      res.json({ status: 'ok', database: 'down', reason: error.cause.message });
    }
  });

  app.get('/metrics', async (req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });

  // Before the body is read: a stranger's bytes cost nothing.
  const requireToken = (req, res, next) => {
    if (admits(req.headers.authorization)) return next();
    metrics.countUnauthorized();
    res.set('WWW-Authenticate', 'Bearer');
    sendError(res, 401, 'unauthorized', "Send Authorization: Bearer <the deployment's INGEST_TOKEN>.");
  };
  const requireJson = (req, res, next) => {
    if (isJsonMediaType(req.headers['content-type'])) return next();
    metrics.countRecords('rejected', 1);
    sendError(res, 415, 'unsupported_media_type', 'Content-Type must be application/json.');
  };
  // The raw bytes, parsed below: body-parser's JSON parser turns an empty body
  // into {} and refuses top-level scalars, which the contract answers otherwise.
  const readBody = express.raw({ type: () => true, limit: BODY_LIMIT_BYTES, inflate: false });
  const takeBatchTurn = createBatchTurns({
    turns: store.batchTurns,
    maxBodyBytes: BODY_LIMIT_BYTES,
    refuse: (res) => sendUnavailable(res, { error: 'database_unavailable', message: NOTHING_STORED }),
  });

  app.post('/api/metrics', requireToken, requireJson, takeBatchTurn, readBody, async (req, res) => {
    let body;
    try {
      const text = utf8.decode(req.body ?? new Uint8Array(0));
      checkLimits(text);
      body = JSON.parse(text);
    } catch (error) {
      metrics.countRecords('rejected', 1);
      if (error instanceof LimitExceededError) return sendError(res, 400, error.code, error.message);
      return sendError(res, 400, 'malformed_json', 'The body is not valid JSON.');
    }
    const { records, problems } = validateBody(body);
    if (problems.length) {
      metrics.countRecords('rejected', records.length);
      return sendError(res, 422, 'invalid_record', 'The body does not match the record schema.', { problems });
    }
    let result;
    try {
      result = await store.storeRecords(records);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      logger.warn({ err: error.cause.message, code: error.cause.code }, 'database unavailable');
      return sendUnavailable(res, {
        error: 'database_unavailable',
        message: error.clientMessage,
      });
    }
    metrics.countRecords('stored', result.stored);
    metrics.countRecords('duplicate', result.duplicates);
    res.status(201).json({ stored: result.stored, duplicates: result.duplicates, route: ROUTE });
  });

  // A known path asked with another method: 405, with the contract's closest code (as route 1).
  for (const [path, allow] of Object.entries({ '/api/metrics': 'POST', '/healthz': 'GET', '/readyz': 'GET', '/metrics': 'GET' })) {
    app.all(path, (req, res) => {
      res.set('Allow', allow);
      sendError(res, 405, 'not_found', 'This path does not answer that method.');
    });
  }
  app.use((req, res) => sendError(res, 404, 'not_found', 'No such path.'));

  // body-parser's errors in the contract's shape; anything else is a bug: 500.
  app.use((error, req, res, next) => {
    if (res.headersSent) return next(error);
    switch (error.type) {
      case 'entity.too.large':
        metrics.countRecords('rejected', 1);
        return sendError(res, 413, 'payload_too_large', `The body is over ${BODY_LIMIT_BYTES} bytes (1 MiB).`);
      case 'encoding.unsupported':
        metrics.countRecords('rejected', 1);
        return sendError(res, 415, 'unsupported_media_type', 'Content-Encoding is not supported.');
      case 'request.aborted':
        return undefined;
      case 'request.size.invalid':
        metrics.countRecords('rejected', 1);
        return sendError(res, 400, 'malformed_json', 'The body is shorter than its Content-Length.');
      default:
        // Not the error object itself: Sequelize's errors carry the SQL's bind values (record contents).
        logger.error({ error: error.name, code: (error.original ?? error).code, message: error.message, stack: error.stack }, 'unexpected error');
        return sendError(res, 500, 'internal_error', 'Unexpected error; nothing was stored.');
    }
  });

  return app;
}

module.exports = { createApp, ROUTE };
