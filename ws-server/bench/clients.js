// One benchmark client process: opens N socket.io connections to the
// ws-server and notes, for every row, when each connection received it.
// Driven over IPC by bench.js: {connect}, then {report, sentAt}.
import { io } from 'socket.io-client';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
// A row still on its way to a connection this long after the report was asked
// for counts as missing.
const REPORT_WAIT_MS = 10_000;
const now = () => performance.timeOrigin + performance.now();

const sockets = [];
const received = []; // per connection: Map id -> receive time
let histories = 0;

function connectAll() {
  for (let i = 0; i < count; i += 1) {
    const seen = new Map();
    received.push(seen);
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 200 });
    socket.once('history', () => {
      histories += 1;
      if (histories === count) process.send({ type: 'ready' });
    });
    socket.on('metrics', ({ rows }) => {
      const t = now();
      for (const row of rows) {
        if (seen.has(row.id)) seen.set(row.id, -1); // a duplicate: flagged, counted in the report
        else seen.set(row.id, t);
      }
    });
    sockets.push(socket);
  }
}

// Rows arrive in id order, so a connection that has the newest row has had
// its chance at every other one.
async function allHaveNewest(newest) {
  const deadline = now() + REPORT_WAIT_MS;
  while (now() < deadline && !received.every((seen) => seen.has(newest))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Latencies (ms) of the rows the orchestrator inserted, plus delivery faults.
async function report(sentAt) {
  const ids = Object.keys(sentAt);
  await allHaveNewest(Math.max(...ids.map(Number)));
  const latencies = [];
  const first = {}; // id -> earliest receive time in this process
  let missing = 0;
  let duplicates = 0;
  for (const seen of received) {
    for (const id of ids) {
      const t = seen.get(Number(id));
      if (t === undefined) missing += 1;
      else if (t < 0) duplicates += 1;
      else {
        latencies.push(t - sentAt[id]);
        if (!(id in first) || t < first[id]) first[id] = t;
      }
    }
  }
  for (const socket of sockets) socket.close();
  return { latencies, first, missing, duplicates };
}

process.on('message', async (message) => {
  if (message.type === 'connect') connectAll();
  if (message.type === 'report') process.send({ type: 'report', ...(await report(message.sentAt)) }, () => process.exit(0));
});
