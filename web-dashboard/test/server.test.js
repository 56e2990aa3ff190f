// @vitest-environment node
// The static server that serves the build and writes /config.js from env.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configScript, contentSecurityPolicy, createDashboardServer } from '../server.mjs';

const SERVER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'server.mjs');
let workDir;
let server;
let port;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'dashboard-server-'));
  const dist = join(workDir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
  writeFileSync(join(workDir, 'secret.txt'), 'outside the build');
  server = await createDashboardServer({ wsUrl: 'https://ws.example.run.app', distDir: dist });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(workDir, { recursive: true, force: true });
});

/** A raw request: the path is sent as written, not normalised by a URL parser. */
function get(path, method = 'GET', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static server', () => {
  it('writes /config.js from WS_URL, never cached', async () => {
    const res = await get('/config.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe('window.__CONFIG__ = {"WS_URL":"https://ws.example.run.app"};\n');
  });

  it('serves the page and caches hashed assets for good', async () => {
    expect((await get('/')).body).toContain('<title>t</title>');
    const asset = await get('/assets/app-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await get('/healthz')).status).toBe(200);
  });

  it('serves nothing outside the build', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/missing.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('outside the build');
    }
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    const res = await get('/', 'POST');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('escapes a WS_URL that tries to close the script', () => {
    expect(configScript('https://x.example/</script><script>alert(1)</script>')).not.toContain('</script>');
  });

  it('refuses to start without exactly one usable WS_URL or WS_UPSTREAM, saying why', () => {
    for (const [vars, message] of [
      [{}, 'set WS_URL (ws-server as the browser reaches it) or WS_UPSTREAM'],
      [{ WS_URL: 'ws-server:8090' }, 'WS_URL must use http, https, ws or wss'],
      [{ WS_UPSTREAM: 'https://ws.example' }, 'WS_UPSTREAM must use http'],
      [{ WS_URL: 'http://a.example', WS_UPSTREAM: 'http://b.example' }, 'set exactly one of WS_URL'],
    ]) {
      // Never listens: the WS_URL / WS_UPSTREAM check comes first.
      const env = { ...process.env, PORT: '8080', DIST_DIR: join(workDir, 'dist') };
      delete env.WS_URL;
      delete env.WS_UPSTREAM;
      Object.assign(env, vars);
      const result = spawnSync(process.execPath, [SERVER_SCRIPT], { env, encoding: 'utf8', timeout: 10_000 });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(message);
    }
  });
});

describe('security headers', () => {
  const directPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
    "connect-src 'self' https://ws.example.run.app wss://ws.example.run.app; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  it('go on every answer: the page, config.js, assets, 404, 405', async () => {
    for (const [path, method, status] of [
      ['/', 'GET', 200],
      ['/config.js', 'GET', 200],
      ['/assets/app-abc123.js', 'GET', 200],
      ['/healthz', 'HEAD', 200],
      ['/missing.js', 'GET', 404],
      ['/', 'POST', 405],
    ]) {
      const res = await get(path, method);
      expect(res.status, path).toBe(status);
      expect(res.headers['content-security-policy'], path).toBe(directPolicy);
      expect(res.headers['referrer-policy'], path).toBe('no-referrer');
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      expect(res.headers['strict-transport-security'], path).toBeUndefined();
    }
  });

  it('add HSTS only when the request came over https (X-Forwarded-Proto, as Cloud Run sends it)', async () => {
    expect((await get('/', 'GET', { 'X-Forwarded-Proto': 'https' })).headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await get('/', 'GET', { 'X-Forwarded-Proto': 'HTTPS, http' })).headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await get('/', 'GET', { 'X-Forwarded-Proto': 'http' })).headers['strict-transport-security']).toBeUndefined();
  });

  it('let sockets reach WS_URL in both of its schemes, or only the page origin', () => {
    const connectSrc = (wsUrl) => contentSecurityPolicy(wsUrl).split('; ').find((d) => d.startsWith('connect-src'));
    expect(connectSrc('http://127.0.0.1:8090')).toBe("connect-src 'self' http://127.0.0.1:8090 ws://127.0.0.1:8090");
    expect(connectSrc('ws://ws.local:8090/')).toBe("connect-src 'self' http://ws.local:8090 ws://ws.local:8090");
    expect(connectSrc('wss://ws.example')).toBe("connect-src 'self' https://ws.example wss://ws.example");
    expect(connectSrc('')).toBe("connect-src 'self'");
  });

  it('refuse a WS_URL host that would rewrite the policy', () => {
    expect(() => configScript('http://a;script-src:1')).toThrow(/WS_URL's host must be a DNS name or IPv4 address/);
    expect(() => configScript('http://[::1]:8090')).toThrow(/WS_URL's host must be a DNS name or IPv4 address/);
  });
});
