'use strict';
// The validation rules of contracts/ingest-api.yaml (steps 4-6), driven by the
// record schema in contracts/metric-record.schema.json, read at start.
// Hand-written rather than Ajv so that each field gets at most one problem in the
// contract's order (type, then minimum/maximum, then pattern) without re-mapping
// a validator's error list; a keyword this file does not know fails at start.

const MAX_ITEMS = 1000;
const MAX_PROBLEMS = 100;
const KNOWN_FIELD_KEYWORDS = new Set(['type', 'minimum', 'maximum', 'pattern', 'description']);
const KNOWN_RECORD_KEYWORDS = new Set([
  '$schema', '$id', 'title', 'description', 'type', 'required', 'properties', 'additionalProperties',
]);

const TYPE_CHECKS = {
  // JSON.parse turns 1.0 into 1, so it is an integer here as in JSON Schema;
  // booleans and null are never numbers.
  integer: (value) => typeof value === 'number' && Number.isInteger(value),
  number: (value) => typeof value === 'number',
  string: (value) => typeof value === 'string',
};

// `hora` is 'YYYY-MM-DD HH:MM:SS'; the pattern admits 2023-02-30, which the
// DATETIME column refuses.
function isCalendarDateTime(text) {
  const [y, mo, d, h, mi, s] = text.split(/[- :]/).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

// RFC 6901: one reference token.
const jsonPointer = (name) => `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;

function compileField(name, spec) {
  for (const keyword of Object.keys(spec)) {
    if (!KNOWN_FIELD_KEYWORDS.has(keyword)) {
      throw new Error(`record schema: field '${name}' uses keyword '${keyword}', which this route does not implement`);
    }
  }
  const isType = TYPE_CHECKS[spec.type];
  if (!isType) throw new Error(`record schema: field '${name}' has unsupported type '${spec.type}'`);
  const pattern = spec.pattern === undefined ? null : new RegExp(spec.pattern, 'u');
  const pointer = jsonPointer(name);
  // The one problem of a present field, or null.
  const problemOf = (value) => {
    if (!isType(value)) return 'type';
    if (spec.minimum !== undefined && value < spec.minimum) return 'minimum';
    if (spec.maximum !== undefined && value > spec.maximum) return 'maximum';
    if (pattern && !pattern.test(value)) return 'pattern';
    return null;
  };
  return { name, pointer, problemOf };
}

function compileRecordSchema(schema) {
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN_RECORD_KEYWORDS.has(keyword)) {
      throw new Error(`record schema uses keyword '${keyword}', which this route does not implement`);
    }
  }
  if (schema.type !== 'object' || schema.additionalProperties !== true) {
    throw new Error('record schema must be an object type that allows additional properties');
  }
  const fields = Object.entries(schema.properties).map(([name, spec]) => compileField(name, spec));
  // A required field without a definition only has to be present.
  const anyValue = (name) => ({ name, pointer: jsonPointer(name), problemOf: () => null });
  const requiredFields = schema.required.map((name) => fields.find((f) => f.name === name) ?? anyValue(name));
  const optionalFields = fields.filter((f) => !schema.required.includes(f.name));
  return { requiredFields, optionalFields };
}

function recordProblems(rules, record, base, found) {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    found.push({ field: base, problem: 'type' });
    return;
  }
  for (const field of rules.requiredFields) {
    if (!Object.hasOwn(record, field.name)) {
      found.push({ field: base + field.pointer, problem: 'required' });
      continue;
    }
    const problem = field.problemOf(record[field.name]);
    if (problem) found.push({ field: base + field.pointer, problem });
  }
  for (const field of rules.optionalFields) {
    if (!Object.hasOwn(record, field.name)) continue;
    const problem = field.problemOf(record[field.name]);
    if (problem) found.push({ field: base + field.pointer, problem });
  }
}

const byteOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Builds the body validator from the record schema.
 * The validator returns { records, problems }: `records` is the list to store
 * (one for an object body) and `problems` the contract's sorted, capped list.
 */
function createBodyValidator(recordSchema) {
  const rules = compileRecordSchema(recordSchema);
  return function validateBody(body) {
    const found = [];
    let records = [];
    if (Array.isArray(body)) {
      records = body;
      if (body.length === 0) found.push({ field: '', problem: 'minItems' });
      else if (body.length > MAX_ITEMS) found.push({ field: '', problem: 'maxItems' });
      else body.forEach((item, index) => recordProblems(rules, item, `/${index}`, found));
    } else if (typeof body === 'object' && body !== null) {
      records = [body];
      recordProblems(rules, body, '', found);
    } else {
      records = [body];
      found.push({ field: '', problem: 'type' });
    }
    found.sort((a, b) => byteOrder(a.field, b.field) || byteOrder(a.problem, b.problem));
    if (found.length === 0) {
      // A schema-valid body whose `hora` names no real time (2025-02-30) gets one
      // `pattern` problem at the first such record, as route 1 answers it.
      const index = records.findIndex((record) => !isCalendarDateTime(record.hora));
      if (index >= 0) found.push({ field: `${Array.isArray(body) ? `/${index}` : ''}/hora`, problem: 'pattern' });
    }
    return { records, problems: found.slice(0, MAX_PROBLEMS) };
  };
}

module.exports = { createBodyValidator };
