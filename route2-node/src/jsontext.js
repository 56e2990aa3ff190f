'use strict';
// The body's JSON text: the contract's limits (contracts/ingest-api.yaml, rule 4), checked on
// the text before it is parsed, with the same token rules as route 1's route1/jsontext.py, so
// both routes give a hostile body the same fast 400.

const MAX_DEPTH = 32;
const MAX_NUMBER_LENGTH = 64;

// A string runs to the next unescaped quote, or to the end of the text (the loop unrolled).
const STRING = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"?/g;
const NUMBER_CHARS = '\\-+.eE0-9';
const LONG_NUMBER = new RegExp(`(?<![${NUMBER_CHARS}])[${NUMBER_CHARS}]{${MAX_NUMBER_LENGTH + 1},}`);

class LimitExceededError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Throws LimitExceededError when the text breaks one of the contract's limits.
function checkLimits(text) {
  // A space where each string was, so that the numbers on either side stay apart.
  const outsideStrings = text.replace(STRING, ' ');
  let depth = 0;
  for (let i = 0; i < outsideStrings.length; i += 1) {
    const c = outsideStrings.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > MAX_DEPTH) {
        throw new LimitExceededError('nesting_too_deep', `The body nests arrays and objects deeper than ${MAX_DEPTH} levels.`);
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  if (LONG_NUMBER.test(outsideStrings)) {
    throw new LimitExceededError('number_too_long', `The body has a number longer than ${MAX_NUMBER_LENGTH} characters.`);
  }
}

module.exports = { MAX_DEPTH, MAX_NUMBER_LENGTH, LimitExceededError, checkLimits };
