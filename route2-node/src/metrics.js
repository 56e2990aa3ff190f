'use strict';
// The Prometheus names of contracts/ingest-api.yaml, shared with route 1.
const client = require('prom-client');

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function createMetrics(route) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requestDuration = new client.Histogram({
    name: 'ingest_http_request_duration_seconds',
    help: 'Duration of every HTTP request, from arrival to the last byte of the answer.',
    labelNames: ['route', 'method', 'path', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const records = new client.Counter({
    name: 'ingest_records_total',
    help: 'Records received, by outcome: stored, duplicate (id already stored) or rejected (invalid body).',
    labelNames: ['route', 'outcome'],
    registers: [registry],
  });
  const unauthorized = new client.Counter({
    name: 'ingest_unauthorized_requests_total',
    help: 'Requests refused with 401: no bearer token, or not INGEST_TOKEN.',
    labelNames: ['route'],
    registers: [registry],
  }).labels({ route });
  unauthorized.inc(0);
  // Set by every /readyz check.
  const databaseUp = new client.Gauge({
    name: 'ingest_database_up',
    help: "1 when the route's last readiness check reached the database, else 0.",
    labelNames: ['route'],
    registers: [registry],
  }).labels({ route });
  // Every outcome is exported from the start, so rates exist before the first event.
  const outcome = {};
  for (const name of ['stored', 'duplicate', 'rejected']) {
    outcome[name] = records.labels({ route, outcome: name });
    outcome[name].inc(0);
  }
  return {
    registry,
    observeRequest(method, path, status, seconds) {
      requestDuration.observe({ route, method, path, status: String(status) }, seconds);
    },
    countUnauthorized() {
      unauthorized.inc();
    },
    setDatabaseUp(up) {
      databaseUp.set(up ? 1 : 0);
    },
    countRecords(name, count) {
      if (count > 0) outcome[name].inc(count);
    },
  };
}

module.exports = { createMetrics };
