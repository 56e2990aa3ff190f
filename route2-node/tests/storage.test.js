'use strict';
// Storage: all or nothing, duplicates decided by the unique key, concurrency.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useService, post, connectDb, countIds, newId, VALID } = require('./support');
const { INSERTED_COLUMNS } = require('../src/store');

const service = useService({ withDb: true });
const rowsWithIds = (ids) => countIds(ids, service.db);

test('a record is stored with its values: percentages rounded to two decimals, hora in UTC', async () => {
  const id = newId();
  const record = { ...VALID, id, porcentaje_ram: 12.345, porcentaje_cpu_uso: 1.005, porcentaje_cpu_libre: 98.995, hora: '2025-03-01 00:00:01', extra: 'ignored' };
  assert.equal((await post(service.url, record)).status, 201);
  const [[row]] = await service.db.query('SELECT * FROM metric_records WHERE record_id = ?', [id]);
  assert.equal(row.route, 'node');
  assert.equal(row.porcentaje_ram, '12.35');
  assert.equal(row.porcentaje_cpu_uso, '1.01');
  assert.equal(row.porcentaje_cpu_libre, '99.00');
  assert.equal(row.hora, '2025-03-01 00:00:01');
  for (const name of ['total_ram', 'ram_libre', 'uso_ram', 'procesos_corriendo', 'total_procesos', 'procesos_durmiendo', 'procesos_zombie', 'procesos_parados']) {
    assert.equal(Number(row[name]), record[name], name);
  }
});

test('a second POST of the same id, in any letter case, is a duplicate and stores nothing', async () => {
  const id = newId();
  assert.deepEqual((await post(service.url, { ...VALID, id })).json, { stored: 1, duplicates: 0, route: 'node' });
  assert.deepEqual((await post(service.url, { ...VALID, id })).json, { stored: 0, duplicates: 1, route: 'node' });
  assert.deepEqual((await post(service.url, { ...VALID, id: id.toUpperCase() })).json, { stored: 0, duplicates: 1, route: 'node' });
  assert.equal(await rowsWithIds([id]), 1);
});

test('two records with the same id in one array store once; a stored one is a duplicate', async () => {
  const [a, b, stored] = [newId(), newId(), newId()];
  await post(service.url, { ...VALID, id: stored });
  const answer = await post(service.url, [{ ...VALID, id: a }, { ...VALID, id: b }, { ...VALID, id: a.toUpperCase() }, { ...VALID, id: stored }]);
  assert.equal(answer.status, 201);
  assert.deepEqual(answer.json, { stored: 2, duplicates: 2, route: 'node' });
  assert.equal(await rowsWithIds([a, b, stored]), 3);
});

test('a batch with one bad record stores nothing', async () => {
  const ids = [newId(), newId(), newId()];
  const answer = await post(service.url, [{ ...VALID, id: ids[0] }, { ...VALID, id: ids[1], procesos_zombie: -1 }, { ...VALID, id: ids[2] }]);
  assert.equal(answer.status, 422);
  assert.deepEqual(answer.json.problems, [{ field: '/1/procesos_zombie', problem: 'minimum' }]);
  assert.equal(await rowsWithIds(ids), 0);
});

test('a batch of 1000 records is stored in one request', async () => {
  const ids = Array.from({ length: 1000 }, newId);
  const answer = await post(service.url, ids.map((id) => ({ ...VALID, id })));
  assert.deepEqual(answer.json, { stored: 1000, duplicates: 0, route: 'node' });
  assert.equal(await rowsWithIds(ids), 1000);
});

test('concurrent POSTs of the same id store exactly one row', async () => {
  const id = newId();
  const answers = await Promise.all(Array.from({ length: 30 }, () => post(service.url, { ...VALID, id })));
  assert.ok(answers.every((a) => a.status === 201), JSON.stringify(answers.map((a) => a.status)));
  assert.equal(answers.filter((a) => a.json.stored === 1).length, 1);
  assert.equal(answers.filter((a) => a.json.duplicates === 1).length, 29);
  assert.equal(await rowsWithIds([id]), 1);
});

test('concurrent overlapping batches in opposite orders store every id exactly once, all 201', async () => {
  const ids = Array.from({ length: 40 }, newId);
  const forward = ids.map((id) => ({ ...VALID, id }));
  const backward = [...forward].reverse();
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(service.url, i % 2 ? forward : backward)));
  assert.deepEqual(answers.map((a) => a.status), Array(8).fill(201));
  assert.equal(answers.reduce((sum, a) => sum + a.json.stored, 0), ids.length);
  assert.equal(await rowsWithIds(ids), ids.length);
});

// Resolves once a route connection has been executing an INSERT (a batch's is a
// plain query, a single row's a prepared statement) on two polls in a row, i.e. is
// waiting for a lock (a fixed sleep is too short on a loaded machine).
async function routeInsertBlocked() {
  const insertIds = async () => new Set((await service.db.query('SHOW PROCESSLIST'))[0]
    .filter((p) => ['Execute', 'Query'].includes(p.Command) && String(p.Info).startsWith('INSERT')).map((p) => p.Id));
  for (let previous = new Set(), until = Date.now() + 5000; Date.now() < until;) {
    const current = await insertIds();
    if ([...current].some((id) => previous.has(id))) return;
    previous = current;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  throw new Error('the route never waited on a lock');
}

test('a deadlock with another transaction is retried: 201 and every id once', async (t) => {
  const [a, b] = [newId(), newId()].sort();
  const columns = INSERTED_COLUMNS.join(', ');
  const values = (id) => [id, 'python', 1, 1, 1, 1, 1, 99, 1, 1, 0, 0, 0, '2025-01-01 00:00:00'];
  const other = await connectDb();
  try {
    await other.beginTransaction();
    // Heavier than the route's transaction, so InnoDB picks the route's as the victim.
    const extra = Array.from({ length: 5 }, newId);
    await other.query(`INSERT INTO metric_records (${columns}) VALUES ?`, [[b, ...extra].map(values)]);
    // The route inserts a, then waits for b's lock; our insert of a closes the cycle.
    const routeAnswer = post(service.url, [{ ...VALID, id: b }, { ...VALID, id: a }]);
    await routeInsertBlocked();
    let otherWon = true;
    try {
      await other.query(`INSERT INTO metric_records (${columns}) VALUES (?)`, [values(a)]);
    } catch (error) {
      assert.equal(error.errno, 1213, error.message);
      otherWon = false;
    }
    if (otherWon) await other.commit();
    else await other.rollback();
    const answer = await routeAnswer;
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(answer.json, otherWon ? { stored: 0, duplicates: 2, route: 'node' } : { stored: 2, duplicates: 0, route: 'node' });
    assert.equal(await rowsWithIds([a, b]), 2);
    // The route's own transaction was the deadlock's victim exactly when the other one won.
    const retried = service.logs.some((entry) => entry.msg === 'retrying the transaction' && entry.code === 'ER_LOCK_DEADLOCK');
    assert.equal(retried, otherWon);
    t.diagnostic(`deadlock victim: ${otherWon ? 'the route (retried)' : 'the other transaction'}`);
  } finally {
    await other.end();
  }
});
