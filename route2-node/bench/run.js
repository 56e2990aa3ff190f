'use strict';
// make bench: in one run, (a) the database's ceiling (scripts/bench-db-ceiling.sh),
// (b) the bare server (bench/bare-server.js), (c) this route, all against the
// bench's own MariaDB, loaded by go-agent's loadgen. Prints the figures and the
// ratios route/bare and route/ceiling, and writes them to $RUN_DIR/bench-route2/.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const mysql = require('mysql2/promise');

const ROOT = path.resolve(__dirname, '..');
const PROJECT = path.resolve(ROOT, '..');
const LOADGEN = path.join(PROJECT, 'go-agent/bin/loadgen');
const OUT_DIR = path.join(process.env.RUN_DIR, 'bench-route2');
const USERS = 150;
const SATURATION = process.env.BENCH_DURATION || '20s';
const REPLAY = process.env.BENCH_REPLAY_DURATION || '40s';
const WARMUP = '3s';

function startServer(script, extraEnv, logFile) {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const log = fs.createWriteStream(logFile);
  const lines = readline.createInterface({ input: child.stdout });
  const port = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      if (line.includes('"listening"')) resolve(JSON.parse(line).port);
    });
  });
  return {
    port,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
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

  console.error('bench: database ceiling (mariadb-slap, 150 connections)...');
  const ceiling = JSON.parse(execFileSync(path.join(PROJECT, 'scripts/bench-db-ceiling.sh'), {
    encoding: 'utf8', env: { ...process.env, CONCURRENCY: String(USERS) },
  }).trim().split('\n').pop());

  const results = { ceiling };
  const targets = [
    ['bare', path.join(__dirname, 'bare-server.js'), {}],
    ['route', path.join(ROOT, 'src/server.js'), { LOG_LEVEL: 'info' }],
  ];
  for (const [name, script, env] of targets) {
    const server = startServer(script, env, path.join(OUT_DIR, `${name}.log`));
    const url = `http://127.0.0.1:${await server.port}/api/metrics`;
    try {
      console.error(`bench: ${name}, warm-up ${WARMUP}, then ${USERS} users without think time for ${SATURATION}...`);
      loadgen(url, records, ['-duration', WARMUP]);
      const before = await rows();
      const saturation = loadgen(url, records, ['-duration', SATURATION]);
      saturation.table_rows_added = (await rows()) - before;
      results[name] = { saturation };
      if (name === 'route') {
        console.error(`bench: route, replay load: ${USERS} users, think 1-4 s, for ${REPLAY}...`);
        results.route.replay = loadgen(url, records, [
          '-duration', REPLAY, '-spawn-rate', '50', '-think-min', '1s', '-think-max', '4s',
        ]);
      }
    } finally {
      await server.stop();
    }
  }
  await db.end();

  const route = results.route.saturation;
  const bare = results.bare.saturation;
  const created = (r) => r.status['201'] ?? 0;
  results.ratios = {
    route_vs_bare: route.rps / bare.rps,
    route_vs_db_ceiling: route.rps / ceiling.rows_per_s,
    bare_vs_db_ceiling: bare.rps / ceiling.rows_per_s,
  };
  results.checks = {
    route_rows_equal_201s: route.table_rows_added === created(route),
    bare_rows_equal_201s: bare.table_rows_added === created(bare),
    route_at_least_0_8x_bare: results.ratios.route_vs_bare >= 0.8,
    replay_p99_under_15ms: results.route.replay.p99_ms < 15,
    replay_without_errors: results.route.replay.errors === 0,
  };
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const f = (x, d = 1) => Number(x).toFixed(d);
  const line = (label, r) =>
    `${label.padEnd(34)} ${f(r.rps).padStart(8)} req/s  p50 ${f(r.p50_ms, 2)} ms  p95 ${f(r.p95_ms, 2)} ms  p99 ${f(r.p99_ms, 2)} ms  errors ${r.errors}  status ${JSON.stringify(r.status)}`;
  console.log(`database ceiling (150 connections)  ${f(ceiling.rows_per_s)} rows/s (${ceiling.rows} rows in ${ceiling.seconds} s)`);
  console.log(line('bare Express + mysql2, 150 users', bare), ` rows added ${bare.table_rows_added}`);
  console.log(line('route 2 (node), 150 users', route), ` rows added ${route.table_rows_added}`);
  console.log(line('route 2 replay (150 users, 1-4 s)', results.route.replay));
  console.log(`ratio route/bare ${f(results.ratios.route_vs_bare, 3)}   route/db-ceiling ${f(results.ratios.route_vs_db_ceiling, 3)}   bare/db-ceiling ${f(results.ratios.bare_vs_db_ceiling, 3)}`);
  console.log(`checks ${JSON.stringify(results.checks)}`);
  console.log(JSON.stringify({ component: 'route2-node', ...results.ratios, checks: results.checks }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
