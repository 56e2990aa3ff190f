'use strict';
// The contract's HTTP rules other than the examples: 415 -> 413 -> 400 -> 422
// order, error shape, X-Route everywhere, health, readiness and metrics.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useService, post, newId, VALID, AUTHORIZATION, countIds } = require('./support');

const MIB = 1024 * 1024;
const service = useService();

function assertError(answer, status, code) {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get('x-route'), 'node');
  assert.equal(answer.json.error, code);
  assert.equal(typeof answer.json.message, 'string');
}

// A JSON body of exactly `size` bytes: one valid record padded with an extra field.
function paddedRecord(size) {
  const base = JSON.stringify({ ...VALID, id: newId(), pad: '' });
  return base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`);
}

test('a body that is not application/json is 415, checked before the size', async () => {
  assertError(await post(service.url, '{}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  assertError(await post(service.url, '{}', {}), 415, 'unsupported_media_type');
  assertError(await post(service.url, '{}', { 'content-type': 'application/jsonx' }), 415, 'unsupported_media_type');
  assertError(await post(service.url, 'x'.repeat(MIB + 1), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
});

test('media type parameters and letter case are ignored', async () => {
  const body = JSON.stringify({ ...VALID, id: newId() });
  assert.equal((await post(service.url, body, { 'content-type': 'Application/JSON; charset=utf-8' })).status, 201);
});

test('a body over 1 MiB is 413, checked before parsing; exactly 1 MiB is accepted', async () => {
  assertError(await post(service.url, `${'x'.repeat(MIB + 1)}`), 413, 'payload_too_large');
  assertError(await post(service.url, paddedRecord(MIB + 1)), 413, 'payload_too_large');
  const exact = paddedRecord(MIB);
  assert.equal(Buffer.byteLength(exact), MIB);
  assert.equal((await post(service.url, exact)).status, 201);
});

test('a chunked body over 1 MiB is 413', async () => {
  const chunks = async function* chunked() {
    for (let i = 0; i < 5; i += 1) yield Buffer.alloc(256 * 1024 + 1, 0x20);
  };
  const response = await fetch(`${service.url}/api/metrics`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTHORIZATION }, body: chunks(), duplex: 'half',
  });
  assert.equal(response.status, 413);
  assert.equal((await response.json()).error, 'payload_too_large');
});

test('malformed JSON, an empty body and a byte order mark are 400', async () => {
  for (const body of ['{"total_ram": ', '', 'nul', '{"a":1}x', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), Buffer.from([0x22, 0xff, 0x22])]) {
    assertError(await post(service.url, body), 400, 'malformed_json');
  }
});

test('over 1000 records is maxItems only; problems are sorted in byte order and capped at 100', async () => {
  const tooMany = Array.from({ length: 1001 }, () => ({}));
  const answer = await post(service.url, tooMany);
  assertError(answer, 422, 'invalid_record');
  assert.deepEqual(answer.json.problems, [{ field: '', problem: 'maxItems' }]);

  const manyBad = Array.from({ length: 40 }, () => ({ ...VALID, total_ram: -1, hora: 'x', id: 7 }));
  const capped = await post(service.url, manyBad);
  assertError(capped, 422, 'invalid_record');
  assert.equal(capped.json.problems.length, 100);
  const keys = capped.json.problems.map((p) => `${p.field}\u0000${p.problem}`);
  assert.deepEqual(keys, [...keys].sort());
  // Byte order: "/10/..." sorts before "/2/...".
  assert.deepEqual(capped.json.problems.slice(0, 3), [
    { field: '/0/hora', problem: 'pattern' }, { field: '/0/id', problem: 'type' }, { field: '/0/total_ram', problem: 'minimum' },
  ]);
  assert.equal(capped.json.problems[3].field, '/1/hora');
  assert.equal(capped.json.problems[6].field, '/10/hora');
});

test('1.0 is an integer, a fraction or a boolean is not, and one field gets one problem', async () => {
  assert.equal((await post(service.url, `${JSON.stringify({ ...VALID, id: newId() }).slice(0, -1)},"total_ram":2072.0}`)).status, 201);
  const answer = await post(service.url, { ...VALID, total_ram: -1.5, procesos_zombie: true, porcentaje_ram: false, hora: 2 });
  assert.deepEqual(answer.json.problems, [
    { field: '/hora', problem: 'type' },
    { field: '/porcentaje_ram', problem: 'type' },
    { field: '/procesos_zombie', problem: 'type' },
    { field: '/total_ram', problem: 'type' },
  ]);
});

test('a pattern is anchored as in ECMA-262: a trailing newline is refused', async () => {
  const answer = await post(service.url, { ...VALID, hora: `${VALID.hora}\n`, id: `${newId()}\n` });
  assert.deepEqual(answer.json.problems, [{ field: '/hora', problem: 'pattern' }, { field: '/id', problem: 'pattern' }]);
});

test('a time that is not in the calendar is a pattern problem, not a database error', async () => {
  const answer = await post(service.url, [{ ...VALID, id: newId() }, { ...VALID, hora: '2025-02-29 10:00:00' }]);
  assertError(answer, 422, 'invalid_record');
  assert.deepEqual(answer.json.problems, [{ field: '/1/hora', problem: 'pattern' }]);
  assert.equal((await post(service.url, { ...VALID, hora: '2024-02-29 10:00:00', id: newId() })).status, 201);
});

test('unknown paths are 404 and other methods 405, in the contract error shape, with X-Route', async () => {
  const missing = await fetch(`${service.url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-route'), 'node');
  assert.equal((await missing.json()).error, 'not_found');
  for (const near of ['/API/metrics', '/api/metrics/']) {
    assert.equal((await fetch(`${service.url}${near}`, { method: 'POST' })).status, 404, near);
  }
  const wrongMethod = await fetch(`${service.url}/api/metrics`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'POST');
  assert.equal(wrongMethod.headers.get('x-route'), 'node');
  assert.equal((await wrongMethod.json()).error, 'not_found');
});

