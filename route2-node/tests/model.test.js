'use strict';
// The Sequelize model matches the table as route 1's migrations build it (scripts/mariadb.sh
// up, in the tests' database): drift in either one fails here.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const pino = require('pino');
const { createSequelize, defineMetricRecord } = require('../src/db');
const { INSERTED_COLUMNS } = require('../src/store');
// 'INTEGER UNSIGNED' and 'int(10) unsigned' are one type: the start-time comparison's own normalisation.
const { normalType } = require('../src/schema-check');
const { connectDb } = require('./support');

let db;
let columns;
let sequelize;
let model;

before(async () => {
  db = await connectDb();
  [columns] = await db.query(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, EXTRA AS extra
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'metric_records'
      ORDER BY ORDINAL_POSITION`,
  );
  sequelize = createSequelize(
    { database: 'unused', user: 'unused', password: 'unused', host: '127.0.0.1', port: 1, poolSize: 1 },
    pino({ level: 'silent' }),
  );
  model = defineMetricRecord(sequelize);
});
after(async () => {
  await db?.end();
  await sequelize?.close();
});

test('the table exists with columns', () => {
  assert.ok(columns.length >= 10, 'metric_records was not created by scripts/mariadb.sh up (the migrations)');
});

test('the model has exactly the columns of the table, with the same types and nullability', () => {
  const attributes = model.getAttributes();
  const fromModel = Object.values(attributes).map((a) => ({
    name: a.field,
    type: normalType(a.type.toSql({ escape: (value) => sequelize.escape(value) })),
    nullable: a.allowNull === false ? 'NO' : 'YES',
  }));
  const fromTable = columns.map((c) => ({ name: c.name, type: normalType(c.type), nullable: c.nullable }));
  assert.deepEqual(fromModel, fromTable);
  assert.equal(model.getTableName(), 'metric_records');
  assert.equal(attributes.id.autoIncrement && attributes.id.primaryKey, true);
  assert.equal(columns.find((c) => c.name === 'id').extra, 'auto_increment');
});

test('every column the route does not insert is filled by the table', () => {
  for (const column of columns.filter((c) => !INSERTED_COLUMNS.includes(c.name))) {
    assert.ok(column.dflt !== null || column.extra === 'auto_increment' || column.nullable === 'YES', column.name);
  }
  for (const name of INSERTED_COLUMNS) assert.ok(columns.some((c) => c.name === name), name);
});

test('duplicates are decided by the unique key the route names', async () => {
  const [indexes] = await db.query(
    `SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique, GROUP_CONCAT(COLUMN_NAME) AS cols
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'metric_records'
      GROUP BY INDEX_NAME, NON_UNIQUE`,
  );
  assert.deepEqual(indexes.find((i) => i.name === 'uq_metric_records_record_id'), {
    name: 'uq_metric_records_record_id', nonUnique: 0, cols: 'record_id',
  });
  assert.equal(model.getAttributes().record_id.unique, 'uq_metric_records_record_id');
});
