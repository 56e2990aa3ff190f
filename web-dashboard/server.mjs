// Serves the static build and /config.js, written from the environment at
// start, so one image serves every environment (local stack, Cloud Run).
//   PORT        port to listen on (default 8080, as Cloud Run expects)
//   HOST        address to bind (default 0.0.0.0)
//   WS_URL      the ws-server's http(s) URL as the browser reaches it: the
//               browser connects to it directly
//   WS_UPSTREAM the ws-server's http URL as this server reaches it: this server
//               proxies /socket.io/ (long-polling and WebSocket) to it and the
//               browser connects to its own origin. An https page (Cloud Run)
//               cannot open ws:// or http:// elsewhere (mixed content).
//   Exactly one of WS_URL and WS_UPSTREAM must be set.
//   DIST_DIR    the build to serve (default ./dist beside this file)
import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { pipeline } from 'node:stream';
import { readFile, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOCKET_IO_PREFIX = '/socket.io/';
// Bounds on the upstream: how long a TCP connect may take, and how long a
// proxied connection may stay silent. socket.io pings every 25 s and a
// long-poll is held at most pingInterval + pingTimeout (45 s), so 75 s of
// silence means the connection is dead.
const UPSTREAM_CONNECT_TIMEOUT_MS = 5_000;
const UPSTREAM_IDLE_TIMEOUT_MS = 75_000;
// Headers that describe one hop, never forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Reads WS_URL and WS_UPSTREAM: exactly one must be set (an empty value is
 * unset). Returns { wsUrl } (the browser connects there) or { wsUpstream }
 * (this server proxies /socket.io/ there); throws a message naming the variable.
 */
export function socketTarget({ WS_URL: wsUrl, WS_UPSTREAM: wsUpstream }) {
  if (wsUrl && wsUpstream) {
    throw new Error('set exactly one of WS_URL (the browser connects to ws-server directly) and WS_UPSTREAM (this server proxies /socket.io/ to ws-server); both are set');
  }
  if (!wsUrl && !wsUpstream) {
    throw new Error('set WS_URL (ws-server as the browser reaches it) or WS_UPSTREAM (ws-server as this server reaches it, proxied under /socket.io/); neither is set');
  }
  if (wsUpstream) return { wsUpstream: parseUpstream(wsUpstream) };
  configScript(wsUrl);
  return { wsUrl };
}

function parseUpstream(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`WS_UPSTREAM must be an absolute URL such as http://127.0.0.1:8090 (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:') {
    throw new Error(`WS_UPSTREAM must use http (ws-server behind the ingress; got ${url.protocol})`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) {
    throw new Error(`WS_UPSTREAM must be scheme://host[:port] with no path, query or credentials (got ${JSON.stringify(raw)})`);
  }
  return url;
}

/**
 * The page's configuration. An empty WS_URL tells the client to connect to the
 * page's own origin, where this server proxies /socket.io/.
 */
export function configScript(wsUrl) {
  if (wsUrl !== '') {
    let parsed;
    try {
      parsed = new URL(wsUrl);
    } catch {
      throw new Error(`WS_URL must be an absolute URL such as http://127.0.0.1:8090 (got ${JSON.stringify(wsUrl ?? '')})`);
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
      throw new Error(`WS_URL must use http, https, ws or wss (got ${parsed.protocol})`);
    }
  }
  // Escaping '<' keeps a crafted value from closing a script element.
  const json = JSON.stringify({ WS_URL: wsUrl }).replace(/</g, '\\u003c');
  return `window.__CONFIG__ = ${json};\n`;
}

/** The path and query to forward when the request is for socket.io, else null. */
function socketIoTarget(rawUrl) {
  let url;
  try {
    // The URL parser resolves '..' and '%2e%2e', so nothing outside /socket.io/ is reachable.
    url = new URL(rawUrl, 'http://localhost');
  } catch {
    return null;
  }
  return url.pathname.startsWith(SOCKET_IO_PREFIX) ? url.pathname + url.search : null;
}

/**
 * The browser's headers for the upstream: Origin and the rest unchanged (as
 * Node joined repeated ones), hop-by-hop ones dropped, Host the upstream's.
 */
