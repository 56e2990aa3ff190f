'use strict';
// Stores validated records: all or nothing, duplicates decided by the unique key.
const { UniqueConstraintError, ConnectionError, TimeoutError, QueryTypes } = require('sequelize');
const { escape } = require('mysql2');
const { withDeadline, timeLeftMs } = require('./deadline');

const UNIQUE_KEY = 'uq_metric_records_record_id';
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
const MAX_ATTEMPTS = 3;
// A request's statements, commit and retries end by this deadline, so that the
// contract's 503 comes within 2 s (the pool's wait, 0.8 s, is inside it too).
const STORE_DEADLINE_MS = 1500;
// Batches at once (src/batch-turns.js): a quarter of the pool, so that concurrent
// 1000-record batches leave connections (and database time) to single records.
const BATCH_SHARE_OF_POOL = 0.25;
// The 503's message, the same text in both routes (route 1: route1/storage.py).
const NOTHING_STORED = 'The database is unavailable; nothing was stored.';
const OUTCOME_UNKNOWN = 'The database did not confirm the commit: the records may have been stored. '
  + 'Retry with the same ids; stored ones are then counted as duplicates.';
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
  /** `outcomeUnknown`: COMMIT was sent and its answer never came. */
  constructor(cause, { outcomeUnknown = false } = {}) {
    super(`database unavailable: ${cause.message}`, { cause });
    this.name = 'DatabaseUnavailableError';
    this.outcomeUnknown = outcomeUnknown;
    this.clientMessage = outcomeUnknown ? OUTCOME_UNKNOWN : NOTHING_STORED;
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
// A server's error packet is an answer (the statement failed); anything else
// (timeout, connection lost) leaves what the server did unknown.
const answeredByServer = (error) => driverError(error).sqlState !== undefined;

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
  // The same statement with many rows, escaped by mysql2 (the text protocol's own
  // escaping): a prepared statement per batch size would pile up on the server.
  const insertHead = insertSql.slice(0, insertSql.indexOf(' VALUES ') + ' VALUES '.length);
  const multiRowInsertSql = (rows) => insertHead + rows.map((values) => `(${values.map((v) => escape(v)).join(',')})`).join(',');

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

  // Many rows: one multi-row INSERT; if the unique key refuses it, InnoDB has undone
  // that statement only, and the rows go one by one, each refusal a duplicate.
  async function insertMany(rows, transaction) {
    try {
      await sequelize.query(multiRowInsertSql(rows), { type: QueryTypes.INSERT, transaction, raw: true });
      return rows.length;
    } catch (error) {
      if (!isDuplicateRecordId(error)) throw error;
    }
    let stored = 0;
    for (const row of rows) {
      if (await insertOne(row, transaction)) stored += 1;
    }
    return stored;
  }

  // One explicit transaction, even for one row: an autocommit INSERT stuck in a
  // frozen server's socket would run when it wakes, after the route answered 503.
  // Before COMMIT is sent, a failure means nothing was stored (a connection lost
  // or closed on timeout makes the server roll back); after, the outcome is unknown.
  async function attempt(rows) {
    const transaction = await sequelize.transaction();
    let committing = false;
    try {
      const stored = rows.length === 1 ? Number(await insertOne(rows[0], transaction)) : await insertMany(rows, transaction);
      if (timeLeftMs() <= 0) throw new DatabaseUnavailableError(new Error('the deadline passed before the commit'));
      committing = true;
      await transaction.commit();
      return { stored, duplicates: rows.length - stored };
    } catch (error) {
      if (committing) {
        if (!answeredByServer(error)) throw new DatabaseUnavailableError(driverError(error), { outcomeUnknown: true });
        throw error;
      }
      // Sequelize has already rolled back after a deadlock; a dead connection cannot roll back.
      await transaction.rollback().catch(() => {});
      throw error;
    }
  }

  async function attemptWithRetries(rows) {
    for (let attemptNo = 1; ; attemptNo += 1) {
      try {
        return await attempt(rows);
      } catch (error) {
        if (error instanceof DatabaseUnavailableError) throw error;
        if (isRetryable(error) && attemptNo < MAX_ATTEMPTS && timeLeftMs() > 0) {
          logger.warn({ attempt: attemptNo, code: driverError(error).code }, 'retrying the transaction');
          await pause(10 * attemptNo * (0.5 + Math.random()));
          continue;
        }
        throw asThrown(error);
      }
    }
  }

  /** Stores the records; resolves to { stored, duplicates } after the commit. */
  async function storeRecords(records) {
    const deadlineAt = performance.now() + STORE_DEADLINE_MS;
    // Inserting in one order (by id) makes concurrent batches take the unique
    // key's locks in the same order, which avoids most deadlocks between them.
    const rows = records.map((record) => toValues(record, route)).sort(byRecordId);
    return withDeadline(deadlineAt, () => attemptWithRetries(rows));
  }

  /** Whether the database answers (for /readyz). */
  async function ping() {
    try {
      await sequelize.query('SELECT 1', { raw: true });
    } catch (error) {
      throw asThrown(error);
    }
  }

  return { storeRecords, ping, batchTurns: Math.max(1, Math.floor(sequelize.options.pool.max * BATCH_SHARE_OF_POOL)) };
}

module.exports = {
  createStore, DatabaseUnavailableError, asThrown, INSERTED_COLUMNS, UNIQUE_KEY, NOTHING_STORED, OUTCOME_UNKNOWN,
};
