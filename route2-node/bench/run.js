'use strict';
// make bench: in one run, against the bench's own MariaDB and loaded by go-agent's
// loadgen: the bare server (bench/bare-server.js) and this route at the replay
// load, the database's ceiling (scripts/bench-db-ceiling.sh), then bare and route
// in alternating rounds at 150 users without think time. Prints the figures and
// the ratios route/bare and route/ceiling, and writes them to $RUN_DIR/bench-route2/.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const mysql = require('mysql2/promise');

const ROOT = path.resolve(__dirname, '..');
const PROJECT = path.resolve(ROOT, '..');
const LOADGEN = path.join(PROJECT, 'go-agent/bin/loadgen');
const OUT_DIR = path.join(process.env.RUN_DIR, 'bench-route2');
const USERS = 150;
const SATURATION = process.env.BENCH_DURATION || '10s';
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const REPLAY = process.env.BENCH_REPLAY_DURATION || '40s';
const WARMUP = '2s';

// The server's stdout goes straight to a file, so that reading its log costs
// this process nothing during the run; the port comes from its 'listening' line.
async function startServer(script, extraEnv, logFile) {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: '0', ...extraEnv },
    stdio: ['ignore', out, 'inherit'],
  });
  fs.closeSync(out);
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (let waited = 0; ; waited += 100) {
    const line = fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"listening"'));
    if (line) {
      return {
        port: JSON.parse(line).port,
        pid: child.pid,
        async stop() {
          const done = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await done;
        },
      };
    }
    if (exited || waited > 15000) throw new Error(`${script} did not start (log: ${logFile})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// CPU seconds (user + system) the process has used so far, from /proc.
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function loadgen(url, records, options) {
  const args = ['-url', url, '-method', 'POST', '-records', records, '-users', String(USERS), '-json', ...options];
  return JSON.parse(execFileSync(LOADGEN, args, { encoding: 'utf8', maxBuffer: 1 << 20 }));
}

async function main() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const records = path.join(OUT_DIR, 'records.json');
  const examples = path.join(PROJECT, 'contracts/examples/valid');
  const singles = fs.readdirSync(examples)
    .map((name) => JSON.parse(fs.readFileSync(path.join(examples, name), 'utf8')))
    .filter((body) => !Array.isArray(body));
  fs.writeFileSync(records, JSON.stringify(singles));

  const db = await mysql.createConnection({
    host: process.env.DB_HOST, port: Number(process.env.DB_PORT), user: process.env.DB_USER,
    password: process.env.DB_PASSWORD, database: process.env.DB_NAME,
  });
  const rows = async () => Number((await db.query('SELECT COUNT(*) AS n FROM metric_records'))[0][0].n);

  // The machine is shared: bare and route run in alternation, ROUNDS times, and
  // each round's route/bare ratio is taken while both saw the same background.
  // Both servers stay up for the whole run.
  const bare = await startServer(path.join(__dirname, 'bare-server.js'), {}, path.join(OUT_DIR, 'bare.log'));
  const routeLog = path.join(OUT_DIR, 'route.log');
  const route = await startServer(path.join(ROOT, 'src/server.js'), { LOG_LEVEL: 'info' }, routeLog);
  const servers = { bare, route };
  const urls = { bare: `http://127.0.0.1:${bare.port}/api/metrics`, route: `http://127.0.0.1:${route.port}/api/metrics` };
  const runs = { bare: [], route: [] };
  const replays = {};
  let ceiling;
  try {
    // The replay load first, on a quiet database, for the bare server (its baseline)
    // and the route: right after the saturation runs InnoDB is still flushing their
    // rows, which is not the replay's situation.
    for (const name of ['bare', 'route']) {
      console.error(`bench: ${name}, replay load: ${USERS} users, think 1-4 s, for ${REPLAY} (after a light warm-up)...`);
      execFileSync(LOADGEN, ['-url', urls[name], '-method', 'POST', '-records', records, '-users', '10', '-duration', WARMUP]);
      const logLinesBefore = fs.readFileSync(routeLog, 'utf8').split('\n').length - 1;
      replays[name] = loadgen(urls[name], records, ['-duration', REPLAY, '-spawn-rate', '50', '-think-min', '1s', '-think-max', '4s']);
      if (name === 'route') {
        // The route's own view of the same requests (its access log's `ms`): what the
        // client saw beyond it is queueing on the shared machine and the load generator.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const served = fs.readFileSync(routeLog, 'utf8').split('\n').slice(logLinesBefore).filter(Boolean)
          .map((line) => JSON.parse(line)).filter((e) => e.msg === 'request' && e.path === '/api/metrics').map((e) => e.ms)
          .sort((x, y) => x - y);
        const pct = (q) => served[Math.min(served.length - 1, Math.ceil(q * served.length) - 1)];
        replays.route.route_side = { requests: served.length, p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: served[served.length - 1] };
      }
    }
    console.error('bench: database ceiling (mariadb-slap, 150 connections)...');
    ceiling = JSON.parse(execFileSync(path.join(PROJECT, 'scripts/bench-db-ceiling.sh'), {
      encoding: 'utf8', env: { ...process.env, CONCURRENCY: String(USERS) },
    }).trim().split('\n').pop());
    for (let round = 1; round <= ROUNDS; round += 1) {
      // Alternate which goes first (bare-route, route-bare, ...), and warm each one
      // up right before its measured run, so that neither gains from its position.
      for (const name of round % 2 ? ['bare', 'route'] : ['route', 'bare']) {
        console.error(`bench: round ${round}/${ROUNDS}, ${name}: warm-up ${WARMUP}, then ${USERS} users without think time for ${SATURATION}...`);
        loadgen(urls[name], records, ['-duration', WARMUP]);
        const before = await rows();
        const cpuBefore = cpuSeconds(servers[name].pid);
        const run = loadgen(urls[name], records, ['-duration', SATURATION]);
        // Server CPU per request: the cost of each layer, which a busy machine
        // does not distort the way it distorts requests per second.
        run.server_cpu_us_per_request = ((cpuSeconds(servers[name].pid) - cpuBefore) * 1e6) / run.requests;
        run.table_rows_added = (await rows()) - before;
        runs[name].push(run);
      }
    }
  } finally {
    await bare.stop();
    await route.stop();
  }
  await db.end();

  const created = (r) => r.status['201'] ?? 0;
  const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  const ratios = runs.route.map((r, i) => r.rps / runs.bare[i].rps);
  const best = (name) => runs[name].reduce((a, b) => (b.rps > a.rps ? b : a));
  const replay = replays.route;
  const results = { ceiling, bare: runs.bare, route: runs.route, replay, bare_replay: replays.bare };
  const cpuRatios = runs.route.map((r, i) => runs.bare[i].server_cpu_us_per_request / r.server_cpu_us_per_request);
  results.ratios = {
    route_vs_bare_per_round: ratios,
    bare_cpu_over_route_cpu: median(cpuRatios),
    route_vs_bare: median(ratios),
    route_vs_db_ceiling: best('route').rps / ceiling.rows_per_s,
    bare_vs_db_ceiling: best('bare').rps / ceiling.rows_per_s,
  };
  results.checks = {
    table_rows_equal_201s: [...runs.bare, ...runs.route].every((r) => r.table_rows_added === created(r)),
    route_at_least_0_8x_bare: results.ratios.route_vs_bare >= 0.8,
    replay_p99_under_15ms: replay.p99_ms < 15,
    replay_without_errors: replay.errors === 0 && created(replay) === replay.requests,
  };
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const f = (x, d = 1) => Number(x).toFixed(d);
  const line = (label, r) =>
    `${label.padEnd(30)} ${f(r.rps).padStart(7)} req/s  p50 ${f(r.p50_ms, 2)} ms  p95 ${f(r.p95_ms, 2)} ms  p99 ${f(r.p99_ms, 2)} ms  errors ${r.errors}  status ${JSON.stringify(r.status)}` +
    (r.table_rows_added === undefined ? '' : `  rows added ${r.table_rows_added}  server CPU ${f(r.server_cpu_us_per_request, 0)} µs/req`);
  console.log(`database ceiling (${ceiling.concurrency} connections): ${f(ceiling.rows_per_s)} rows/s (${ceiling.rows} rows in ${ceiling.seconds} s)`);
  runs.bare.forEach((r, i) => {
    console.log(line(`round ${i + 1} bare Express+mysql2`, r));
    console.log(line(`round ${i + 1} route 2 (node)`, runs.route[i]));
  });
  console.log(line('bare replay (1-4 s think)', replays.bare));
  console.log(line('route 2 replay (1-4 s think)', replay));
  console.log(`${' '.repeat(31)}inside the route (its log): p50 ${replay.route_side.p50_ms} ms  p99 ${replay.route_side.p99_ms} ms  max ${replay.route_side.max_ms} ms over ${replay.route_side.requests} requests`);
  console.log(`route/bare per round ${ratios.map((x) => f(x, 3)).join(' ')}, median ${f(results.ratios.route_vs_bare, 3)}; ` +
    `best route/db-ceiling ${f(results.ratios.route_vs_db_ceiling, 3)}, best bare/db-ceiling ${f(results.ratios.bare_vs_db_ceiling, 3)}; ` +
    `server CPU per request bare/route ${f(results.ratios.bare_cpu_over_route_cpu, 3)} (median)`);
  console.log(`checks ${JSON.stringify(results.checks)}`);
  console.log(JSON.stringify({ component: 'route2-node', route_vs_bare: results.ratios.route_vs_bare, route_vs_db_ceiling: results.ratios.route_vs_db_ceiling, checks: results.checks }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
