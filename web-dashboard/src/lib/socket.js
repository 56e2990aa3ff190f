// Wires a socket.io connection to the store, per contracts/realtime-events.schema.json.
import { io } from 'socket.io-client';

const SERVER_DISCONNECT_RETRY_MS = 1000;

/**
 * The auth callback is re-read on every (re)connect, so the handshake always
 * carries the newest id the store holds and the server sends only what we missed.
 */
export function connectDashboard(store, url, { ioFactory = io, ...options } = {}) {
  const socket = ioFactory(url, {
    auth: (cb) => cb({ lastId: store.lastId }),
    // WebSocket only: no HTTP long-polling, so no sticky sessions are needed
    // behind the cluster's ingress and mesh.
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    ...options,
  });
  socket.on('connect', () => store.setConnection('connected'));
  socket.on('disconnect', (reason) => {
    store.setConnection('reconnecting');
    // After a server-side disconnect socket.io does not retry by itself; wait a
    // little so a server that keeps refusing us is not hammered.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), SERVER_DISCONNECT_RETRY_MS);
  });
  socket.on('connect_error', () => store.setConnection('reconnecting'));
  socket.on('history', (payload) => store.applyHistory(payload ?? { rows: [], truncated: false }));
  socket.on('metrics', (payload) => store.appendRows(payload?.rows));
  socket.on('summary', (summary) => store.setSummary(summary));
  socket.on('status', (status) => store.setDatabaseStatus(status));
  return socket;
}
