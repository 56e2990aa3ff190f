// The `records` request: one page of the chart window's rows, sorted by the
// database on any column, checked against the database's own ORDER BY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, emptyTable, rootSql, startServer, validators, waitFor } from './helpers.js';
import { MAX_PAGE_ROWS, SORT_COLUMNS, recordsSql } from '../src/records.js';

const BASE = Date.parse('2026-03-01T10:00:00Z');
const hora = (millis) => new Date(millis).toISOString().slice(0, 19).replace('T', ' ');
const COLUMNS = ['record_id', 'route', 'total_ram', 'ram_libre', 'uso_ram', 'porcentaje_ram', 'porcentaje_cpu_uso',
  'porcentaje_cpu_libre', 'procesos_corriendo', 'total_procesos', 'procesos_durmiendo', 'procesos_zombie',
  'procesos_parados', 'hora'];

/** Three minutes of readings, one a second, with many ties in every column (hora included: two rows a second at the end). */
async function store(db) {
  const values = Array.from({ length: 200 }, (_, i) => {
    const cpu = 10 + (i % 9) * 7.25;
    const [running, sleeping, zombie, stopped] = [1 + (i % 4), 290 + (i % 6), i % 3 === 0 ? 1 : 0, i % 5 === 0 ? 1 : 0];
    return [i % 4 === 0 ? null : `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, i % 3 ? 'node' : 'python', 16000,
      4_000_000_000 + (i % 11) * 1000, 8000 + (i % 5), 40 + (i % 13) * 1.5, cpu, 100 - cpu, running,
      running + sleeping + zombie + stopped, sleeping, zombie, stopped, hora(BASE + Math.min(i, 180 + Math.floor((i - 180) / 2)) * 1000)];
  });
  await db.query(`INSERT INTO metric_records (${COLUMNS.join(', ')}) VALUES ?`, [values]);
}

const ask = (viewer, request) => viewer.socket.timeout(5000).emitWithAck('records', request);

async function serve(t) {
  const db = await emptyTable(t);
  await store(db);
  const ws = await startServer(t, { TICK_MS: '100' });
  const viewer = client(ws.url);
  t.after(() => viewer.close());
  await waitFor('history', () => viewer.histories.length === 1);
  return { db, ws, viewer };
}

test('records: every column, both orders, paged: the database\'s order, each row once', async (t) => {
  const { db, viewer } = await serve(t);
  const [[{ newest, maxId }]] = await db.query('SELECT MAX(hora) AS newest, MAX(id) AS maxId FROM metric_records');
  // The 1-minute window: the 60 one-second buckets ending with the newest record's.
  const start = hora(Date.parse(`${newest.replace(' ', 'T')}Z`) - 59_000);
  for (const sort of SORT_COLUMNS) {
    for (const order of ['asc', 'desc']) {
      const [expected] = await db.query(
        `SELECT id FROM metric_records WHERE hora BETWEEN ? AND ? ORDER BY ${sort} ${order}, id ${order}`, [start, newest]);
      const ids = [];
      let total;
      for (let offset = 0; offset < expected.length + 7; offset += 7) {
        const reply = await ask(viewer, { minutes: 1, sort, order, offset, limit: 7 });
        assert.ok(validators.recordsData(reply), `${sort} ${order}: ${JSON.stringify(validators.recordsData.errors)}`);
        assert.deepEqual([reply.start, reply.end, reply.through_id], [start, newest, Number(maxId)]);
        total = reply.total;
        ids.push(...reply.rows.map((r) => r.id));
      }
      assert.equal(total, expected.length, `${sort} ${order}: total`);
      assert.deepEqual(ids, expected.map((r) => Number(r.id)), `${sort} ${order}: the database's order`);
    }
  }
  const page = await ask(viewer, { minutes: 60, sort: 'porcentaje_cpu_uso', order: 'desc', offset: 0, limit: MAX_PAGE_ROWS });
  assert.equal(page.total, 200);
  assert.equal(page.rows.length, MAX_PAGE_ROWS);
  assert.ok(validators.recordsData(page));
  assert.deepEqual(viewer.invalid, []);
});

