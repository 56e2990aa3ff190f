'use strict';
// One deadline for all the database work of a request. Kept in the request's async
// context, so that the mysql2 connection wrapper of src/db.js can bound each
// command by the time left without every caller passing it down through Sequelize.
const { AsyncLocalStorage } = require('node:async_hooks');

const current = new AsyncLocalStorage();

/** Runs `work` with its database commands bounded to end by `at` (performance.now() ms). */
const withDeadline = (at, work) => current.run(at, work);

/** Milliseconds left before the current deadline; Infinity outside one. */
function timeLeftMs() {
  const at = current.getStore();
  return at === undefined ? Infinity : at - performance.now();
}

module.exports = { withDeadline, timeLeftMs };
