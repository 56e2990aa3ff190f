'use strict';
// Every example of contracts/examples over HTTP: valid ones are stored, invalid
// ones get exactly the problems of invalid-expected.json and store nothing.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { escape } = require('mysql2');
const { useService, post, adminSql, CONTRACTS } = require('./support');

const examples = (kind) =>
  fs.readdirSync(path.join(CONTRACTS, 'examples', kind)).filter((name) => name.endsWith('.json')).sort();
const read = (kind, name) => fs.readFileSync(path.join(CONTRACTS, 'examples', kind, name), 'utf8');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(CONTRACTS, 'examples/invalid-expected.json'), 'utf8'));

const service = useService({ withDb: true });
const rowCount = async () => (await service.db.query('SELECT COUNT(*) AS n FROM metric_records'))[0][0].n;
const idsIn = (body) => (Array.isArray(body) ? body : [body]).map((r) => r.id).filter(Boolean);

test('there are examples to run', () => {
  assert.ok(examples('valid').length >= 4);
  assert.deepEqual(examples('invalid'), Object.keys(EXPECTED).sort());
});

for (const name of examples('valid')) {
  test(`valid example ${name} is stored once`, async () => {
    const body = JSON.parse(read('valid', name));
    const records = Array.isArray(body) ? body : [body];
    const distinctIds = new Set(idsIn(body).map((id) => id.toLowerCase()));
    const withoutId = records.filter((r) => !r.id).length;
    // Examples share fixed ids: forget earlier rows with them so this one stores anew
    // (as the server's root: the routes' user may only SELECT and INSERT).
    if (distinctIds.size) adminSql(`DELETE FROM metric_records WHERE record_id IN (${escape([...distinctIds])})`);
    const before = await rowCount();
    const first = await post(service.url, read('valid', name));
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('x-route'), 'node');
    assert.deepEqual(first.json, {
      stored: distinctIds.size + withoutId,
      duplicates: records.length - distinctIds.size - withoutId,
      route: 'node',
    });
    assert.equal(await rowCount(), before + first.json.stored);
    if (withoutId === 0) {
      const again = await post(service.url, read('valid', name));
      assert.equal(again.status, 201);
      assert.deepEqual(again.json, { stored: 0, duplicates: records.length, route: 'node' });
      assert.equal(await rowCount(), before + first.json.stored);
    }
  });
}

for (const name of examples('invalid')) {
  test(`invalid example ${name} gets exactly its problems and stores nothing`, async () => {
    const before = await rowCount();
    const answer = await post(service.url, read('invalid', name));
    assert.equal(answer.status, 422, answer.text);
    assert.equal(answer.headers.get('x-route'), 'node');
    assert.equal(answer.json.error, 'invalid_record');
    assert.equal(typeof answer.json.message, 'string');
    assert.deepEqual(Object.keys(answer.json).sort(), ['error', 'message', 'problems']);
    assert.deepEqual(answer.json.problems, EXPECTED[name]);
    assert.equal(await rowCount(), before);
  });
}
