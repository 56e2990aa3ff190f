'use strict';
// The validation rules of contracts/ingest-api.yaml (steps 6-8): the body's shape
// (an object, or an array of 1 to 1000 records) here, each record by Ajv against
// contracts/metric-record.schema.json (JSON Schema 2020-12, compiled once at start),
// Ajv's errors mapped onto the contract's list: one problem per field, the first of
// `required`/`type`, then `minimum`/`maximum`, then `pattern`; sorted, at most 100.
// Then the calendar check of `hora`, which no schema keyword expresses.
const Ajv2020 = require('ajv/dist/2020');

const MAX_ITEMS = 1000;
const MAX_PROBLEMS = 100;
// Ajv's error keywords the contract names, by precedence within one field: a value of
// the wrong type can also fail `minimum` in Ajv (-0.5 for an integer), the contract
// reports only the first.
const PRECEDENCE = { required: 0, type: 0, minimum: 1, maximum: 1, pattern: 2 };
// What the record schema may use: every keyword that can fail maps onto PRECEDENCE,
// so that a contract change this mapping does not cover stops the start.
const ANNOTATIONS = ['$schema', '$id', 'title', 'description', '$comment'];
const RECORD_KEYWORDS = new Set([...ANNOTATIONS, 'type', 'required', 'properties', 'additionalProperties']);
const FIELD_KEYWORDS = new Set([...ANNOTATIONS, 'type', 'minimum', 'maximum', 'pattern']);

function checkKeywords(schema) {
  const unknown = (spec, allowed) => Object.keys(spec).filter((keyword) => !allowed.has(keyword));
  const problems = unknown(schema, RECORD_KEYWORDS).map((k) => `keyword '${k}'`);
  for (const [name, spec] of Object.entries(schema.properties ?? {})) {
    problems.push(...unknown(spec, FIELD_KEYWORDS).map((k) => `field '${name}': keyword '${k}'`));
  }
  if (schema.additionalProperties !== true) problems.push('additionalProperties must be true (extra fields are ignored)');
  if (problems.length) throw new Error(`record schema: ${problems.join('; ')}, which this route does not map onto the contract's problems`);
}

// `hora` is 'YYYY-MM-DD HH:MM:SS'; the pattern admits 2023-02-30, which the
// DATETIME column refuses.
function isCalendarDateTime(text) {
  const [y, mo, d, h, mi, s] = text.split(/[- :]/).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

// RFC 6901: one reference token (Ajv's instancePath is escaped already).
const jsonPointer = (name) => `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;

// Ajv's errors of one record as { field, problem }, one per field, appended to `found`.
function recordProblems(errors, base, found) {
  const byField = new Map();
  for (const error of errors) {
    const field = base + error.instancePath + (error.keyword === 'required' ? jsonPointer(error.params.missingProperty) : '');
    const rank = PRECEDENCE[error.keyword];
    if (rank === undefined) throw new Error(`record schema: Ajv reported keyword '${error.keyword}', which has no problem in the contract`);
    const kept = byField.get(field);
    if (kept === undefined || rank < PRECEDENCE[kept]) byField.set(field, error.keyword);
  }
  for (const [field, problem] of byField) found.push({ field, problem });
}

const byteOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Builds the body validator from the record schema (compiled once, here).
 * The validator returns { records, problems }: `records` is the list to store
 * (one for an object body) and `problems` the contract's sorted, capped list.
 */
function createBodyValidator(recordSchema) {
  checkKeywords(recordSchema);
  const validateRecord = new Ajv2020({ allErrors: true }).compile(recordSchema);
  const check = (record, base, found) => {
    if (!validateRecord(record)) recordProblems(validateRecord.errors, base, found);
  };
  return function validateBody(body) {
    const found = [];
    let records;
    if (Array.isArray(body)) {
      records = body;
      if (body.length === 0) found.push({ field: '', problem: 'minItems' });
      else if (body.length > MAX_ITEMS) found.push({ field: '', problem: 'maxItems' });
      else body.forEach((item, index) => check(item, `/${index}`, found));
    } else {
      // A scalar body is the record schema's `type` problem at "".
      records = [body];
      check(body, '', found);
    }
    if (found.length === 0) {
      // A schema-valid body whose `hora` names no real time (2025-02-30) gets one
      // `pattern` problem at the first such record, as route 1 answers it.
      const index = records.findIndex((record) => !isCalendarDateTime(record.hora));
      if (index >= 0) found.push({ field: `${Array.isArray(body) ? `/${index}` : ''}/hora`, problem: 'pattern' });
    }
    found.sort((a, b) => byteOrder(a.field, b.field) || byteOrder(a.problem, b.problem));
    return { records, problems: found.slice(0, MAX_PROBLEMS) };
  };
}

module.exports = { createBodyValidator };
