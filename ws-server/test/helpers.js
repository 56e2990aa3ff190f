// Shared test fixtures: the private MariaDB (started by scripts/with-mariadb.sh),
// an in-process ws-server, and real socket.io-client connections whose every
// event is validated against contracts/realtime-events.schema.json.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import mysql from 'mysql2/promise';
import { io as connectClient } from 'socket.io-client';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { createWsServer } from '../src/server.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMA_PATH = `${PROJECT_ROOT}/contracts/realtime-events.schema.json`;

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(schema);
export const validators = Object.fromEntries(
  ['history', 'metrics', 'summary', 'status', 'comparison', 'handshakeAuth', 'windowRequest', 'windowReply', 'windowData', 'windowError', 'recordsRequest', 'recordsData', 'recordsReply'].map((name) => [name, ajv.getSchema(`${schema.$id}#/$defs/${name}`)]),
);

export const dbEnv = {
  DB_HOST: process.env.DB_HOST ?? '127.0.0.1',
  DB_PORT: process.env.DB_PORT,
  DB_USER: process.env.DB_USER,
  DB_PASSWORD: process.env.DB_PASSWORD,
  DB_NAME: process.env.DB_NAME,
};
if (!dbEnv.DB_PORT || !process.env.MARIADB_DIR) {
  throw new Error('run the tests with `make test` (it starts the private MariaDB and sets DB_* and MARIADB_DIR)');
}

export async function openDb() {
  return mysql.createConnection({
    host: dbEnv.DB_HOST,
    port: Number(dbEnv.DB_PORT),
    user: dbEnv.DB_USER,
    password: dbEnv.DB_PASSWORD,
    database: dbEnv.DB_NAME,
    decimalNumbers: true,
    dateStrings: true,
  });
}

/** A connection to an emptied metric_records, closed after the test. */
export async function emptyTable(t) {
  const db = await openDb();
  t.after(() => db.end());
  await rootSql('DELETE FROM metric_records'); // the application users may not delete
  return db;
}

export function mariadb(command) {
  return promisify(execFile)(`${PROJECT_ROOT}/scripts/mariadb.sh`, [command], { env: process.env });
}

// As the database's root user (what the application user may not do, e.g. TRUNCATE).
export function rootSql(statement) {
  return new Promise((resolve, reject) => {
    const child = execFile(`${PROJECT_ROOT}/scripts/mariadb.sh`, ['sql'], { env: process.env }, (err, stdout) => (
      err ? reject(err) : resolve(stdout)));
    child.stdin.end(`${statement};\n`);
  });
}

let sequence = 0;
function recordValues(route = sequence % 2 === 0 ? 'python' : 'node') {
  sequence += 1;
  const cpu = (sequence * 7) % 10000 / 100;
  return [route, 16000, 4_000_000_000 + sequence, 8000, ((sequence * 13) % 10000) / 100, cpu,
    Math.round((100 - cpu) * 100) / 100, 2, 300, 297, 1, 0, '2025-10-17 02:21:54'];
}

const INSERT = `INSERT INTO metric_records (route, total_ram, ram_libre, uso_ram, porcentaje_ram,
  porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,
  procesos_zombie, procesos_parados, hora) VALUES ?`;

export async function insertRow(conn, route) {
  const [result] = await conn.query(INSERT, [[recordValues(route)]]);
  return Number(result.insertId);
}

/** `count` rows in one statement, routes alternating. */
export async function insertBatch(conn, count) {
  await conn.query(INSERT, [Array.from({ length: count }, () => recordValues())]);
}

export async function insertRows(conn, count, route) {
  const ids = [];
  for (let i = 0; i < count; i += 1) ids.push(await insertRow(conn, route));
  return ids;
}

/** An in-process ws-server on a free port, closed after the test. */
export async function startServer(t, env = {}) {
  const logs = [];
  const config = loadConfig({ ...dbEnv, PORT: '0', ...env });
  const server = createWsServer(config, { log: (level, msg, fields) => logs.push({ level, msg, ...fields }) });
  const port = await server.listen(0, '127.0.0.1');
  t.after(() => server.close());
  return { server, logs, url: `http://127.0.0.1:${port}` };
}

