// Configuration comes only from environment variables; bad values stop the
// process at startup with a message that names the variable.

const DEFAULTS = {
  PORT: 8080,
  DB_HOST: '127.0.0.1',
  DB_PORT: 3306,
  DB_USER: 'monitor',
  DB_PASSWORD: '',
  DB_NAME: 'monitor',
  // The poll's pace (src/pacer.js): TICK_MS between polls while rows flow; after
  // TICK_BACKOFF_POLLS empty polls the wait doubles, up to TICK_IDLE_MS. The
  // first row after a quiet spell waits for an idle poll, so TICK_IDLE_MS is
  // kept under the 300 ms p99 goal (issue #18).
  TICK_MS: 50,
  TICK_IDLE_MS: 250,
  TICK_BACKOFF_POLLS: 4,
  HISTORY_LIMIT: 300,
  CATCHUP_LIMIT: 10000,
  // Catch-ups (src/catchup.js): database queries at once for all clients, and
  // rows per page (~90 KB of JSON: what a client that stops reading holds).
  CATCHUP_CONCURRENCY: 2,
  CATCHUP_PAGE_ROWS: 200,
  DB_TIMEOUT_MS: 5000,
  GAP_WAIT_MS: 1000,
  // Bytes queued for one client that stopped reading before it is dropped:
  // about half a minute of the replay's ~60 rows/s (a row is ~450 bytes of
  // JSON, plus a summary per tick).
  SLOW_CLIENT_MAX_BYTES: 1048576,
  // All clients together: what the Deployment's 512 MiB leaves after the
  // process itself (about 80 MB) and the catch-ups' pages.
  SLOW_CLIENTS_MAX_TOTAL_BYTES: 268435456,
  // The route comparison (src/comparison.js): one scrape of every route's
  // /metrics per interval, whatever the number of clients.
  // Connections in total, and window/records requests running per connection.
  MAX_CONNECTIONS: 2000,
  REQUESTS_PER_CONNECTION: 2,
  ROUTE_METRICS_INTERVAL_MS: 5000,
  ROUTE_METRICS_TIMEOUT_MS: 2000,
};

export class ConfigError extends Error {}

function integer(env, name, { min, max }) {
  const raw = env[name];
  if (raw === undefined || raw === '') return DEFAULTS[name];
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function text(env, name) {
  const raw = env[name];
  return raw === undefined || raw === '' ? DEFAULTS[name] : raw;
}

// Without CORS_ORIGINS only local development pages (and clients that send no
// Origin: tests, the benchmark) may connect; with it, only the listed origins.
const LOCAL_DEV_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$/;

export function parseCorsOrigins(raw) {
  if (raw === undefined || raw.trim() === '') {
    return { describe: 'http://localhost:*, http://127.0.0.1:* (local development default)', configured: false, allows: (origin) => LOCAL_DEV_ORIGIN.test(origin) };
  }
  const origins = new Set();
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (item === '*') throw new ConfigError("CORS_ORIGINS must list the allowed origins; '*' is refused");
    let url;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError(`CORS_ORIGINS: '${item}' is not an origin like https://dashboard.example.com`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.origin !== item.replace(/\/$/, '')) {
      throw new ConfigError(`CORS_ORIGINS: '${item}' is not an origin (scheme://host[:port], no path)`);
    }
    origins.add(url.origin);
  }
  if (origins.size === 0) throw new ConfigError('CORS_ORIGINS is set but lists no origin');
  return { describe: [...origins].join(', '), configured: true, allows: (origin) => origins.has(origin) };
}

const ROUTE_NAME = /^[a-z0-9_-]{1,32}$/;
const MAX_ROUTES = 8;

/**
 * ROUTE_METRICS_URLS as routecompare's -routes takes it: name=URL pairs,
 * comma-separated, names as in metric_records.route. Unset: no comparison.
 */
export function parseRouteMetricsUrls(raw) {
  if (raw === undefined || raw.trim() === '') return [];
  const routes = raw.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const [, name = '', url = ''] = /^([^=]*)=(.*)$/.exec(item) ?? [];
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!ROUTE_NAME.test(name) || !['http:', 'https:'].includes(parsed?.protocol)) {
      throw new ConfigError(`ROUTE_METRICS_URLS: '${item}' is not name=http://host:port/metrics (name: a-z, 0-9, _ or -)`);
    }
    return { name, url: parsed.href };
  });
  if (new Set(routes.map((r) => r.name)).size !== routes.length) throw new ConfigError('ROUTE_METRICS_URLS names a route twice');
  if (routes.length > MAX_ROUTES) throw new ConfigError(`ROUTE_METRICS_URLS lists more than ${MAX_ROUTES} routes`);
  return routes;
}

export function loadConfig(env = process.env) {
  // Left set, the old knob would silently stop meaning anything.
  if (env.SLOW_CLIENT_MAX_PACKETS !== undefined) {
    throw new ConfigError('SLOW_CLIENT_MAX_PACKETS is gone: set SLOW_CLIENT_MAX_BYTES (bytes queued for one client) instead');
  }
  const config = {
    port: integer(env, 'PORT', { min: 0, max: 65535 }),
    db: {
      host: text(env, 'DB_HOST'),
      port: integer(env, 'DB_PORT', { min: 1, max: 65535 }),
      user: text(env, 'DB_USER'),
      password: text(env, 'DB_PASSWORD'),
      database: text(env, 'DB_NAME'),
      timeoutMs: integer(env, 'DB_TIMEOUT_MS', { min: 100, max: 600000 }),
    },
    tickMs: integer(env, 'TICK_MS', { min: 10, max: 600000 }),
    idleTickMs: integer(env, 'TICK_IDLE_MS', { min: 10, max: 600000 }),
    backoffPolls: integer(env, 'TICK_BACKOFF_POLLS', { min: 1, max: 100000 }),
    historyLimit: integer(env, 'HISTORY_LIMIT', { min: 0, max: 100000 }),
    catchupLimit: integer(env, 'CATCHUP_LIMIT', { min: 1, max: 1000000 }),
    catchupConcurrency: integer(env, 'CATCHUP_CONCURRENCY', { min: 1, max: 16 }),
    catchupPageRows: integer(env, 'CATCHUP_PAGE_ROWS', { min: 1, max: 10000 }),
    gapWaitMs: integer(env, 'GAP_WAIT_MS', { min: 0, max: 600000 }),
    slowClientMaxBytes: integer(env, 'SLOW_CLIENT_MAX_BYTES', { min: 1024, max: 1073741824 }),
    slowClientsMaxTotalBytes: integer(env, 'SLOW_CLIENTS_MAX_TOTAL_BYTES', { min: 1024, max: 68719476736 }),
    maxConnections: integer(env, 'MAX_CONNECTIONS', { min: 1, max: 100000 }),
    requestsPerConnection: integer(env, 'REQUESTS_PER_CONNECTION', { min: 1, max: 16 }),
    cors: parseCorsOrigins(env.CORS_ORIGINS),
    routeMetrics: {
      routes: parseRouteMetricsUrls(env.ROUTE_METRICS_URLS),
      intervalMs: integer(env, 'ROUTE_METRICS_INTERVAL_MS', { min: 100, max: 600000 }),
      timeoutMs: integer(env, 'ROUTE_METRICS_TIMEOUT_MS', { min: 50, max: 60000 }),
    },
  };
  // The idle wait is where the back-off stops; below TICK_MS it would be a speed-up.
  if (config.idleTickMs < config.tickMs) {
    throw new ConfigError(`TICK_IDLE_MS (${config.idleTickMs}) must be at least TICK_MS (${config.tickMs})`);
  }
  return config;
}
