'use strict';
// Large bodies (batches) take one of a few turns before their body is even read,
// and keep it until their answer is sent: otherwise the reading, parsing,
// validation and storage of many concurrent batches run ahead of a single record,
// on the one event loop and in the database. A batch that gets no turn in time is
// refused with the usual 503 (nothing was stored), well within the contract's 2 s.
const { createSlots } = require('./slots');

// From this size on a body is handled as a batch (one record is about 300 bytes).
const BATCH_MIN_BYTES = 16 * 1024;
// Plus the store's own deadline (1.5 s), still inside the 2 s of a 503.
const TURN_WAIT_MS = 400;

/** Express middleware: `turns` batches at once; `refuse(res)` answers one that got no turn. */
function createBatchTurns({ turns, maxBodyBytes, refuse }) {
  const slots = createSlots(turns);
  return async function takeBatchTurn(req, res, next) {
    const declared = req.headers['content-length'];
    // Small bodies go straight on; so do those over the limit, refused (413) unread.
    if (declared !== undefined && (Number(declared) < BATCH_MIN_BYTES || Number(declared) > maxBodyBytes)) return next();
    let held = false;
    let closed = false;
    res.once('close', () => {
      closed = true;
      if (held) slots.release();
    });
    held = await slots.acquire(TURN_WAIT_MS);
    if (!held) return refuse(res);
    // The client went away while this batch waited: the turn goes to the next.
    if (closed) return slots.release();
    return next();
  };
}

module.exports = { createBatchTurns };
