// ws-server delivery benchmark (run by `make bench`, which starts a private MariaDB).
//
// Baseline: 1 client while rows are inserted at RATE/s. Load: CLIENTS clients in
// separate processes, same rate for SECONDS. Latency = client receive time minus
// the moment just before the INSERT was sent (same machine, same clock). With a
// tick of TICK_MS a row waits TICK_MS/2 on average for the next poll: the floor.
// Server CPU = utime+stime from /proc/<pid>/stat over the insert window.
import { execFileSync, fork, spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import mysql from 'mysql2/promise';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 10);
const TICK_MS = Number(process.env.TICK_MS ?? 500);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString());
const RUN_DIR = process.env.RUN_DIR ?? '.run';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

const db = await mysql.createConnection({
  host: process.env.DB_HOST, port: Number(process.env.DB_PORT), user: process.env.DB_USER,
  password: process.env.DB_PASSWORD, database: process.env.DB_NAME,
});
await db.query('DELETE FROM metric_records');

const INSERT = `INSERT INTO metric_records (route, total_ram, ram_libre, uso_ram, porcentaje_ram,
  porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,
  procesos_zombie, procesos_parados, hora) VALUES (?, 16000, 4000000000, 8000, 50, 25.5, 74.5, 2, 300, 297, 1, 0, UTC_TIMESTAMP())`;
let inserted = 0;
async function insertAtRate(seconds) {
  const sentAt = {};
  const start = now();
  const total = Math.round(seconds * RATE);
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / RATE;
    if (due > now()) await sleep(due - now());
    const t = now();
    const [result] = await db.query(INSERT, [inserted % 2 === 0 ? 'python' : 'node']);
    inserted += 1;
    sentAt[result.insertId] = t;
  }
  return sentAt;
}
for (let i = 0; i < 300; i += 1) await db.query(INSERT, ['python']); // a full history for every client

const server = spawn(process.execPath, ['src/main.js'], {
  env: { ...process.env, PORT: '0', TICK_MS: String(TICK_MS) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const serverUrl = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).on('line', (line) => {
    const entry = JSON.parse(line);
    if (entry.msg === 'ws-server listening') resolve(`http://127.0.0.1:${entry.port}`);
  });
  server.once('exit', () => reject(new Error('ws-server exited')));
});

function cpuSeconds() {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}
function memoryMiB() {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kib = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))[1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function startClients(total, processes) {
  const children = [];
  for (let p = 0; p < processes; p += 1) {
    const share = Math.floor(total / processes) + (p < total % processes ? 1 : 0);
    const child = fork(new URL('./clients.js', import.meta.url), [serverUrl, String(share)]);
    children.push(child);
  }
  const started = now();
  await Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ type: 'connect' });
  })));
  return { children, connectSeconds: (now() - started) / 1000 };
}

async function collect(children, sentAt) {
  const reports = await Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ type: 'report', sentAt });
  })));
  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pick = (q, sorted = latencies) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  // The first connection to get a row shows the server's part; the rest is the
  // client processes working through hundreds of sockets on a shared CPU.
  const firsts = Object.entries(sentAt).map(([id, sent]) => Math.min(...reports.map((r) => r.first[id] ?? Infinity)) - sent)
    .sort((a, b) => a - b);
  return {
    firstP50: pick(0.5, firsts),
    firstP95: pick(0.95, firsts),
    deliveries: latencies.length,
    missing: reports.reduce((n, r) => n + r.missing, 0),
    duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
    p50: pick(0.5),
    p95: pick(0.95),
    max: latencies.at(-1),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
}

async function phase(name, clients, processes, seconds) {
  const { children, connectSeconds } = await startClients(clients, processes);
  await sleep(1000);
  const idleCpu0 = cpuSeconds();
  const idleT0 = now();
  await sleep(3000);
  const idleCpu = ((cpuSeconds() - idleCpu0) / ((now() - idleT0) / 1000)) * 100;
  const cpu0 = cpuSeconds();
  const t0 = now();
  const sentAt = await insertAtRate(seconds);
  await sleep(TICK_MS * 3); // the last rows' tick
  const wall = (now() - t0) / 1000;
  const cpu = ((cpuSeconds() - cpu0) / wall) * 100;
  const memory = memoryMiB();
  const result = { name, clients, rows: Object.keys(sentAt).length, connectSeconds, idleCpuPercent: idleCpu, cpuPercent: cpu, memory, ...(await collect(children, sentAt)) };
  return result;
}

let results;
try {
  const baseline = await phase('baseline', 1, 1, BASELINE_SECONDS);
  const load = await phase('load', CLIENTS, PROCESSES, SECONDS);
  results = { tickMs: TICK_MS, rate: RATE, floorMs: TICK_MS / 2, baseline, load };
} finally {
  server.kill('SIGTERM');
  await db.end();
}

const fmt = (ms) => `${ms.toFixed(0).padStart(5)} ms`;
console.log(`\nws-server delivery benchmark: ${RATE} rows/s, TICK_MS=${TICK_MS} (mean wait for the next tick = ${TICK_MS / 2} ms floor)`);
console.log(`machine load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores shared with whatever else runs)`);
console.log('phase      clients  rows  deliveries  missing  dup      p50       p95       max   p95/floor  first-client p50/p95   server CPU idle / inserting   RSS (peak)');
for (const r of [results.baseline, results.load]) {
  console.log(`${r.name.padEnd(10)} ${String(r.clients).padStart(7)} ${String(r.rows).padStart(5)} ${String(r.deliveries).padStart(11)} ${String(r.missing).padStart(8)} ${String(r.duplicates).padStart(4)} ${fmt(r.p50)} ${fmt(r.p95)} ${fmt(r.max)} ${(r.p95 / results.floorMs).toFixed(2).padStart(10)}  ${fmt(r.firstP50)} / ${fmt(r.firstP95)}  ${r.idleCpuPercent.toFixed(1).padStart(5)}% / ${r.cpuPercent.toFixed(1).padStart(5)}% of one core  ${r.memory.rss.toFixed(0)} MiB (${r.memory.peak.toFixed(0)})`);
}
console.log(`load vs baseline: p50 x${(results.load.p50 / results.baseline.p50).toFixed(2)}, p95 x${(results.load.p95 / results.baseline.p95).toFixed(2)}; ${CLIENTS} clients connected in ${results.load.connectSeconds.toFixed(1)} s`);
const exact = [results.baseline, results.load].every((r) => r.missing === 0 && r.duplicates === 0);
console.log(`every row delivered exactly once to every client: ${exact ? 'yes' : 'NO'}`);
console.log(`goal p95 < 1000 ms: ${results.load.p95 < 1000 ? 'MET' : 'NOT MET (see the load average above)'}`);
mkdirSync(`${RUN_DIR}/bench-ws`, { recursive: true });
writeFileSync(`${RUN_DIR}/bench-ws/result.json`, `${JSON.stringify(results, null, 2)}\n`);
console.log(`details: ${RUN_DIR}/bench-ws/result.json`);
// A slow run on a busy machine is a figure to read; a lost or repeated row is a failure.
process.exitCode = exact ? 0 : 1;
