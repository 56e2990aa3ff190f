'use strict';
// At start the route compares its Sequelize model with the live table and refuses to
// start (exit 1, the column and the difference in the log) when they disagree. Each case
// is a database of its own on the tests' MariaDB, built by route 1's migrations
// (scripts/mariadb.sh migrate) and then altered as root; the route runs as it is deployed, as the service's user.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { compareWithTable, normalType } = require('../src/schema-check');
const { VALID, newId, post, mariadb, adminSql } = require('./support');

const ROOT = path.resolve(__dirname, '..');
const EXIT_DEADLINE_MS = 15000;
const created = [];


/** A database of its own with the migrated table, ALTERed by `alter` (SQL or ''). */
function databaseWith(name, alter) {
  const database = `route2_schema_${name}`;
  created.push(database);
  adminSql(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database};
    GRANT SELECT, INSERT ON ${database}.* TO '${process.env.DB_USER}'@'127.0.0.1';`);
  mariadb('migrate', { database });
  if (alter) adminSql(alter, database);
  return database;
}

/** src/server.js as a child: its log lines, and whichever comes first, listening or exit. */
function startRoute(env) {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/server.js')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => logs.push(JSON.parse(line)));
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const outcome = (deadlineMs) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`neither listening nor exited within ${deadlineMs} ms: ${JSON.stringify(logs)}`)), deadlineMs);
    const poll = setInterval(() => {
      const listening = logs.find((entry) => entry.msg === 'listening');
      if (listening) done({ listening: listening.port });
    }, 20);
    const done = (value) => { clearTimeout(timer); clearInterval(poll); resolve(value); };
    // The last log lines are read before the exit is reported.
    exited.then((code) => setTimeout(() => done({ code }), 50));
  });
  return {
    logs, exited, outcome,
    get stderr() { return stderr; },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function refusedWith(database, ...expected) {
  const route = startRoute({ DB_NAME: database });
  try {
    const result = await route.outcome(EXIT_DEADLINE_MS);
    assert.equal(result.code, 1, `the route did not refuse to start: ${JSON.stringify(route.logs)}`);
    const fatal = route.logs.find((entry) => entry.level === 60);
    assert.ok(fatal, `no fatal log line: ${JSON.stringify(route.logs)} ${route.stderr}`);
    for (const text of expected) assert.ok(fatal.msg.includes(text), `"${text}" not in: ${fatal.msg}`);
    assert.ok(!route.logs.some((entry) => entry.msg === 'listening'));
    return fatal;
  } finally {
    await route.stop();
  }
}

after(() => {
  if (created.length) adminSql(created.map((database) => `DROP DATABASE IF EXISTS ${database};`).join('\n'));
});

test('the correct table: the route starts, says so, and stores', async () => {
  const route = startRoute({ DB_NAME: databaseWith('ok', '') });
  try {
    const result = await route.outcome(EXIT_DEADLINE_MS);
    assert.ok(result.listening, JSON.stringify(route.logs));
    assert.ok(route.logs.some((entry) => entry.msg === 'the table matches the model'));
    assert.ok(!route.logs.some((entry) => entry.level >= 40), JSON.stringify(route.logs));
    const answer = await post(`http://127.0.0.1:${result.listening}`, { ...VALID, id: newId() });
    assert.equal(answer.status, 201, answer.text);
  } finally {
    await route.stop();
  }
});

test('a column of another type: exit 1, naming the column and both types', async () => {
  const fatal = await refusedWith(
    databaseWith('type', "ALTER TABLE metric_records MODIFY total_ram BIGINT UNSIGNED NOT NULL COMMENT 'MiB';"),
    'column total_ram: type BIGINT(20) UNSIGNED in the table, INTEGER UNSIGNED in the model',
  );
  assert.deepEqual(fatal.problems, ['column total_ram: type BIGINT(20) UNSIGNED in the table, INTEGER UNSIGNED in the model']);
});

test('a dropped column: exit 1, the column is missing', async () => {
  await refusedWith(databaseWith('dropped', 'ALTER TABLE metric_records DROP COLUMN procesos_zombie;'),
    'column procesos_zombie: missing from the table');
});

test('a column made nullable: exit 1, the nullability differs', async () => {
  await refusedWith(databaseWith('nullable', "ALTER TABLE metric_records MODIFY hora DATETIME NULL COMMENT 'UTC';"),
    'column hora: NULL in the table, NOT NULL in the model');
});

