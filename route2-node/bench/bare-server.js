'use strict';
// The benchmark's baseline: the same HTTP server (Express, JSON body) and the raw
// driver (a mysql2 pool of the same size), doing the same single-row INSERT, with
// no validation, no ORM, no metrics and no logs. Not a service: bench/run.js only.
const express = require('express');
const mysql = require('mysql2');

const env = process.env;
const pool = mysql.createPool({
  host: env.DB_HOST,
  port: Number(env.DB_PORT),
  user: env.DB_USER,
  password: env.DB_PASSWORD,
  database: env.DB_NAME,
  connectionLimit: Number(env.DB_POOL_SIZE || 20),
  timezone: 'Z',
});
const INSERT = `INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram, porcentaje_ram,
  porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,
  procesos_zombie, procesos_parados, hora) VALUES (?, 'node', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.post('/api/metrics', express.json({ limit: '1mb' }), (req, res) => {
  const r = req.body;
  const values = [r.id ?? null, r.total_ram, r.ram_libre, r.uso_ram, r.porcentaje_ram, r.porcentaje_cpu_uso,
    r.porcentaje_cpu_libre, r.procesos_corriendo, r.total_procesos, r.procesos_durmiendo, r.procesos_zombie,
    r.procesos_parados, r.hora];
  pool.execute(INSERT, values, (error) => {
    if (!error) return res.status(201).json({ stored: 1, duplicates: 0, route: 'bare' });
    if (error.errno === 1062) return res.status(201).json({ stored: 0, duplicates: 1, route: 'bare' });
    return res.status(503).json({ error: 'database_unavailable', message: error.message });
  });
});
app.get('/healthz', (req, res) => res.json({ status: 'ok' }));
const server = app.listen(Number(env.PORT || 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => pool.end(() => process.exit(0))));
