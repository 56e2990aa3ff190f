'use strict';
// Entry point: configuration from the environment, then listen on PORT.
const fs = require('node:fs');
const util = require('node:util');
const pino = require('pino');
const { loadConfig, ConfigError } = require('./config');
const { createBodyValidator } = require('./validate');
const { createSequelize, defineMetricRecord } = require('./db');
const { createStore } = require('./store');
const { checkSchema, SchemaMismatchError, DatabaseUnavailableError } = require('./schema-check');
const { createMetrics } = require('./metrics');
const { createApp, ROUTE } = require('./app');
const { bearerTokenCheck } = require('./auth');

async function main() {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'route2-node' }, timestamp: pino.stdTimeFunctions.isoTime });
  // Libraries that print warnings (Sequelize, on a transaction lost with its
  // connection) go through the structured log too.
  console.warn = (...args) => logger.warn({ source: 'console' }, util.format(...args));
  const validateBody = createBodyValidator(JSON.parse(fs.readFileSync(config.recordSchemaPath, 'utf8')));
  const sequelize = createSequelize(config.db, logger);
  const MetricRecord = defineMetricRecord(sequelize);
  const schema = createSchemaGuard({ sequelize, MetricRecord, logger });
  // The model is compared with the live table before listening: a mismatch stops the start.
  // The route still starts without the database (503 until it answers); the comparison
  // then runs as soon as the database answers, before any request touches the table.
  await schema.ensure().catch((error) => {
    if (!(error instanceof DatabaseUnavailableError)) throw error;
    logger.warn({ reason: error.cause.message }, 'database unavailable: the table is compared with the model once it answers');
    schema.retryInBackground();
  });
  const store = guardedStore(createStore({ sequelize, MetricRecord, route: ROUTE, logger }), schema);
  const metrics = createMetrics(ROUTE);
  const app = createApp({ validateBody, store, metrics, logger, admits: bearerTokenCheck(config.ingestToken) });

  const server = app.listen(config.port, () => {
    logger.info({ port: server.address().port, db: `${config.db.host}:${config.db.port}/${config.db.database}` }, 'listening');
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'cannot listen');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close(async () => {
      await sequelize.close().catch(() => {});
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// The model against the live table, once: `ensure()` resolves when they have been found
// to agree; a mismatch (or an error other than the database being unavailable) stops
// the process with exit code 1 and the differences in the log.
function createSchemaGuard({ sequelize, MetricRecord, logger }) {
  const RETRY_MS = 2000;
  let matched = false;
  let running = null;
  let timer = null;
  const stop = async (error) => {
    if (error instanceof SchemaMismatchError) {
      logger.fatal({ table: MetricRecord.getTableName(), problems: error.problems }, error.message);
    } else {
      logger.fatal({ err: error.message, code: (error.original ?? error).code }, `cannot compare the table with the model: ${error.message}`);
    }
    await sequelize.close().catch(() => {});
    process.exit(1);
  };
  const check = async () => {
    try {
      const { warnings } = await checkSchema({ sequelize, MetricRecord });
      for (const warning of warnings) logger.warn({ table: MetricRecord.getTableName() }, warning);
      logger.info({ table: MetricRecord.getTableName() }, 'the table matches the model');
      matched = true;
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) throw error;
      await stop(error);
    }
  };
  const ensure = async () => {
    if (matched) return;
    running ??= check().finally(() => { running = null; });
    await running;
  };
  const retryInBackground = () => {
    if (matched || timer) return;
    timer = setTimeout(() => {
      timer = null;
      ensure().catch(() => retryInBackground());
    }, RETRY_MS);
    timer.unref();
  };
  return { ensure, retryInBackground };
}

// Until the table has been found to match, every database use checks it first
// (a DatabaseUnavailableError there is the usual 503).
function guardedStore(store, schema) {
  return {
    storeRecords: async (records) => (await schema.ensure(), store.storeRecords(records)),
    ping: async () => (await schema.ensure(), store.ping()),
    batchTurns: store.batchTurns,
  };
}

main().catch((error) => {
  // A configuration error is one line, no stack: what to set, or what is wrong with it.
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else console.error(error);
  process.exit(1);
});