test('the unique key that decides duplicates dropped: exit 1', async () => {
  await refusedWith(databaseWith('nounique', 'ALTER TABLE metric_records DROP INDEX uq_metric_records_record_id;'),
    'unique key uq_metric_records_record_id on (record_id): missing');
});

test('no table at all: exit 1', async () => {
  await refusedWith(databaseWith('notable', 'DROP TABLE metric_records;'),
    'table metric_records does not exist in the database');
});

test('an extra column the inserts can leave out (a migration ahead of this model): starts, with a warning', async () => {
  const route = startRoute({ DB_NAME: databaseWith('extra', 'ALTER TABLE metric_records ADD COLUMN note VARCHAR(20) NULL;') });
  try {
    assert.ok((await route.outcome(EXIT_DEADLINE_MS)).listening, JSON.stringify(route.logs));
    assert.ok(route.logs.some((entry) => entry.level === 40 && entry.msg === 'column note: in the table (VARCHAR(20)), not in the model'),
      JSON.stringify(route.logs));
  } finally {
    await route.stop();
  }
});

test('an extra NOT NULL column without a default: exit 1, every insert would fail', async () => {
  await refusedWith(databaseWith('extranotnull', 'ALTER TABLE metric_records ADD COLUMN vm VARCHAR(20) NOT NULL;'),
    'column vm: in the table (VARCHAR(20) NOT NULL, no default), not in the model');
});

// A TCP door to the tests' MariaDB that drops every connection until opened.
async function openDoor() {
  const door = { open: false, sockets: new Set() };
  door.server = net.createServer((socket) => {
    door.sockets.add(socket);
    socket.on('error', () => {});
    if (!door.open) return socket.destroy();
    const upstream = net.connect(Number(process.env.DB_PORT), '127.0.0.1');
    door.sockets.add(upstream);
    upstream.on('error', () => {});
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise((resolve) => door.server.listen(0, '127.0.0.1', resolve));
  door.port = door.server.address().port;
  door.close = async () => {
    for (const socket of door.sockets) socket.destroy();
    await new Promise((resolve) => door.server.close(resolve));
  };
  return door;
}

test('the database unreachable at start: the route listens (503), then compares once it answers and exits on a mismatch', async () => {
  const door = await openDoor();
  const database = databaseWith('late', 'ALTER TABLE metric_records DROP COLUMN procesos_parados;');
  const route = startRoute({ DB_NAME: database, DB_PORT: String(door.port) });
  try {
    const result = await route.outcome(EXIT_DEADLINE_MS);
    assert.ok(result.listening, JSON.stringify(route.logs));
    assert.ok(route.logs.some((entry) => entry.level === 40 && /^database unavailable/.test(entry.msg)), JSON.stringify(route.logs));
    const unavailable = await post(`http://127.0.0.1:${result.listening}`, { ...VALID, id: newId() });
    assert.equal(unavailable.status, 503, unavailable.text);
    const ready = await fetch(`http://127.0.0.1:${result.listening}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).database, 'down');
    door.open = true;
    // The background comparison runs every 2 s; it finds the dropped column and stops the route.
    const code = await Promise.race([route.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), EXIT_DEADLINE_MS))]);
    assert.equal(code, 1, JSON.stringify(route.logs));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fatal = route.logs.find((entry) => entry.level === 60);
    assert.ok(fatal && fatal.msg.includes('column procesos_parados: missing from the table'), JSON.stringify(route.logs));
  } finally {
    await route.stop();
    await door.close();
  }
});

test('the comparison reads MySQL 8 type names too, and still tells types apart', () => {
  assert.equal(normalType('int unsigned'), normalType('INTEGER UNSIGNED'));
  assert.equal(normalType('INT(10) UNSIGNED'), normalType('INTEGER UNSIGNED'));
  assert.equal(normalType("ENUM('python','node')"), normalType("ENUM('python', 'node')"));
  assert.notEqual(normalType('BIGINT UNSIGNED'), normalType('INTEGER UNSIGNED'));
  assert.notEqual(normalType('DECIMAL(6,2)'), normalType('DECIMAL(5,2)'));
  assert.notEqual(normalType('DATETIME'), normalType('DATETIME(3)'));
  const column = { name: 'id', type: 'BIGINT UNSIGNED', allowNull: false, primaryKey: true, autoIncrement: true };
  const described = { id: { type: 'bigint unsigned', allowNull: false, primaryKey: true, autoIncrement: true, defaultValue: null } };
  const unique = [{ name: 'uq_metric_records_record_id', unique: true, fields: [{ attribute: 'record_id' }] }];
  assert.deepEqual(compareWithTable([column], described, unique, []), { problems: [], warnings: [] });
});