/** `node src/main.js` as its own process, configured by `env` only; resolves once it listens. */
export async function startServerProcess(env) {
  const child = spawn(process.execPath, ['src/main.js'], {
    cwd: new URL('..', import.meta.url),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const entry = JSON.parse(line);
    if (entry.msg === 'ws-server listening') return { child, url: `http://127.0.0.1:${entry.port}` };
  }
  throw new Error('ws-server exited before listening');
}

/**
 * A bare socket.io handshake over a raw websocket (auth {lastId}), after which
 * the client stops reading its TCP socket: the server's writes pile up.
 */
export async function stalledClient(url, auth = {}) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const [open] = await once(socket, 'message');
  if (!open.toString().startsWith('0{')) throw new Error(`not an engine.io open packet: ${open}`);
  socket.send(`40${JSON.stringify(auth)}`);
  socket.pause();
  return socket;
}

/**
 * The same over long-polling: a handshake and the socket.io connect, then no
 * further poll, so every packet for it waits in engine.io's writeBuffer.
 * Returns the poll URL of its session.
 */
export async function stalledPollingClient(url, auth = {}) {
  const handshake = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(handshake)).text();
  if (!open.startsWith('0{')) throw new Error(`not an engine.io open packet: ${open}`);
  const session = `${handshake}&sid=${JSON.parse(open.slice(1)).sid}`;
  const connect = await fetch(session, { method: 'POST', body: `40${JSON.stringify(auth)}` });
  if (!connect.ok) throw new Error(`socket.io connect refused: ${connect.status}`);
  return session;
}

// A client that keeps what it received, the way the dashboard does: lastId for
// reconnects, the ids in arrival order, and every event checked on arrival.
export function client(url, { lastId = null, origin, reconnection = true, transports = ['websocket'] } = {}) {
  const state = {
    ids: [],
    lastId,
    events: [],
    invalid: [],
    histories: [],
    statuses: [],
    summaries: [],
    comparisons: [],
    connectErrors: [],
    disconnects: 0,
  };
  const socket = connectClient(url, {
    transports,
    forceNew: true,
    reconnection,
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
    auth: (send) => send({ lastId: state.lastId }),
    extraHeaders: origin ? { origin } : undefined,
  });
  const check = (name, payload) => {
    state.events.push(name);
    if (!validators[name](payload)) state.invalid.push({ name, errors: validators[name].errors, payload });
  };
  socket.on('history', (payload) => {
    check('history', payload);
    state.histories.push(payload);
    if (payload.truncated) state.ids = [];
    for (const row of payload.rows) state.ids.push(row.id);
    if (payload.rows.length > 0) state.lastId = payload.rows.at(-1).id;
  });
  socket.on('metrics', (payload) => {
    check('metrics', payload);
    for (const row of payload.rows) state.ids.push(row.id);
    state.lastId = payload.rows.at(-1).id;
  });
  socket.on('summary', (payload) => {
    check('summary', payload);
    state.summaries.push(payload);
  });
  socket.on('status', (payload) => {
    check('status', payload);
    state.statuses.push(payload);
  });
  socket.on('comparison', (payload) => {
    check('comparison', payload);
    state.comparisons.push(payload);
  });
  socket.on('connect_error', (err) => state.connectErrors.push(err.message));
  socket.on('disconnect', () => {
    state.disconnects += 1;
  });
  state.socket = socket;
  state.close = () => socket.close();
  return state;
}

/** Polls `predicate` (which may be async) every 20 ms until it holds. */
export async function waitFor(what, predicate, timeoutMs = 10000) {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function assertStrictlyIncreasing(assert, ids) {
  for (let i = 1; i < ids.length; i += 1) {
    if (ids[i] <= ids[i - 1]) assert.fail(`ids out of order or duplicated at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

export async function serverMetrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name, value] = l.split(' ');
    return [name, Number(value)];
  }));
}