test('healthz and readyz answer with X-Route', async () => {
  for (const [endpoint, body] of [['/healthz', { status: 'ok' }], ['/readyz', { status: 'ok', database: 'up' }]]) {
    const response = await fetch(`${service.url}${endpoint}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-route'), 'node');
    assert.deepEqual(await response.json(), body);
  }
});

test('metrics: the contract names, labels and buckets, counting records by outcome', async () => {
  const scrape = async () => {
    const response = await fetch(`${service.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-route'), 'node');
    assert.match(response.headers.get('content-type'), /^text\/plain/);
    return response.text();
  };
  const counter = (text, outcome) =>
    Number(text.match(new RegExp(`^ingest_records_total\\{route="node",outcome="${outcome}"\\} (\\d+)$`, 'm'))[1]);
  const before = await scrape();
  const id = newId();
  await post(service.url, [{ ...VALID, id }, { ...VALID, id }, { ...VALID, id: newId() }]);
  await post(service.url, [{}, {}, {}]);
  await post(service.url, '{', { 'content-type': 'application/json' });
  const text = await scrape();
  assert.equal(counter(text, 'stored') - counter(before, 'stored'), 2);
  assert.equal(counter(text, 'duplicate') - counter(before, 'duplicate'), 1);
  assert.equal(counter(text, 'rejected') - counter(before, 'rejected'), 4);
  assert.match(text, /^# TYPE ingest_http_request_duration_seconds histogram$/m);
  const buckets = [...text.matchAll(/^ingest_http_request_duration_seconds_bucket\{le="([^"]+)",route="node",method="POST",path="\/api\/metrics",status="201"\}/gm)]
    .map((m) => m[1]);
  assert.deepEqual(buckets, ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf']);
  assert.match(text, /^ingest_http_request_duration_seconds_count\{route="node",method="POST",path="\/api\/metrics",status="422"\} \d+$/m);
  assert.match(text, /^ingest_http_request_duration_seconds_count\{route="node",method="GET",path="unmatched",status="404"\} \d+$/m);
});

test('logs are JSON lines without record contents', () => {
  assert.ok(service.logs.length > 10);
  const text = JSON.stringify(service.logs);
  assert.ok(!text.includes(VALID.hora), 'a record field value reached the info log');
  assert.ok(service.logs.every((entry) => typeof entry.level === 'number' && entry.msg));
});

test('a write without the token is 401 before the body is read, counted, and stores nothing', async () => {
  const token = process.env.INGEST_TOKEN;
  // (No trailing spaces: HTTP strips them from a header's value before any route sees it.)
  for (const authorization of [undefined, '', 'Bearer', 'Basic dXNlcjpwYXNz', 'Bearer wrong',
    `Bearer  ${token}`, `Bearer ${token}x`, token]) {
    const record = { ...VALID, id: newId() };
    const headers = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const metricsBefore = await (await fetch(`${service.url}/metrics`)).text();
    const before = Number(/^ingest_unauthorized_requests_total\{route="node"\} (\d+)$/m.exec(metricsBefore)[1]);
    const refused = await fetch(`${service.url}/api/metrics`, { method: 'POST', headers, body: JSON.stringify(record) });
    assert.equal(refused.status, 401, String(authorization));
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await refused.json()).error, 'unauthorized');
    const metricsAfter = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(metricsAfter, new RegExp(`^ingest_unauthorized_requests_total\\{route="node"\\} ${before + 1}$`, 'm'));
    assert.equal(await countIds([record.id]), 0);
  }
  // The scheme's letter case is free; health, readiness and metrics need no token.
  assert.equal((await post(service.url, { ...VALID, id: newId() }, { 'content-type': 'application/json', authorization: `bEARER ${token}` })).status, 201);
  for (const open of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(`${service.url}${open}`)).status, 200, open);
});

test('the route refuses to start without INGEST_TOKEN, naming it', () => {
  const env = { ...process.env };
  delete env.INGEST_TOKEN;
  const started = spawnSync(process.execPath, [path.join(__dirname, '../src/server.js')], { env, encoding: 'utf8', timeout: 30000 });
  assert.notEqual(started.status, 0);
  assert.match(started.stdout + started.stderr, /INGEST_TOKEN/);
});
