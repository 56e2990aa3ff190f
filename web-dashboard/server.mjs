// Serves the static build and /config.js, written from the environment at
// start, so one image serves every environment (local stack, Cloud Run).
//   PORT        port to listen on (default 8080, as Cloud Run expects)
//   HOST        address to bind (default 0.0.0.0)
//   WS_URL      the ws-server's http(s) URL as the browser reaches it: the
//               browser connects to it directly
//   WS_UPSTREAM the ws-server's http URL as this server reaches it: this server
//               proxies /socket.io/ WebSockets to it and the browser connects
//               to its own origin. An https page (Cloud Run) cannot open
//               ws:// or http:// elsewhere (mixed content).
//   Exactly one of WS_URL and WS_UPSTREAM must be set.
//   DIST_DIR    the build to serve (default ./dist beside this file)
import { createServer } from 'node:http';
import { realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxyServer } from 'httpxy';
import sirv from 'sirv';

const SOCKET_IO_PREFIX = '/socket.io/';
// Bounds on the upstream: how long connecting and the WebSocket handshake may
// take, and how long an open WebSocket may stay silent. socket.io pings every
// 25 s, so 75 s of silence means the connection is dead.
const UPSTREAM_CONNECT_TIMEOUT_MS = 5_000;
const UPSTREAM_IDLE_TIMEOUT_MS = 75_000;
const CSP_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)*(:\d+)?$/;
// One year; sent only on https requests (see securityHeaders).
const HSTS = 'max-age=31536000';

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
    // The host goes into the Content-Security-Policy, whose sources are DNS
    // names or IPv4 addresses; a ';' or ' ' there would rewrite the policy.
    if (!CSP_HOST.test(parsed.host)) {
      throw new Error(`WS_URL's host must be a DNS name or IPv4 address with an optional port (got ${JSON.stringify(parsed.host)})`);
    }
  }
  // Escaping '<' keeps a crafted value from closing a script element.
  const json = JSON.stringify({ WS_URL: wsUrl }).replace(/</g, '\\u003c');
  return `window.__CONFIG__ = ${json};\n`;
}

/**
 * The page's Content-Security-Policy. The build has no inline script or
 * style (React and Victory set styles through the CSSOM, which style-src does
 * not govern), so its own files suffice. Sockets go to the page's origin
 * (proxy mode; 'self' covers ws: and wss: there) or to WS_URL's origin, listed
 * in both schemes socket.io-client may use for it: ws(s) for the WebSocket,
 * http(s) for what WS_URL names.
 */
export function contentSecurityPolicy(wsUrl) {
  const connect = ["'self'"];
  if (wsUrl) {
    const { protocol, host } = new URL(wsUrl);
    const secure = protocol === 'https:' || protocol === 'wss:';
    connect.push(secure ? `https://${host}` : `http://${host}`, secure ? `wss://${host}` : `ws://${host}`);
  }
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${connect.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The headers every answer carries. HSTS only when the request came over
 * https: Cloud Run (and any TLS-ending proxy in front) says so in
 * X-Forwarded-Proto, this server itself speaks plain http. Trusting the
 * header costs nothing: browsers ignore HSTS received over plain http (RFC
 * 6797 section 8.1), so a client forging it only fools itself.
 */
function securityHeaders(csp) {
  return (req, res) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',', 1)[0].trim().toLowerCase();
    if (proto === 'https') res.setHeader('Strict-Transport-Security', HSTS);
  };
}

/** The request's path and query with '..' and '%2e%2e' resolved, or null when unparsable. */
function normalisedPath(rawUrl) {
  try {
    const url = new URL(rawUrl, 'http://localhost');
    return url.pathname + url.search;
  } catch {
    return null;
  }
}

/**
 * Proxies socket.io's WebSocket upgrades to the upstream (the client uses the
 * WebSocket transport only, so there is no long-polling to carry). The
 * browser's Origin is forwarded unchanged for ws-server's CORS check; Host
 * becomes the upstream's. No 101 within connectTimeoutMs: 504; upstream
 * unreachable: 502; idleTimeoutMs without a byte either way closes both sides.
 */
function createSocketIoProxy(upstream, { connectTimeoutMs, idleTimeoutMs }) {
  const proxy = createProxyServer({
    target: upstream.origin,
    changeOrigin: true,
    xfwd: true,
    upgradeTimeout: connectTimeoutMs,
  });
  const tunnels = new Set();
  const upgraded = new WeakSet();
  proxy.on('proxyReqWs', (proxyReq, req, socket) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    // Every byte of the tunnel is read or written on this socket, so its idle
    // timer measures silence in both directions.
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    proxyReq.once('upgrade', (upstreamRes, upstreamSocket) => {
      upgraded.add(socket);
      socket.once('close', () => upstreamSocket.destroy());
    });
  });
  proxy.on('error', (err, req, socket) => {
    // After the 101 the bytes are WebSocket frames: no HTTP answer fits any more.
    if (upgraded.has(socket) || !socket.writable) return;
    const [status, reason] = err.code === 'ERR_UPSTREAM_UPGRADE_TIMEOUT' ? [504, 'Gateway Timeout'] : [502, 'Bad Gateway'];
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return {
    upgrade: (req, socket, head) => proxy.ws(req, socket, {}, head),
    closeTunnels: () => {
      for (const socket of tunnels) socket.destroy();
    },
  };
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
  // Fails with ENOENT when there is no build.
  const root = dirname(await realpath(join(distDir, 'index.html')));
  // Only the files in the build at start are served (sirv's production mode
  // lists them once), so no request path reaches anything else.
  const serveBuild = sirv(root, {
    etag: true,
    // Vite puts a content hash in every asset name: they never change.
    setHeaders: (res, pathname) => res.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  const proxy = upstream ? createSocketIoProxy(upstream, { connectTimeoutMs, idleTimeoutMs }) : null;
  const setSecurityHeaders = securityHeaders(contentSecurityPolicy(upstream ? '' : wsUrl));

  const server = createServer((req, res) => {
    setSecurityHeaders(req, res);
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const pathname = req.url.split('?', 1)[0];
    if (pathname === '/healthz') return send(200, 'text/plain; charset=utf-8', 'ok\n');
    if (pathname === '/config.js') return send(200, 'text/javascript; charset=utf-8', config);
    return serveBuild(req, res, () => send(404, 'text/plain; charset=utf-8', 'not found\n'));
  });

  server.on('upgrade', (req, socket, head) => {
    const path = proxy ? normalisedPath(req.url) : null;
    if (!path?.startsWith(SOCKET_IO_PREFIX)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Forward the path that was checked, not the raw one.
    req.url = path;
    proxy.upgrade(req, socket, head);
  });
  server.closeTunnels = () => proxy?.closeTunnels();
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
