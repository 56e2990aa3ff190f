// The one door to MariaDB/MySQL: every call has a deadline, every statement is
// counted (the /metrics counter proves "one query per tick"), and a connection
// that failed or timed out is destroyed instead of going back to the pool.
import mysql from 'mysql2/promise';

export class Database {
  constructor({ host, port, user, password, database, timeoutMs }, { connections }) {
    this.timeoutMs = timeoutMs;
    this.connections = connections;
    this.queriesTotal = 0;
    this.pool = mysql.createPool({
      host,
      port,
      user,
      password,
      database,
      connectionLimit: connections,
      connectTimeout: timeoutMs,
      // Wire format needs: DECIMAL as JSON numbers, DATETIME as the stored text
      // (both columns hold UTC by contract; no local time zone conversion).
      decimalNumbers: true,
      dateStrings: true,
      enableKeepAlive: true,
    });
  }

  async acquire() {
    const pending = this.pool.getConnection();
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => {
        // A connection that arrives after the deadline goes straight back.
        pending.then((late) => late.release(), () => {});
        const err = new Error(`timed out after ${this.timeoutMs} ms waiting for a database connection`);
        err.code = 'ETIMEDOUT';
        reject(err);
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async query(sql, values = []) {
    const connection = await this.acquire();
    this.queriesTotal += 1;
    try {
      const [rows] = await connection.query({ sql, values, timeout: this.timeoutMs });
      connection.release();
      return rows;
    } catch (err) {
      connection.destroy();
      throw err;
    }
  }

  // Several statements on one connection inside one consistent snapshot.
  async snapshot(work) {
    const connection = await this.acquire();
    const run = async (sql, values = []) => {
      this.queriesTotal += 1;
      const [rows] = await connection.query({ sql, values, timeout: this.timeoutMs });
      return rows;
    };
    try {
      await run('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const result = await work(run);
      await run('COMMIT');
      connection.release();
      return result;
    } catch (err) {
      connection.destroy();
      throw err;
    }
  }

  async close() {
    await this.pool.end();
  }
}
