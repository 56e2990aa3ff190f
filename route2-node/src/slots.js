'use strict';
// A counting semaphore whose waiters give up after a bounded wait, so that work
// queued behind it is still answered in time (with a 503) instead of piling up.

/** At most `size` holders at once. */
function createSlots(size) {
  let free = size;
  const waiting = [];

  /** Resolves true once a slot is held, false if none freed up within `waitMs`. */
  function acquire(waitMs) {
    if (free > 0) {
      free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          resolve(false);
        }, waitMs),
      };
      waiting.push(waiter);
    });
  }

  function release() {
    const next = waiting.shift();
    if (!next) {
      free += 1;
      return;
    }
    clearTimeout(next.timer);
    next.resolve(true);
  }

  return { acquire, release };
}

module.exports = { createSlots };
