// What a connection costs this process while its client does not read: the
// packets engine.io has not handed to the transport yet (all of them, for a
// long-polling client between two polls) plus what the websocket has not yet
// written to the kernel (ws's bufferedAmount). Counted as string length, which
// is the byte count for the ASCII JSON the stream sends.
export function queuedBytes(socket) {
  const { conn } = socket;
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const { data } of conn.writeBuffer) {
    if (data !== undefined) bytes += typeof data === 'string' ? data.length : data.byteLength;
  }
  return bytes;
}

/**
 * Resolves once nothing is queued for the socket in this process (everything
 * handed to the kernel) or it is gone. A client that stops reading keeps it
 * waiting; what waits is then at most the last thing sent.
 */
export async function drained(socket) {
  while (!socket.disconnected && queuedBytes(socket) > 0) {
    const { conn } = socket;
    const { transport } = conn;
    await new Promise((resolve) => {
      const done = () => {
        transport.off('drain', done);
        conn.off('upgrade', done);
        conn.off('close', done);
        resolve();
      };
      transport.on('drain', done); // the transport wrote its last batch out
      conn.on('upgrade', done); // another transport now carries the queue
      conn.on('close', done);
    });
  }
}

/**
 * Which clients to disconnect, given [{ socket, queued }]: every one holding
 * more than perClientMax, then, while the others together hold more than
 * totalMax, the one holding most. Returns them and what the others hold.
 */
export function clientsToDrop(queues, { perClientMax, totalMax }) {
  const drop = queues.filter((q) => q.queued > perClientMax);
  const kept = queues.filter((q) => q.queued <= perClientMax);
  let total = kept.reduce((sum, q) => sum + q.queued, 0);
  if (total > totalMax) {
    kept.sort((a, b) => b.queued - a.queued);
    for (const q of kept) {
      if (total <= totalMax) break;
      drop.push(q);
      total -= q.queued;
    }
  }
  return { drop, total };
}