function upstreamHeaders(req, upstream, { keepUpgrade }) {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'connection' || name === 'upgrade'))) continue;
    headers[name] = value;
  }
  const client = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${client}` : client;
  headers['x-forwarded-host'] ??= req.headers.host ?? '';
  headers.host = upstream.host;
  return headers;
}

/**
 * Proxies socket.io's HTTP requests (long-polling GET and POST), bodies
 * streamed both ways with backpressure, nothing buffered whole.
 */
function proxyHttp(req, res, path, upstream, agent, { connectTimeoutMs, idleTimeoutMs }) {
  const upstreamReq = request({
    host: upstream.hostname,
    port: upstream.port || 80,
    method: req.method,
    path,
    headers: upstreamHeaders(req, upstream, { keepUpgrade: false }),
    agent,
    timeout: idleTimeoutMs,
  });
  const fail = (status, message) => {
    if (res.destroyed) return;
    if (res.headersSent) return res.destroy();
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`${message}\n`);
  };
  let connectTimer;
  upstreamReq.on('socket', (socket) => {
    if (!socket.connecting) return; // a kept-alive connection
    connectTimer = setTimeout(() => upstreamReq.destroy(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })), connectTimeoutMs);
    socket.once('connect', () => clearTimeout(connectTimer));
  });
  upstreamReq.on('timeout', () => upstreamReq.destroy(Object.assign(new Error('upstream idle'), { code: 'IDLE_TIMEOUT' })));
  upstreamReq.on('error', (err) => {
    clearTimeout(connectTimer);
    const timedOut = err.code === 'CONNECT_TIMEOUT' || err.code === 'IDLE_TIMEOUT';
    fail(timedOut ? 504 : 502, timedOut ? 'ws-server did not answer in time' : 'ws-server unreachable');
  });
  upstreamReq.on('response', (upstreamRes) => {
    const responseHeaders = {};
    for (const [name, value] of Object.entries(upstreamRes.headers)) {
      if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    res.writeHead(upstreamRes.statusCode, responseHeaders);
    pipeline(upstreamRes, res, () => {});
  });
  // The browser went away: drop the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  pipeline(req, upstreamReq, () => {});
}

/**
 * Proxies a WebSocket upgrade: a TCP connection to the upstream, the request
 * head replayed, then bytes piped both ways (the upstream's 101 or refusal
 * goes back verbatim). Either side failing or going silent closes both.
 */
function proxyUpgrade(req, socket, head, path, upstream, tunnels, { connectTimeoutMs, idleTimeoutMs }) {
  const upstreamSocket = connect({ host: upstream.hostname, port: Number(upstream.port || 80) });
  tunnels.add(socket);
  let established = false;
  let connectTimer;
  const close = () => {
    clearTimeout(connectTimer);
    tunnels.delete(socket);
    upstreamSocket.destroy();
    socket.destroy();
  };
  const refuse = (status, reason) => {
    if (!established && socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    close();
  };
  connectTimer = setTimeout(() => refuse(504, 'Gateway Timeout'), connectTimeoutMs);
  upstreamSocket.on('error', () => refuse(502, 'Bad Gateway'));
  socket.on('error', close);
  socket.on('close', close);
  upstreamSocket.on('close', close);
  for (const side of [socket, upstreamSocket]) {
    side.setTimeout(idleTimeoutMs, close);
  }
  upstreamSocket.on('connect', () => {
    clearTimeout(connectTimer);
    established = true;
    socket.setNoDelay(true);
    upstreamSocket.setNoDelay(true);
    const lines = [`${req.method} ${path} HTTP/1.1`];
    for (const [name, value] of Object.entries(upstreamHeaders(req, upstream, { keepUpgrade: true }))) lines.push(`${name}: ${value}`);
    upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstreamSocket.write(head);
    // pipe() pauses the faster side when the other's buffer is full.
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
  });
}

/**
 * The dashboard's HTTP server. With wsUpstream it also proxies /socket.io/;
 * server.closeTunnels() ends proxied WebSockets, which the HTTP server no
 * longer tracks once upgraded.
 */
export async function createDashboardServer({
  wsUrl,
  wsUpstream,
  distDir,
  connectTimeoutMs = UPSTREAM_CONNECT_TIMEOUT_MS,
  idleTimeoutMs = UPSTREAM_IDLE_TIMEOUT_MS,
}) {
  const upstream = wsUpstream ? (wsUpstream instanceof URL ? wsUpstream : parseUpstream(wsUpstream)) : null;
  const config = configScript(upstream ? '' : wsUrl);
  const root = await realpath(distDir);
  const index = await readFile(join(root, 'index.html'));
  const timeouts = { connectTimeoutMs, idleTimeoutMs };
  const agent = upstream ? new Agent({ keepAlive: true, maxSockets: 256 }) : null;
  const tunnels = new Set();

  const server = createServer(async (req, res) => {
    const send = (status, type, body, cache = 'no-cache') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (upstream) {
      const path = socketIoTarget(req.url);
      if (path) return proxyHttp(req, res, path, upstream, agent, timeouts);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return send(400, 'text/plain; charset=utf-8', 'bad request path\n');
    }
    if (pathname === '/healthz') return send(200, 'text/plain; charset=utf-8', 'ok\n');
    if (pathname === '/config.js') return send(200, CONTENT_TYPES['.js'], config);
    if (pathname === '/' || pathname === '/index.html') return send(200, CONTENT_TYPES['.html'], index);

    const file = resolve(root, `.${pathname}`);
    if (!file.startsWith(root + sep) || pathname.includes('\0')) {
      return send(404, 'text/plain; charset=utf-8', 'not found\n');
    }
    try {
      const real = await realpath(file);
      if (!real.startsWith(root + sep)) return send(404, 'text/plain; charset=utf-8', 'not found\n');
      const body = await readFile(real);
      // Vite puts a content hash in every asset name: they never change.
      const cache = pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(200, CONTENT_TYPES[extname(real)] ?? 'application/octet-stream', body, cache);
    } catch {
      return send(404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });

  server.on('upgrade', (req, socket, head) => {
    const path = upstream ? socketIoTarget(req.url) : null;
    if (!path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    proxyUpgrade(req, socket, head, path, upstream, tunnels, timeouts);
  });
  server.closeTunnels = () => {
    for (const socket of tunnels) socket.destroy();
    agent?.destroy();
  };
  return server;
}

async function main() {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT must be a port number (got ${JSON.stringify(process.env.PORT)})`);
  }
  const host = process.env.HOST ?? '0.0.0.0';
  const distDir = process.env.DIST_DIR ?? join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
  const target = socketTarget(process.env);
  const server = await createDashboardServer({ ...target, distDir }).catch((err) => {
    if (err.code === 'ENOENT') throw new Error(`no build in ${distDir}: run npm run build first`);
    throw err;
  });
  const socketIo = target.wsUpstream
    ? `proxying /socket.io/ to ${target.wsUpstream.origin}`
    : `browsers connect to ws-server at ${target.wsUrl}`;
  server.listen(port, host, () => {
    console.log(`web-dashboard serving ${distDir} on http://${host}:${port}, ${socketIo}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    server.closeTunnels();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`web-dashboard: ${err.message}`);
    process.exit(1);
  });
}
