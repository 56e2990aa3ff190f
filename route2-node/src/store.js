'use strict';
// Stores validated records: all or nothing, duplicates decided by the unique key.
const { UniqueConstraintError, ConnectionError, TimeoutError, QueryTypes } = require('sequelize');

const UNIQUE_KEY = 'uq_metric_records_record_id';
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
const MAX_ATTEMPTS = 3;
const INSERTED_COLUMNS = [
  'record_id', 'route', 'total_ram', 'ram_libre', 'uso_ram', 'porcentaje_ram', 'porcentaje_cpu_uso',
  'porcentaje_cpu_libre', 'procesos_corriendo', 'total_procesos', 'procesos_durmiendo', 'procesos_zombie',
  'procesos_parados', 'hora',
];

// Errors that mean "the database cannot serve now" (503), as opposed to a bug (500).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK', 'ER_STATEMENT_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'ER_CONNECTION_KILLED',
]);

class DatabaseUnavailableError extends Error {
  constructor(cause) {
    super(`database unavailable: ${cause.message}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

const driverError = (error) => error.original ?? error.parent ?? error;

function isUnavailable(error) {
  if (error instanceof ConnectionError || error instanceof TimeoutError) return true;
  const cause = driverError(error);
  return UNAVAILABLE_CODES.has(cause.code) || cause.fatal === true;
}

// The error to throw on: DatabaseUnavailableError (503) or the error itself (a bug, 500).
const asThrown = (error) => (isUnavailable(error) ? new DatabaseUnavailableError(driverError(error)) : error);

function isRetryable(error) {
  const { errno } = driverError(error);
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

function isDuplicateRecordId(error) {
  return error instanceof UniqueConstraintError && String(driverError(error).sqlMessage).includes(UNIQUE_KEY);
}

// Two decimals, half away from zero, of the number's shortest decimal text (the
// one the client sent), passed to DECIMAL(5,2) as text so no binary rounding
// interferes: 12.345 -> '12.35' (route 1 does the same with Decimal(str(x))).
function toCents(value) {
  const text = String(value);
  if (text.includes('e')) return value.toFixed(2); // below 1e-6 here (0..100): '0.00'
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length <= 2) return text;
  let cents = BigInt(whole + fraction.slice(0, 2));
  if (fraction[2] >= '5') cents += 1n;
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

// The wire record as the INSERT's bind values, in INSERTED_COLUMNS order. `hora`
// goes as its text: UTC, as the session (time_zone '+00:00') and the column hold it.
function toValues(record, route) {
  return [
    record.id ?? null,
    route,
    record.total_ram,
    record.ram_libre,
    record.uso_ram,
    toCents(record.porcentaje_ram),
    toCents(record.porcentaje_cpu_uso),
    toCents(record.porcentaje_cpu_libre),
    record.procesos_corriendo,
    record.total_procesos,
    record.procesos_durmiendo,
    record.procesos_zombie,
    record.procesos_parados,
    record.hora,
  ];
}

const lockOrderKey = (values) => (values[0] === null ? '\uffff' : values[0].toLowerCase());
const byRecordId = (a, b) => {
  const [x, y] = [lockOrderKey(a), lockOrderKey(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function createStore({ sequelize, MetricRecord, route, logger }) {
  // The model's INSERT, generated once by Sequelize's query generator and run
  // with bind parameters through sequelize.query (pool, transactions, error
  // mapping). Model.create would rebuild it, with an instance, for every record:
  // about twice the CPU per insert (README, "Benchmark").
  const { query: insertSql } = MetricRecord.queryGenerator.insertQuery(
    MetricRecord.getTableName(),
    Object.fromEntries(INSERTED_COLUMNS.map((column) => [column, null])),
    MetricRecord.getAttributes(),
    {},
  );

  // One INSERT; a duplicate id is the unique key's answer, never a prior read.
  // Inside a transaction InnoDB undoes only the failed statement, so the
  // transaction goes on after a duplicate.
  async function insertOne(values, transaction) {
    try {
      await sequelize.query(insertSql, { bind: values, type: QueryTypes.INSERT, transaction, raw: true });
      return true;
    } catch (error) {
      if (isDuplicateRecordId(error)) return false;
      throw error;
    }
  }

  async function attempt(rows) {
    // A single row is one autocommit statement: atomic on its own, and the
    // commit has happened when the INSERT answers.
    if (rows.length === 1) {
      const stored = await insertOne(rows[0], undefined);
      return { stored: stored ? 1 : 0, duplicates: stored ? 0 : 1 };
    }
    // Inserting in one order (by id) makes concurrent batches take the unique
    // key's locks in the same order, which avoids most deadlocks between them.
    const ordered = [...rows].sort(byRecordId);
    const transaction = await sequelize.transaction();
    try {
      let stored = 0;
      for (const row of ordered) {
        if (await insertOne(row, transaction)) stored += 1;
      }
      await transaction.commit();
      return { stored, duplicates: rows.length - stored };
    } catch (error) {
      // Sequelize has already rolled back after a deadlock; a dead connection cannot roll back.
      await transaction.rollback().catch(() => {});
      throw error;
    }
  }

  /** Stores the records; resolves to { stored, duplicates } after the commit. */
  async function storeRecords(records) {
    const rows = records.map((record) => toValues(record, route));
    for (let attemptNo = 1; ; attemptNo += 1) {
      try {
        return await attempt(rows);
      } catch (error) {
        if (isRetryable(error) && attemptNo < MAX_ATTEMPTS) {
          logger.warn({ attempt: attemptNo, code: driverError(error).code }, 'retrying the transaction');
          await pause(10 * attemptNo * (0.5 + Math.random()));
          continue;
        }
        throw asThrown(error);
      }
    }
  }

  /** Whether the database answers (for /readyz). */
  async function ping() {
    try {
      await sequelize.query('SELECT 1', { raw: true });
    } catch (error) {
      throw asThrown(error);
    }
  }

  return { storeRecords, ping };
}

module.exports = { createStore, DatabaseUnavailableError, asThrown, INSERTED_COLUMNS, UNIQUE_KEY };
