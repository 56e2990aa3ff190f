'use strict';
// Sequelize over a mysql2 pool, and the model of `metric_records`: the same table as
// route 1's SQLAlchemy model, which defines it through its Alembic migrations
// (the only way the table is made or changed). The table is never created or
// altered from here (no sync()); src/schema-check.js compares this model with the
// live table at start, and the route refuses to start when they disagree.
const { Sequelize, DataTypes } = require('sequelize');
const { timeLeftMs } = require('./deadline');

// Every database call has a deadline, so that a dead or frozen database turns
// into a 503 well within 2 s instead of a hang.
const CONNECT_TIMEOUT_MS = 800;
const ACQUIRE_TIMEOUT_MS = 800;
const QUERY_TIMEOUT_MS = 1000;

// Sequelize has no per-query timeout for MySQL, so each new mysql2 connection
// gets mysql2's own `timeout` on every command, shortened to the request's
// deadline (src/deadline.js) when one is running; a connection whose command timed
// out is destroyed, since its protocol state is unknown, and the pool drops it.
function armQueryTimeout(connection, timeoutMs) {
  const withTimeout = (options) => {
    const timeout = Math.max(1, Math.min(timeoutMs, Math.floor(timeLeftMs())));
    return typeof options === 'string' ? { sql: options, timeout } : { timeout, ...options };
  };
  const destroyOnTimeout = (callback) => (error, ...results) => {
    if (error && error.code === 'PROTOCOL_SEQUENCE_TIMEOUT') connection.destroy();
    return callback(error, ...results);
  };
  for (const method of ['query', 'execute']) {
    const original = connection[method];
    connection[method] = function armed(options, ...rest) {
      const last = rest.length - 1;
      if (last >= 0 && typeof rest[last] === 'function') rest[last] = destroyOnTimeout(rest[last]);
      return original.call(this, withTimeout(options), ...rest);
    };
  }
}

function createSequelize(db, logger) {
  return new Sequelize(db.database, db.user, db.password, {
    host: db.host,
    port: db.port,
    dialect: 'mysql',
    // Stored and read as UTC: `hora` is UTC on the wire.
    timezone: '+00:00',
    // SQL carries record contents: only at trace level.
    logging: logger.isLevelEnabled('trace') ? (sql) => logger.trace({ sql }, 'sql') : false,
    dialectOptions: { connectTimeout: CONNECT_TIMEOUT_MS },
    // The pool hands out its most recently used connection first, so at a light load
    // the rest sit idle; keeping them a minute (mysql2's own default) spares the
    // next burst new connections (connect, auth, SET time_zone, PREPARE).
    pool: { max: db.poolSize, min: 0, acquire: ACQUIRE_TIMEOUT_MS, idle: 60000, evict: 5000 },
    hooks: {
      afterConnect: (connection) => armQueryTimeout(connection, QUERY_TIMEOUT_MS),
    },
  });
}

function defineMetricRecord(sequelize) {
  return sequelize.define(
    'MetricRecord',
    {
      id: { type: DataTypes.BIGINT.UNSIGNED, allowNull: false, primaryKey: true, autoIncrement: true },
      record_id: { type: DataTypes.CHAR(36), allowNull: true, unique: 'uq_metric_records_record_id' },
      route: { type: DataTypes.ENUM('python', 'node'), allowNull: false },
      total_ram: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      ram_libre: { type: DataTypes.BIGINT.UNSIGNED, allowNull: false },
      uso_ram: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      porcentaje_ram: { type: DataTypes.DECIMAL(5, 2), allowNull: false },
      porcentaje_cpu_uso: { type: DataTypes.DECIMAL(5, 2), allowNull: false },
      porcentaje_cpu_libre: { type: DataTypes.DECIMAL(5, 2), allowNull: false },
      procesos_corriendo: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      total_procesos: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      procesos_durmiendo: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      procesos_zombie: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      procesos_parados: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false },
      hora: { type: DataTypes.DATE, allowNull: false },
      // Filled by the column's default, CURRENT_TIMESTAMP(3).
      received_at: { type: DataTypes.DATE(3), allowNull: false },
    },
    { tableName: 'metric_records', timestamps: false },
  );
}

module.exports = { createSequelize, defineMetricRecord };
