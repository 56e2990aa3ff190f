'use strict';
// Entry point: configuration from the environment, then listen on PORT.
const fs = require('node:fs');
const util = require('node:util');
const pino = require('pino');
const { loadConfig } = require('./config');
const { createBodyValidator } = require('./validate');
const { createSequelize, defineMetricRecord } = require('./db');
const { createStore } = require('./store');
const { createMetrics } = require('./metrics');
const { createApp, ROUTE } = require('./app');

function main() {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'route2-node' }, timestamp: pino.stdTimeFunctions.isoTime });
  // Libraries that print warnings (Sequelize, on a transaction lost with its
  // connection) go through the structured log too.
  console.warn = (...args) => logger.warn({ source: 'console' }, util.format(...args));
  const validateBody = createBodyValidator(JSON.parse(fs.readFileSync(config.recordSchemaPath, 'utf8')));
  // Nothing here touches the database: the route starts without it and serves 503 until it answers.
  const sequelize = createSequelize(config.db, logger);
  const MetricRecord = defineMetricRecord(sequelize);
  const store = createStore({ sequelize, MetricRecord, route: ROUTE, logger });
  const metrics = createMetrics(ROUTE);
  const app = createApp({ validateBody, store, metrics, logger });

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

main();
