'use strict';
// The write path's bearer token (contracts/ingest-api.yaml, rule 0). Both sides are hashed
// first, so that timingSafeEqual compares equal lengths and takes the same time whatever
// a client sends.
const crypto = require('node:crypto');

const SCHEME = 'bearer ';
const sha256 = (text) => crypto.createHash('sha256').update(text).digest();

function bearerTokenCheck(token) {
  const expected = sha256(token);
  return (header) =>
    typeof header === 'string' &&
    header.slice(0, SCHEME.length).toLowerCase() === SCHEME &&
    crypto.timingSafeEqual(sha256(header.slice(SCHEME.length)), expected);
}

module.exports = { bearerTokenCheck };
