import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseCorsOrigins } from '../src/config.js';
import {
  client, dbEnv, serverMetrics, startServer, startServerProcess, validators, waitFor,
} from './helpers.js';

test('cors: only the configured origins may connect', async (t) => {
  const ws = await startServer(t, { CORS_ORIGINS: 'https://dashboard.example.com, http://localhost:8088' });

  const stranger = client(ws.url, { origin: 'https://evil.example.com', reconnection: false });
  t.after(() => stranger.close());
  await waitFor('refusal', () => stranger.connectErrors.length > 0);
  assert.equal(stranger.histories.length, 0);

  const dashboard = client(ws.url, { origin: 'https://dashboard.example.com' });
  t.after(() => dashboard.close());
  await waitFor('history for the allowed origin', () => dashboard.histories.length === 1);

  // The polling transport: refused outright, and no CORS header for a stranger.
  const handshake = '/socket.io/?EIO=4&transport=polling';
  const refused = await fetch(`${ws.url}${handshake}`, { headers: { origin: 'http://localhost:5173' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  const allowed = await fetch(`${ws.url}${handshake}`, { headers: { origin: 'http://localhost:8088' } });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:8088');

  // No Origin at all: refused as well once origins are configured, on both transports.
  assert.equal((await fetch(`${ws.url}${handshake}`)).status, 403);
  const anonymous = client(ws.url, { reconnection: false });
  t.after(() => anonymous.close());
  await waitFor('refusal without an Origin', () => anonymous.connectErrors.length > 0);
  assert.equal(anonymous.histories.length, 0);
  assert.ok(ws.logs.some((l) => l.msg === 'refused connection from a disallowed origin' && l.origin === undefined));
});

test('cors: the default allows local development pages only; "*" and non-origins are refused', () => {
  const local = parseCorsOrigins(undefined);
  assert.ok(local.allows('http://localhost:5173'));
  assert.ok(local.allows('http://127.0.0.1:8088'));
  assert.ok(!local.allows('http://localhost.evil.com:80'));
  assert.ok(!local.allows('https://dashboard.example.com'));
  assert.equal(local.configured, false, 'the default lets a client without Origin in');
  assert.throws(() => parseCorsOrigins('*'), /'\*' is refused/);
  assert.throws(() => parseCorsOrigins('https://a.example.com,*'), /'\*' is refused/);
  assert.throws(() => parseCorsOrigins('https://a.example.com/path'), /is not an origin/);
  assert.throws(() => parseCorsOrigins('dashboard'), /is not an origin/);
  assert.throws(() => loadConfig({ TICK_MS: 'fast' }), ConfigError);
  assert.throws(() => loadConfig({ PORT: '70000' }), /PORT must be between/);
  assert.throws(() => loadConfig({ SLOW_CLIENT_MAX_BYTES: '1000' }), /SLOW_CLIENT_MAX_BYTES must be between 1024/);
  assert.throws(() => loadConfig({ SLOW_CLIENT_MAX_PACKETS: '2400' }), /SLOW_CLIENT_MAX_PACKETS is gone: set SLOW_CLIENT_MAX_BYTES/);
});

test('handshake: a lastId that is not a non-negative integer is refused with a clear error', async (t) => {
  const ws = await startServer(t);
  for (const lastId of ['12', -1, 1.5]) {
    const bad = client(ws.url, { lastId, reconnection: false });
    await waitFor('refusal', () => bad.connectErrors.length > 0);
    bad.close();
    assert.match(bad.connectErrors[0], /invalid auth\.lastId/);
    assert.equal(bad.histories.length, 0);
  }
});

test('process: configured by env only; /healthz, /readyz, /metrics; readiness follows the database; SIGTERM stops it', async (t) => {
  const up = await startServerProcess({ ...dbEnv, PORT: '0' });
  t.after(() => up.child.kill());
  assert.deepEqual(await (await fetch(`${up.url}/healthz`)).json(), { status: 'ok' });
  const ready = await fetch(`${up.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).database, 'up');
  assert.match(await (await fetch(`${up.url}/metrics`)).text(), /^ws_db_queries_total \d+$/m);
  assert.equal((await fetch(`${up.url}/nothing`)).status, 404);
  up.child.kill('SIGTERM');
  const [code] = await once(up.child, 'exit');
  assert.equal(code, 0);

  // No database at that address: it still serves, says so, and is not ready.
  const down = await startServerProcess({ ...dbEnv, DB_PORT: '1', PORT: '0', DB_TIMEOUT_MS: '500' });
  t.after(() => down.child.kill());
  assert.equal((await fetch(`${down.url}/healthz`)).status, 200);
  const notReady = await fetch(`${down.url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.equal((await notReady.json()).message, 'database unreachable; retrying');
  const waiting = client(down.url, { reconnection: false });
  t.after(() => waiting.close());
  await waitFor('status down', () => waiting.statuses.length === 1);
  assert.equal(waiting.statuses[0].database, 'down');
  assert.equal(waiting.histories.length, 0, 'no history before the database was ever read');
  assert.deepEqual(waiting.invalid, []);
});

test('process: a bad variable stops it at startup with a message naming it', async () => {
  for (const [name, value] of [['CORS_ORIGINS', '*'], ['MAX_CONNECTIONS', '0'], ['CATCHUP_PAGE_ROWS', 'many'], ['SLOW_CLIENT_MAX_PACKETS', '2400']]) {
    const child = spawn(process.execPath, ['src/main.js'], {
      cwd: new URL('..', import.meta.url),
      env: { PATH: process.env.PATH, [name]: value },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, name);
    assert.match(output, new RegExp(name));
  }
});

test('database errors: their text (it names the user and the host) reaches the log, never a client', async (t) => {
  const ws = await startServer(t, { DB_PASSWORD: 'not-the-password', DB_TIMEOUT_MS: '500', TICK_MS: '100' });
  const viewer = client(ws.url, { reconnection: false });
  t.after(() => viewer.close());
  await waitFor('status down', () => viewer.statuses.some((s) => s.database === 'down'));
  await waitFor('the failure logged', () => ws.logs.some((l) => l.code === 'ER_ACCESS_DENIED_ERROR'));
  const logged = ws.logs.find((l) => l.code === 'ER_ACCESS_DENIED_ERROR');
  assert.match(logged.error, new RegExp(`Access denied for user '${dbEnv.DB_USER}'`));

  const answers = [
    ...viewer.statuses,
    await (await fetch(`${ws.url}/readyz`)).json(),
    await viewer.socket.timeout(5000).emitWithAck('window', { minutes: 5 }),
    await viewer.socket.timeout(5000).emitWithAck('records', { minutes: 5, sort: 'id', order: 'asc', offset: 0, limit: 10 }),
  ];
  for (const answer of answers) {
    const text = JSON.stringify(answer);
    assert.ok(!text.includes(dbEnv.DB_USER) && !text.includes(dbEnv.DB_HOST) && !/denied/i.test(text), text);
  }
  assert.equal(viewer.statuses.at(-1).message, 'database unreachable; retrying');
  assert.ok(validators.windowError(answers.at(-1)));
  assert.deepEqual(viewer.invalid, []);
});

test('limits: past MAX_CONNECTIONS a handshake is refused until a connection closes', async (t) => {
  const ws = await startServer(t, { MAX_CONNECTIONS: '2' });
  const first = client(ws.url);
  const second = client(ws.url);
  t.after(() => [first, second].forEach((c) => c.close()));
  await waitFor('two connections', () => first.histories.length === 1 && second.histories.length === 1);

  const third = client(ws.url, { reconnection: false });
  t.after(() => third.close());
  await waitFor('the third refused', () => third.connectErrors.length > 0);
  assert.equal(third.histories.length, 0);
  const polling = await fetch(`${ws.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(polling.status, 403);
  assert.match(await polling.text(), /too many connections \(MAX_CONNECTIONS\)/);
  assert.equal((await serverMetrics(ws.url)).ws_connections_refused_total, 2);

  first.close();
  await waitFor('the first connection gone', () => ws.server.io.engine.clientsCount === 1);
  const fourth = client(ws.url);
  t.after(() => fourth.close());
  await waitFor('a place again', () => fourth.histories.length === 1);
  // The upgrade of a counted connection is not a new one.
  const upgraded = client(ws.url, { transports: ['polling', 'websocket'] });
  t.after(() => upgraded.close());
  await waitFor('refused while full', () => upgraded.connectErrors.length > 0);
  second.close();
  await waitFor('the upgrading client in, over websocket', () => upgraded.histories.length === 1 && upgraded.socket.io.engine.transport.name === 'websocket', 10000);
});

test('limits: each knob has a default and refuses a bad value, naming it', () => {
  const config = loadConfig({});
  assert.equal(config.maxConnections, 2000);
  assert.equal(config.requestsPerConnection, 2);
  assert.equal(config.catchupConcurrency, 2);
  assert.equal(config.catchupPageRows, 200);
  assert.equal(config.slowClientMaxBytes, 1048576);
  assert.equal(config.slowClientsMaxTotalBytes, 268435456);
  for (const name of ['MAX_CONNECTIONS', 'REQUESTS_PER_CONNECTION', 'CATCHUP_CONCURRENCY', 'CATCHUP_PAGE_ROWS', 'SLOW_CLIENT_MAX_BYTES', 'SLOW_CLIENTS_MAX_TOTAL_BYTES']) {
    assert.throws(() => loadConfig({ [name]: '0' }), new RegExp(`: ${name} must be between`));
    assert.throws(() => loadConfig({ [name]: 'lots' }), new RegExp(`: ${name} must be a whole number`));
  }
});
