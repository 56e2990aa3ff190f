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
