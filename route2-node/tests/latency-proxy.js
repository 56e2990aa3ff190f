'use strict';
// A TCP proxy of the tests' own between a route and the tests' MariaDB: every chunk
// is delivered `delayMs` after it arrived, in order, in both directions (a slow
// network, not a lossy one). A connection's end is delayed like its data, so the
// server sees a client's close only after what the client sent before it. On
// request, the server's answers to a COMMIT are held back longer: the commit
// happens, its answer comes too late.
const net = require('node:net');

async function startLatencyProxy(targetPort, targetHost = '127.0.0.1') {
  let delayMs = 0;
  let commitAnswerDelayMs = 0;
  let undelivered = 0;
  let onDrained = [];
  const sockets = new Set();

  function delivered() {
    undelivered -= 1;
    if (undelivered === 0) onDrained.splice(0).forEach((resolve) => resolve());
  }

  // A COM_QUERY packet (after its 4-byte header, command 0x03) whose text starts with COMMIT.
  const isCommit = (chunk) => chunk.length > 10 && chunk[4] === 0x03 && chunk.toString('latin1', 5, 11).toUpperCase() === 'COMMIT';

  // `holdUntil()`: a time before which nothing is delivered (answers held back).
  function delayedPipe(from, to, holdUntil = () => 0) {
    const queue = [];
    let timer = null;
    const flush = () => {
      timer = null;
      while (queue.length && queue[0].due <= performance.now()) {
        queue.shift().deliver();
        delivered();
      }
      if (queue.length) timer = setTimeout(flush, queue[0].due - performance.now());
    };
    const later = (deliver) => {
      queue.push({ due: Math.max(performance.now() + delayMs, holdUntil()), deliver });
      undelivered += 1;
      if (!timer) timer = setTimeout(flush, queue[0].due - performance.now());
    };
    from.on('data', (chunk) => later(() => to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    from.on('error', () => later(() => to.destroy()));
  }

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    let answersHeldUntil = 0;
    client.on('data', (chunk) => {
      if (commitAnswerDelayMs && isCommit(chunk)) answersHeldUntil = performance.now() + commitAnswerDelayMs;
    });
    delayedPipe(client, upstream);
    delayedPipe(upstream, client, () => answersHeldUntil);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    /** Added to every chunk, each way. */
    setDelay(ms) {
      delayMs = ms;
    },
    /** Answers to a COMMIT (and what follows on that connection) come this much later. */
    setCommitAnswerDelay(ms) {
      commitAnswerDelayMs = ms;
    },
    /** Resolves once everything received so far has been delivered. */
    drained: () => new Promise((resolve) => (undelivered === 0 ? resolve() : onDrained.push(resolve))),
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startLatencyProxy };
