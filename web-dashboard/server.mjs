// Serves the static build and /config.js, written from the environment at
// start, so one image serves every environment (local stack, Cloud Run).
//   PORT     port to listen on (default 8080, as Cloud Run expects)
//   HOST     address to bind (default 0.0.0.0)
//   WS_URL   the ws-server's http(s) URL; required
//   DIST_DIR the build to serve (default ./dist beside this file)
import { createServer } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function configScript(wsUrl) {
  let parsed;
  try {
    parsed = new URL(wsUrl);
  } catch {
    throw new Error(`WS_URL must be an absolute URL such as http://127.0.0.1:8090 (got ${JSON.stringify(wsUrl ?? '')})`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new Error(`WS_URL must use http, https, ws or wss (got ${parsed.protocol})`);
  }
  // Escaping '<' keeps a crafted value from closing a script element.
  const json = JSON.stringify({ WS_URL: wsUrl }).replace(/</g, '\\u003c');
  return `window.__CONFIG__ = ${json};\n`;
}

export async function createDashboardServer({ wsUrl, distDir }) {
  const config = configScript(wsUrl);
  const root = await realpath(distDir);
  const index = await readFile(join(root, 'index.html'));

  return createServer(async (req, res) => {
    const send = (status, type, body, cache = 'no-cache') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
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
}

async function main() {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT must be a port number (got ${JSON.stringify(process.env.PORT)})`);
  }
  const host = process.env.HOST ?? '0.0.0.0';
  const distDir = process.env.DIST_DIR ?? join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
  const server = await createDashboardServer({ wsUrl: process.env.WS_URL, distDir }).catch((err) => {
    if (err.code === 'ENOENT') throw new Error(`no build in ${distDir}: run npm run build first`);
    throw err;
  });
  server.listen(port, host, () => {
    console.log(`web-dashboard serving ${distDir} on http://${host}:${port}, ws-server at ${process.env.WS_URL}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
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
