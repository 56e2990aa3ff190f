'use strict';
// The whole configuration comes from the environment (a Secret in the cluster).
const path = require('node:path');

// What src/server.js prints as its one line on stderr before exiting with 1 (as route 1).
class ConfigError extends Error {}

const REQUIRED = ['DB_HOST', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'INGEST_TOKEN'];

function intFromEnv(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`${name} must be a non-negative integer (got '${raw}')`);
  }
  return Number(raw);
}

function loadConfig(env = process.env) {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length) throw new ConfigError(`missing environment variables: ${missing.join(', ')}`);
  return {
    port: intFromEnv(env, 'PORT', 8080),
    db: {
      host: env.DB_HOST,
      port: intFromEnv(env, 'DB_PORT', 3306),
      user: env.DB_USER,
      password: env.DB_PASSWORD,
      database: env.DB_NAME,
      poolSize: intFromEnv(env, 'DB_POOL_SIZE', 20),
    },
    // POST /api/metrics needs it as a bearer token (a Secret in the cluster, .env locally).
    ingestToken: env.INGEST_TOKEN,
    logLevel: env.LOG_LEVEL || 'info',
    // The contract's record schema, read at start so that a contract change is a behaviour change.
    recordSchemaPath:
      env.RECORD_SCHEMA_PATH || path.resolve(__dirname, '../../contracts/metric-record.schema.json'),
  };
}

module.exports = { loadConfig, ConfigError };
