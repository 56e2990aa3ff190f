// @vitest-environment node
// server.mjs with WS_UPSTREAM: socket.io's WebSocket upgrades reach a real
// socket.io server through the dashboard's origin, with the browser's Origin
// unchanged; long-polling (which the client never uses) is not proxied; a dead
// or silent upstream gets a clear answer within the timeouts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer, socketTarget } from '../server.mjs';

const DASHBOARD_ORIGIN = 'http://dashboard.test';
// Above socket.io's default 100 kB polling packet chunks, below its 1 MB limit.
const LARGE = 'x'.repeat(300_000);

let workDir;
let dist;
let upstreamHttp;
let upstreamIo;
let upstreamUrl;
let dashboard;
let dashboardUrl;
let connections;
const clients = [];
const extraServers = [];
const stubs = [];

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

async function startDashboard(options) {
  const server = await createDashboardServer({ distDir: dist, ...options });
  const port = await listen(server);
  extraServers.push(server);
  return { server, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'dashboard-proxy-'));
  dist = join(workDir, 'dist');
  mkdirSync(dist);
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');

  // The upstream checks Origin as ws-server does (allowRequest refuses the handshake).
  upstreamHttp = createServer();
  upstreamIo = new Server(upstreamHttp, {
    allowRequest: (req, callback) => callback(null, req.headers.origin === DASHBOARD_ORIGIN),
  });
  upstreamIo.on('connection', (socket) => {
    connections.push(socket);
    socket.on('echo', (payload, ack) => ack({ payload, transport: socket.conn.transport.name }));
    socket.emit('hello', { large: LARGE });
  });
  upstreamUrl = `http://127.0.0.1:${await listen(upstreamHttp)}`;
  ({ server: dashboard, url: dashboardUrl } = await startDashboard({ wsUpstream: upstreamUrl }));
});

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

afterAll(async () => {
  for (const server of extraServers) {
    server.closeTunnels();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const { server, sockets } of stubs) {
    for (const { socket } of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  await new Promise((resolve) => upstreamIo.close(resolve));
  rmSync(workDir, { recursive: true, force: true });
});

function connectClient(options) {
  connections = [];
  const client = io(dashboardUrl, {
    forceNew: true,
    reconnection: false,
    extraHeaders: { Origin: DASHBOARD_ORIGIN },
    ...options,
  });
  clients.push(client);
  return client;
}

function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
    emitter.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Connects, checks both directions with a large payload, returns the client. */
async function roundTrip(options) {
  const client = connectClient(options);
  const hello = once(client, 'hello');
  await once(client, 'connect');
  expect((await hello).large).toBe(LARGE);
  const answer = await client.timeout(5000).emitWithAck('echo', LARGE);
  expect(answer.payload).toBe(LARGE);
  expect(connections).toHaveLength(1);
  expect(connections[0].handshake.headers.origin).toBe(DASHBOARD_ORIGIN);
  return { client, transport: answer.transport };
}

/** A raw HTTP request; resolves with the status, or 'closed' when the connection ends without one. */
function rawRequest(url, { method = 'GET', path, headers = {} }) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode);
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? resolve('closed') : reject(err)));
    req.end();
  });
}

const UPGRADE_HEADERS = {
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  Origin: DASHBOARD_ORIGIN,
};

const WEBSOCKET_PATH = '/socket.io/?EIO=4&transport=websocket';

/** A TCP server standing in for ws-server; onRequest(socket) runs on the first bytes of each connection. */
async function upstreamStub(onRequest) {
  const sockets = [];
  const server = createTcpServer((socket) => {
    sockets.push({ socket, closed: new Promise((resolve) => socket.once('close', resolve)) });
    socket.on('error', () => {});
    socket.once('data', () => onRequest(socket));
  });
  const port = await listen(server);
  stubs.push({ server, sockets });
  return { url: `http://127.0.0.1:${port}`, sockets };
}

/** Completes the WebSocket handshake, then says nothing. */
function acceptUpgrade(socket) {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
}

/** A raw socket through the dashboard, resolved once the 101 has come back. */
async function openTunnel(url) {
  const tunnel = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
  tunnel.on('error', () => {});
  const headers = Object.entries(UPGRADE_HEADERS).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  tunnel.write(`GET ${WEBSOCKET_PATH} HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\n`);
  expect(String(await once(tunnel, 'data'))).toMatch(/^HTTP\/1\.1 101 /);
  return tunnel;
}

