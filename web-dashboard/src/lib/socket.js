// Wires a socket.io connection to the store, per contracts/realtime-events.schema.json.
import { io } from 'socket.io-client';

const SERVER_DISCONNECT_RETRY_MS = 1000;
export const ANSWER_TIMEOUT_MS = 15_000;
export const RETRY_MS = 2000;

/**
 * Asks ws-server `event` with the store's current request (`window`,
 * `records`), one request at a time as the server wants it: an answer to a
 * request that is no longer the current one is dropped and the current one
 * asked for; an error is shown and the request retried while connected.
 */
function askInTurn(socket, event, { current, loading, answered, failed }) {
  let pending = false;
  let retry = null;
  const ask = () => {
    clearTimeout(retry);
    if (pending || !socket.connected) return;
    pending = true;
    const request = current();
    loading(request);
    socket.timeout(ANSWER_TIMEOUT_MS).emit(event, request, (err, reply) => {
      pending = false;
      if (JSON.stringify(request) !== JSON.stringify(current())) return ask();
      if (!err && reply && !reply.error) return answered(reply);
      failed(request, err ? `no answer from ws-server: ${err.message}` : String(reply?.error ?? 'an empty answer'));
      retry = setTimeout(ask, RETRY_MS);
      return undefined;
    });
  };
  return ask;
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
  const loadWindow = askInTurn(socket, 'window', {
    current: () => ({ minutes: store.windowMinutes }),
    loading: ({ minutes }) => store.windowLoading(minutes),
    answered: (reply) => store.applyWindow(reply),
    failed: ({ minutes }, error) => store.windowFailed(minutes, error),
  });
  const loadRecords = askInTurn(socket, 'records', {
    current: () => store.recordsRequest(),
    loading: () => store.recordsLoading(),
    answered: (reply) => store.applyRecords(reply),
    failed: (_, error) => store.recordsFailed(error),
  });
  store.requestWindow = loadWindow;
  store.requestRecords = loadRecords;
  // Every (re)connect reloads the window and the table's page: rows stored while away are in them.
  socket.on('connect', () => {
    store.setConnection('connected');
    loadWindow();
    loadRecords();
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
