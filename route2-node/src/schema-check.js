'use strict';
// The Sequelize model against the live table (queryInterface.describeTable and
// showIndex): route 2 does not serve a `metric_records` it does not match. The table
// is defined by route 1's SQLAlchemy model and its Alembic migrations; this model
// declares the same table, and this check is where a disagreement shows, at start.
const { DatabaseUnavailableError, asThrown, INSERTED_COLUMNS, UNIQUE_KEY } = require('./store');

// 'INTEGER UNSIGNED' (the model) and 'INT(10) UNSIGNED' (MariaDB) or 'int unsigned'
// (MySQL 8) are one type: letter case, integer display widths and spaces after commas go.
function normalType(sqlType) {
  return String(sqlType)
    .toLowerCase()
    .replace(/^integer\b/, 'int')
    .replace(/^(tinyint|smallint|mediumint|int|bigint)\(\d+\)/, '$1')
    .replace(/,\s+/g, ',')
    .trim();
}

const nullability = (allowNull) => (allowNull ? 'NULL' : 'NOT NULL');

/** The model's columns as the table should have them: [{ name, type, allowNull, ... }]. */
function modelColumns(model, sequelize) {
  return Object.values(model.getAttributes()).map((attribute) => ({
    name: attribute.field,
    type: attribute.type.toSql({ escape: (value) => sequelize.escape(value) }),
    allowNull: attribute.allowNull !== false,
    primaryKey: attribute.primaryKey === true,
    autoIncrement: attribute.autoIncrement === true,
  }));
}

/**
 * Every difference that matters between the model and the described table, one
 * sentence each naming the column: { problems, warnings }. `described` is what
 * describeTable answers, `indexes` what showIndex answers.
 */
function compareWithTable(columns, described, indexes, inserted = INSERTED_COLUMNS) {
  const problems = [];
  const warnings = [];
  for (const column of columns) {
    const live = described[column.name];
    if (!live) {
      problems.push(`column ${column.name}: missing from the table (the model has ${column.type} ${nullability(column.allowNull)})`);
      continue;
    }
    if (normalType(live.type) !== normalType(column.type)) {
      problems.push(`column ${column.name}: type ${live.type} in the table, ${column.type} in the model`);
    }
    if (live.allowNull !== column.allowNull) {
      problems.push(`column ${column.name}: ${nullability(live.allowNull)} in the table, ${nullability(column.allowNull)} in the model`);
    }
    if (live.primaryKey !== column.primaryKey) {
      problems.push(`column ${column.name}: ${live.primaryKey ? '' : 'not '}the primary key in the table, ${column.primaryKey ? '' : 'not '}in the model`);
    }
    if (live.autoIncrement !== column.autoIncrement) {
      problems.push(`column ${column.name}: ${live.autoIncrement ? '' : 'not '}AUTO_INCREMENT in the table, ${column.autoIncrement ? '' : 'not '}in the model`);
    }
    // A column the route does not insert must be filled by the table.
    if (!inserted.includes(column.name) && !live.allowNull && !live.autoIncrement && live.defaultValue === null) {
      problems.push(`column ${column.name}: the route does not insert it and the table has no default for it`);
    }
  }
  const known = new Set(columns.map((column) => column.name));
  for (const [name, live] of Object.entries(described)) {
    if (known.has(name)) continue;
    // One the inserts can leave out (a migration ahead of this model) is no reason to stop.
    if (live.allowNull || live.autoIncrement || live.defaultValue !== null) {
      warnings.push(`column ${name}: in the table (${live.type}), not in the model`);
    } else {
      problems.push(`column ${name}: in the table (${live.type} NOT NULL, no default), not in the model: every insert would fail`);
    }
  }
  const unique = indexes.find((index) => index.name === UNIQUE_KEY);
  const uniqueColumns = unique ? unique.fields.map((field) => field.attribute) : [];
  if (!unique || !unique.unique || uniqueColumns.join(',') !== 'record_id') {
    problems.push(`unique key ${UNIQUE_KEY} on (record_id): ${unique ? `is ${unique.unique ? 'unique' : 'not unique'} on (${uniqueColumns.join(', ')})` : 'missing'} in the table; duplicates are decided by it`);
  }
  return { problems, warnings };
}

class SchemaMismatchError extends Error {
  constructor(table, problems) {
    super(`table ${table} does not match the model: ${problems.join('; ')}`);
    this.name = 'SchemaMismatchError';
    this.problems = problems;
  }
}

/**
 * Compares the model with the live table. Resolves to { warnings } when they agree;
 * rejects with SchemaMismatchError when they do not (a missing table included), with
 * DatabaseUnavailableError when the database cannot answer now, or with the error
 * itself (e.g. no right to read the table).
 */
async function checkSchema({ sequelize, MetricRecord }) {
  const table = MetricRecord.getTableName();
  const queryInterface = sequelize.getQueryInterface();
  let described;
  let indexes;
  try {
    described = await queryInterface.describeTable(table);
    indexes = await queryInterface.showIndex(table);
  } catch (error) {
    if (/^No description found for/.test(error.message)) {
      throw new SchemaMismatchError(table, [`table ${table} does not exist in the database`]);
    }
    throw asThrown(error);
  }
  const { problems, warnings } = compareWithTable(modelColumns(MetricRecord, sequelize), described, indexes);
  if (problems.length) throw new SchemaMismatchError(table, problems);
  return { warnings };
}

module.exports = { checkSchema, compareWithTable, modelColumns, normalType, SchemaMismatchError, DatabaseUnavailableError };