test('records: rows above through_id are not counted; an empty table has no page', async (t) => {
  const { db, viewer } = await serve(t);
  const first = await ask(viewer, { minutes: 60, sort: 'id', order: 'desc', offset: 0, limit: 5 });
  const copied = COLUMNS.filter((c) => c !== 'record_id').join(', ');
  await db.query(`INSERT INTO metric_records (${copied}) SELECT ${copied} FROM metric_records WHERE id = ?`, [first.rows[0].id]);
  await waitFor('the new row as metrics', () => viewer.lastId > first.through_id);
  const second = await ask(viewer, { minutes: 60, sort: 'id', order: 'desc', offset: 0, limit: 5 });
  assert.deepEqual([second.total, second.rows[0].id, second.through_id], [201, viewer.lastId, viewer.lastId]);

  await rootSql('DELETE FROM metric_records');
  await waitFor('the stream to start over', async () => (await ask(viewer, { minutes: 5, sort: 'hora', order: 'asc', offset: 0, limit: 1 })).total === 0);
  const { through_id: _, ...empty } = await ask(viewer, { minutes: 5, sort: 'hora', order: 'asc', offset: 0, limit: 1 });
  assert.deepEqual(empty, { minutes: 5, sort: 'hora', order: 'asc', offset: 0, limit: 1, start: null, end: null, total: 0, rows: [] });
});

test('records: what is not a request is refused, naming the field; the SQL never takes the client\'s text', async (t) => {
  const { ws, viewer } = await serve(t);
  const good = { minutes: 5, sort: 'hora', order: 'desc', offset: 0, limit: 20 };
  const cases = [
    [{ ...good, sort: 'hora; DROP TABLE metric_records' }, /^records: sort must be one of id, record_id, route, .*, got "hora; DROP TABLE metric_records"$/],
    [{ ...good, sort: 'HORA' }, /^records: sort must be one of/],
    [{ ...good, order: 'DESC' }, /^records: order must be asc or desc, got "DESC"$/],
    [{ ...good, limit: 0 }, /^records: limit must be a whole number from 1 to 100, got 0$/],
    [{ ...good, limit: 101 }, /^records: limit must be a whole number from 1 to 100, got 101$/],
    [{ ...good, offset: -1 }, /^records: offset must be a whole number from 0 to 1000000, got -1$/],
    [{ ...good, offset: 1.5 }, /^records: offset must be/],
    [{ ...good, minutes: 2 }, /^records: minutes must be one of 1, 5, 15, 60, got 2$/],
    [{ ...good, where: '1=1' }, /^records: unknown field 'where'/],
    [{ minutes: 5 }, /^records: sort must be one of/],
    ['hora', /^records: expected an object like/],
  ];
  for (const [request, error] of cases) {
    assert.ok(!validators.recordsRequest(request), `${JSON.stringify(request)} is not a valid request by the contract either`);
    const reply = await ask(viewer, request);
    assert.match(reply.error ?? '', error, JSON.stringify(request));
    assert.ok(validators.recordsReply(reply));
  }
  assert.throws(() => recordsSql('hora', 'sideways'));
  // REQUESTS_PER_CONNECTION (2): a third request while two run is refused.
  const [first, second, third] = await Promise.all([ask(viewer, good), ask(viewer, good), ask(viewer, good)]);
  assert.equal(first.total, 200);
  assert.equal(second.total, 200);
  assert.deepEqual(third, { error: 'records: 2 request(s) of this connection still running (REQUESTS_PER_CONNECTION); wait for an answer' });
  assert.equal((await ask(viewer, { ...good, offset: 500 })).rows.length, 0, 'past the end: an empty page, the total still told');

  // A failing query: the reason is logged; the client hears no database text.
  const { query } = ws.server.requestDb;
  ws.server.requestDb.query = async () => {
    throw Object.assign(new Error("Table 'monitor.metric_records' doesn't exist"), { code: 'ER_NO_SUCH_TABLE' });
  };
  const failed = await ask(viewer, good);
  ws.server.requestDb.query = query;
  assert.deepEqual(failed, { error: 'records: the database could not be read; try again shortly' });
  assert.ok(ws.logs.some((l) => l.msg === 'records query failed' && l.code === 'ER_NO_SUCH_TABLE'));
});

test('records: the page reads a range of idx_metric_records_hora, not the table', async (t) => {
  const { db } = await serve(t);
  await db.query('ANALYZE TABLE metric_records');
  const [plan] = await db.query(`EXPLAIN ${recordsSql('porcentaje_ram', 'desc')}`, [hora(BASE + 120_000), hora(BASE + 180_000), 1e9, 20, 0]);
  assert.equal(plan.length, 1);
  assert.equal(plan[0].key, 'idx_metric_records_hora', JSON.stringify(plan[0]));
  assert.equal(plan[0].type, 'range');
});