describe('socket.io proxy (WS_UPSTREAM)', () => {
  it('tells the browser to connect to its own origin, and its policy allows only that', async () => {
    const res = await fetch(`${dashboardUrl}/config.js`);
    expect(await res.text()).toBe('window.__CONFIG__ = {"WS_URL":""};\n');
    const policy = (await fetch(`${dashboardUrl}/`)).headers.get('content-security-policy');
    expect(policy).toContain("; connect-src 'self'; ");
    expect(policy).toContain("frame-ancestors 'none'");
  });

  it('proxies a WebSocket upgrade both ways, Origin unchanged', async () => {
    const { transport } = await roundTrip({ transports: ['websocket'] });
    expect(transport).toBe('websocket');
  });

  it('lets the upstream refuse a foreign Origin', async () => {
    const client = connectClient({ transports: ['websocket'], extraHeaders: { Origin: 'http://elsewhere.test' } });
    await once(client, 'connect_error');
    expect(client.connected).toBe(false);
  });

  it('does not proxy long-polling: the client uses WebSocket only', async () => {
    expect(await rawRequest(dashboardUrl, { path: '/socket.io/?EIO=4&transport=polling' })).toBe(404);
    expect(await rawRequest(dashboardUrl, { path: '/socket.io/?EIO=4&transport=polling', method: 'POST' })).toBe(405);
  });

  it('proxies nothing outside /socket.io/', async () => {
    expect(await rawRequest(dashboardUrl, { path: '/socket.io/../healthz', method: 'POST' })).toBe(405);
    expect(await rawRequest(dashboardUrl, { path: '/other/', headers: UPGRADE_HEADERS })).toBe(404);
    expect(await rawRequest(dashboardUrl, { path: '/healthz' })).toBe(200);
  });

  it('answers 502 when the upstream is down', async () => {
    const closed = createTcpServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const { url } = await startDashboard({ wsUpstream: `http://127.0.0.1:${port}` });
    expect(await rawRequest(url, { path: WEBSOCKET_PATH, headers: UPGRADE_HEADERS })).toBe(502);
  });

  it('answers 504 when the upstream does not answer the upgrade in time', async () => {
    const silent = await upstreamStub(() => {});
    const { url } = await startDashboard({ wsUpstream: silent.url, connectTimeoutMs: 300 });
    const started = Date.now();
    expect(await rawRequest(url, { path: WEBSOCKET_PATH, headers: UPGRADE_HEADERS })).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await silent.sockets[0].closed;
  });

  it('closes a silent tunnel, both sides', async () => {
    const mute = await upstreamStub(acceptUpgrade);
    const { url } = await startDashboard({ wsUpstream: mute.url, idleTimeoutMs: 300 });
    const tunnel = await openTunnel(url);
    await once(tunnel, 'close');
    await mute.sockets[0].closed;
  });

  it('closes the upstream side when the browser leaves', async () => {
    const mute = await upstreamStub(acceptUpgrade);
    const { url } = await startDashboard({ wsUpstream: mute.url });
    (await openTunnel(url)).destroy();
    await mute.sockets[0].closed;
  });

  it('does not proxy when only WS_URL is set', async () => {
    const { url } = await startDashboard({ wsUrl: upstreamUrl });
    expect(await rawRequest(url, { path: WEBSOCKET_PATH, headers: UPGRADE_HEADERS })).toBe(404);
  });
});

describe('WS_URL / WS_UPSTREAM', () => {
  it('requires exactly one, saying which', () => {
    expect(() => socketTarget({})).toThrow(/set WS_URL .* or WS_UPSTREAM .*neither is set/);
    expect(() => socketTarget({ WS_URL: '', WS_UPSTREAM: '' })).toThrow(/neither is set/);
    expect(() => socketTarget({ WS_URL: 'http://a.test', WS_UPSTREAM: 'http://b.test' })).toThrow(/exactly one .* both are set/);
    expect(socketTarget({ WS_URL: 'http://a.test' })).toEqual({ wsUrl: 'http://a.test' });
    expect(socketTarget({ WS_URL: '', WS_UPSTREAM: 'http://10.0.0.1' }).wsUpstream.origin).toBe('http://10.0.0.1');
  });

  it('refuses an upstream it cannot proxy to', () => {
    expect(() => socketTarget({ WS_UPSTREAM: '10.0.0.1:8090' })).toThrow(/WS_UPSTREAM must/);
    expect(() => socketTarget({ WS_UPSTREAM: 'https://ws.example' })).toThrow(/WS_UPSTREAM must use http/);
    expect(() => socketTarget({ WS_UPSTREAM: 'http://ws.example/socket.io' })).toThrow(/no path/);
  });
});
