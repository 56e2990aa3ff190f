'use strict';
// Shared by the tests: the real service as a child process, HTTP helpers, and the
// private MariaDB that `make test` started (MARIADB_DIR, DB_* in the environment).
const { before, after } = require('node:test');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const crypto = require('node:crypto');
const mysql = require('mysql2/promise');

const ROOT = path.resolve(__dirname, '..');
const PROJECT = path.resolve(ROOT, '..');
const CONTRACTS = path.join(PROJECT, 'contracts');
/** A valid record of the contract's examples. */
const VALID = JSON.parse(fs.readFileSync(path.join(CONTRACTS, 'examples/valid/spec-example.json'), 'utf8'));

for (const name of ['DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'MARIADB_DIR', 'INGEST_TOKEN']) {
  if (!process.env[name]) throw new Error(`${name} is not set: run the tests with 'make test'`);
}

/** Starts src/server.js on a free port; resolves once it listens. */
async function startService(extraEnv = {}) {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/server.js')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = [];
  const lines = readline.createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not listen within 15 s')), 15000);
    child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
    lines.on('line', (line) => {
      const entry = JSON.parse(line);
      logs.push(entry);
      if (entry.msg === 'listening') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The deployment's bearer token, which every POST below carries. */
const AUTHORIZATION = `Bearer ${process.env.INGEST_TOKEN}`;

async function post(url, body, headers = { 'content-type': 'application/json' }) {
  const response = await fetch(`${url}/api/metrics`, {
    method: 'POST',
    headers: { authorization: AUTHORIZATION, ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? safeJson(text) : undefined };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function connectDb() {
  return mysql.createConnection({
    host: process.env.DB_HOST,
    port: Number(process.env.DB_PORT),
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
    database: process.env.DB_NAME,
    timezone: 'Z',
    dateStrings: true,
  });
}

/**
 * The calling test file's service for all its tests, and with `withDb` a connection
 * to the tests' database: `url`, `logs` and `db` are set once `before` has run.
 */
function useService({ withDb = false } = {}) {
  const service = {};
  before(async () => {
    Object.assign(service, await startService());
    if (withDb) service.db = await connectDb();
  });
  after(async () => {
    await service.stop?.();
    await service.db?.end();
  });
  return service;
}

/** How many rows carry these record ids; on a connection of its own unless one is given. */
async function countIds(ids, db) {
  const connection = db ?? (await connectDb());
  try {
    return (await connection.query('SELECT COUNT(*) AS n FROM metric_records WHERE record_id IN (?)', [ids]))[0][0].n;
  } finally {
    if (!db) await connection.end();
  }
}

/** scripts/mariadb.sh COMMAND on the tests' own instance (`sql`: INPUT as the server's root, on DATABASE). */
function mariadb(command, { input = '', database = process.env.DB_NAME } = {}) {
  return execFileSync(path.join(PROJECT, 'scripts/mariadb.sh'), [command], {
    input, encoding: 'utf8', env: { ...process.env, DB_NAME: database }, stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** SQL as the server's root: clean-up and set-up that the routes' user (SELECT, INSERT) may not do. */
const adminSql = (sql, database) => mariadb('sql', { input: sql, database });

const newId = () => crypto.randomUUID();

module.exports = { startService, useService, post, AUTHORIZATION, connectDb, countIds, mariadb, adminSql, newId, VALID, CONTRACTS };
