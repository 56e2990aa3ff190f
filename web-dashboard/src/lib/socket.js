// Wires a socket.io connection to the store, per contracts/realtime-events.schema.json.
import { io } from 'socket.io-client';

const SERVER_DISCONNECT_RETRY_MS = 1000;
export const WINDOW_ANSWER_TIMEOUT_MS = 15_000;
export const WINDOW_RETRY_MS = 2000;

/**
 * Asks ws-server for the chosen window (`window` with an ack), one request at a
 * time as the server wants it: an answer for a window that is no longer the
 * chosen one is dropped and the chosen one asked for; an error is shown and
 * the request retried while connected.
 */
function windowLoader(store, socket) {
  let pending = false;
  let retry = null;
  const load = () => {
    clearTimeout(retry);
    if (pending || !socket.connected) return;
    pending = true;
    const minutes = store.windowMinutes;
    store.windowLoading(minutes);
    socket.timeout(WINDOW_ANSWER_TIMEOUT_MS).emit('window', { minutes }, (err, reply) => {
      pending = false;
      if (minutes !== store.windowMinutes) return load();
      if (!err && reply && !reply.error) return store.applyWindow(reply);
      store.windowFailed(minutes, err ? `no answer from ws-server: ${err.message}` : String(reply?.error ?? 'an empty answer'));
      retry = setTimeout(load, WINDOW_RETRY_MS);
      return undefined;
    });
  };
  return load;
}

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
  const loadWindow = windowLoader(store, socket);
  store.requestWindow = loadWindow;
  // Every (re)connect reloads the window: rows stored while away are in it.
  socket.on('connect', () => {
    store.setConnection('connected');
    loadWindow();
  });
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
  socket.on('comparison', (comparison) => store.applyComparison(comparison));
  return socket;
}
