// A request with an answer (`window`, `records`): socket.emit(name, request, ack).
// Validation at the edge, at most REQUESTS_PER_CONNECTION running per connection,
// `window` and `records` together (one more is refused, so one client cannot
// queue up work for the pool), every answer through the ack. The database's
// own error text stays in the log.

/**
 * parse(request) -> the valid request or { error }; load(parsed, cursor) ->
 * the answer; summarize(answer) -> fields for the log line; perConnection:
 * REQUESTS_PER_CONNECTION.
 */
export function serveRequests(socket, name, { parse, load, summarize, stream, perConnection, log }) {
  socket.data.requestsRunning ??= 0;
  socket.on(name, async (request, ack) => {
    if (typeof request === 'function' && ack === undefined) [request, ack] = [undefined, request];
    if (typeof ack !== 'function') {
      log('warn', `${name} request without an acknowledgement callback; ignored`, { id: socket.id });
      return;
    }
    const parsed = parse(request);
    if (parsed.error) return ack({ error: parsed.error });
    if (socket.data.requestsRunning >= perConnection) {
      return ack({ error: `${name}: ${perConnection} request(s) of this connection still running (REQUESTS_PER_CONNECTION); wait for an answer` });
    }
    // The same reason the `status` event gives.
    if (!stream.initialized) return ack({ error: `${name}: the stream is not ready yet (${stream.database.message ?? 'starting'})` });
    socket.data.requestsRunning += 1;
    const started = performance.now();
    try {
      const answer = await load(parsed, stream.cursor);
      log('info', `${name} served`, { ...parsed, ...summarize(answer), ms: Math.round(performance.now() - started) });
      ack(answer);
    } catch (err) {
      log('warn', `${name} query failed`, { ...parsed, error: err.message, code: err.code });
      ack({ error: `${name}: the database could not be read; try again shortly` });
    } finally {
      socket.data.requestsRunning -= 1;
    }
  });
}
