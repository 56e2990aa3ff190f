'use strict';
// What a 503 promises, checked once the database answers again: every id answered
// 201 is stored once, every id answered "nothing was stored" is absent, and every id
// whose outcome was unknown is stored once after the client retried it unchanged.
const assert = require('node:assert/strict');
const { post, countIds, connectDb, newId, VALID } = require('./support');
const { NOTHING_STORED, OUTCOME_UNKNOWN } = require('../src/store');

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 50 ms until it holds; fails after `ms`, naming what it waited for. */
async function until(what, ms, condition) {
  for (const end = Date.now() + ms; !(await condition());) {
    assert.ok(Date.now() < end, `waited ${ms} ms for ${what}`);
    await pause(50);
  }
}

/** Posts `body`; its ids, answer and send time are appended to `answers`. */
async function sendRecorded(url, answers, body) {
  const sentAt = performance.now();
  const answer = await post(url, body);
  const entry = {
    body,
    ids: (Array.isArray(body) ? body : [body]).map((record) => record.id),
    status: answer.status,
    message: answer.json?.message,
    sentAt,
    answeredAt: performance.now(),
  };
  answers.push(entry);
  return entry;
}

/** `clients` loops, each posting one record then a batch of 5, fresh ids, until stop(). */
function startTraffic(url, clients = 4) {
  const answers = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    for (let n = 0; running; n += 1) {
      const records = Array.from({ length: n % 2 ? 5 : 1 }, () => ({ ...VALID, id: newId() }));
      await sendRecorded(url, answers, records.length === 1 ? records[0] : records);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Until no other connection of the routes' user runs a statement, on two polls in a
 * row: statements a route gave up on may still be in the server's hands.
 */
async function untilServerQuiet() {
  const db = await connectDb();
  try {
    let quietPolls = 0;
    await until('no statement running on the server but the poll', 10000, async () => {
      const [rows] = await db.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'");
      quietPolls = rows[0].n === 0 ? quietPolls + 1 : 0;
      return quietPolls >= 2;
    });
  } finally {
    await db.end();
  }
}

const countOf = async (ids) => (ids.length ? countIds(ids) : 0);

/** Checks what every answer promised; resolves to how many answers of each kind there were and the slowest answer's ms. */
async function assertOutcomes(url, answers) {
  for (const answer of answers) {
    assert.ok([201, 503].includes(answer.status), `status ${answer.status}`);
    if (answer.status === 503) assert.ok([NOTHING_STORED, OUTCOME_UNKNOWN].includes(answer.message), answer.message);
  }
  const unknown = answers.filter((answer) => answer.message === OUTCOME_UNKNOWN);
  for (const answer of unknown) {
    let retry;
    await until('a 201 for the retry of an unknown outcome', 10000, async () => (retry = await post(url, answer.body)).status === 201);
    assert.equal(retry.json.stored + retry.json.duplicates, answer.ids.length);
  }
  const created = answers.filter((answer) => answer.status === 201);
  const refused = answers.filter((answer) => answer.message === NOTHING_STORED);
  const stored = [...created, ...unknown].flatMap((answer) => answer.ids);
  const absent = refused.flatMap((answer) => answer.ids);
  assert.equal(await countOf(stored), stored.length, 'an id answered 201 (or retried) is missing or stored twice');
  assert.equal(await countOf(absent), 0, 'an id answered "nothing was stored" is stored');
  const slowestMs = Math.round(Math.max(...answers.map((answer) => answer.answeredAt - answer.sentAt)));
  return { created: created.length, nothingStored: refused.length, outcomeUnknown: unknown.length, slowestMs };
}

module.exports = { until, pause, sendRecorded, startTraffic, untilServerQuiet, assertOutcomes };
