"""Locust phase 1, collect: every answer of the agent's GET /api/metrics is a
record; each gets a UUID `id` and lands in one JSON array on disk.

    locust -f collect.py --headless --host http://127.0.0.1:8081 \
        -u 300 -r 1 -t 3m --records-file .run/records.json [--max-records N]

The file is rewritten atomically every --save-interval seconds and when the
run stops, so a run killed at any moment still leaves a valid JSON array
(holding what had been saved). With --max-records the run stops by itself
once that many records are held.

Distributed (--master, and --worker processes here or on other machines):
only the master writes the file. Each worker sends what it collected to the
master in batches (Locust's custom messages, at most BATCH_RECORDS records a
message, every --save-interval seconds). When the run ends, the master asks
every connected worker to stop collecting and send the rest, and waits (at
most --flush-timeout seconds) until it has received every record each worker
says it sent, before it saves the file for the last time and quits. A worker
that quits on its own (SIGTERM, Ctrl-C) first sends the rest of its records,
then Locust's own quit message. The master keeps each id once.
"""

import json
import logging
import time
import uuid

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from progress import ProgressReporter, add_progress_argument, check_progress_interval
from records import add_records_file_argument, save_atomically

log = logging.getLogger("collect")

RECORDS_MESSAGE = "collect_records"  # worker -> master: a batch of records
FLUSH_MESSAGE = "collect_flush"  # master -> worker: stop collecting, send the rest
FLUSHED_MESSAGE = "collect_flushed"  # worker -> master: {"sent": n, "dropped": n}, all sent
# The agent's records are about 400 bytes of JSON: 500 of them make a message
# of about 200 KB, well inside what ZeroMQ and msgpack carry at once.
BATCH_RECORDS = 500


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    add_records_file_argument(parser, "where the collected records are saved (a JSON array)")
    parser.add_argument("--max-records", env_var="LOCUST_MAX_RECORDS", type=int, default=0,
                        help="stop after this many records (0: no cap)")
    parser.add_argument("--save-interval", env_var="LOCUST_SAVE_INTERVAL", type=float, default=2.0,
                        help="seconds between atomic saves of the records file (workers: between two batches)")
    parser.add_argument("--flush-timeout", env_var="LOCUST_FLUSH_TIMEOUT", type=float, default=15.0,
                        help="distributed: longest wait, at the end, for the workers' last records, seconds")
    parser.add_argument("--summary-file", env_var="LOCUST_SUMMARY_FILE", default="",
                        help="write the collect's outcome here as JSON")
    add_progress_argument(parser)


class RecordStore:
    """The records of this run (one process, or the master), periodically
    saved to disk. Each id is kept once."""

    def __init__(self, path, cap):
        self.path = path
        self.cap = cap
        self.records = []
        self.ids = set()
        self.duplicates = 0
        self.over_cap = 0
        self.saved_count = -1
        self.full = False

    def add(self, record):
        """Keep the record unless the cap is reached or its id is already
        held; True when kept."""
        if self.cap and len(self.records) >= self.cap:
            self.over_cap += 1
            return False
        if record["id"] in self.ids:
            self.duplicates += 1
            return False
        self.ids.add(record["id"])
        self.records.append(record)
        if self.cap and len(self.records) >= self.cap:
            self.full = True
        return True

    def save(self):
        if self.saved_count == len(self.records):
            return
        save_atomically(self.path, self.records)
        self.saved_count = len(self.records)


class Outbox:
    """A worker's records on their way to the master. A lock keeps the
    batches and the closing "flushed" message in order, whichever greenlet
    (the periodic sender, the flush request, the quit) sends them."""

    def __init__(self):
        self.pending = []
        self.sent = 0
        self.dropped = 0
        self.closed = False
        self.reported = None  # (sent, dropped) as of the last "flushed" message
        self.lock = Semaphore()

    def add(self, record):
        if self.closed:  # answered after the run ended for this worker
            self.dropped += 1
            return
        self.pending.append(record)

    def send(self, runner):
        with self.lock:
            while self.pending:
                batch = self.pending[:BATCH_RECORDS]
                del self.pending[:BATCH_RECORDS]
                try:
                    runner.send_message(RECORDS_MESSAGE, batch)
                except Exception:
                    self.pending[0:0] = batch  # kept for the next attempt
                    raise
                self.sent += len(batch)

    def flush(self, runner, why):
        """Stop collecting, send every pending record, then say how many were
        sent in all, so that the master knows when it has them all."""
        if not self.closed:
            self.closed = True
            log.info("worker stops collecting (%s); sending the rest to the master", why)
        self.send(runner)
        with self.lock:
            if self.reported == (self.sent, self.dropped):
                return
            runner.send_message(FLUSHED_MESSAGE, {"sent": self.sent, "dropped": self.dropped})
            self.reported = (self.sent, self.dropped)
        log.info("worker sent %d records to the master (%d answers came after the stop and were dropped)",
                 self.sent, self.dropped)


class Account:
    """Master: what one worker sent, as far as the master knows."""

    def __init__(self):
        self.received = 0
        self.sent = None  # from its "flushed" message
        self.dropped = 0

    def complete(self):
        return self.sent is not None and self.received >= self.sent

    def as_dict(self):
        return {"received": self.received, "sent": self.sent, "dropped_after_stop": self.dropped}


store = None  # one process, or the master
outbox = None  # a worker
saver = None
accounts = {}  # master: node id -> Account


def account(node_id):
    return accounts.setdefault(node_id, Account())


@events.init.add_listener
def prepare(environment, runner, **_):
    global outbox
    options = environment.parsed_options
    if options.max_records < 0:
        raise SystemExit("--max-records must be 0 (no cap) or positive")
    if options.flush_timeout <= 0:
        raise SystemExit("--flush-timeout must be positive")
    check_progress_interval(options)
    # The master counts what the workers have sent it so far.
    ProgressReporter(environment, "collect", "records collected", lambda: len(store.records) if store else 0)
    if isinstance(runner, WorkerRunner):
        outbox = Outbox()
        runner.register_message(FLUSH_MESSAGE, lambda environment, **_: outbox.flush(runner, "the master asked"))
        # Registered now, after Locust's own quitting listener (which tells the
        # master this worker quit): quitting's listeners run last-registered
        # first, so the records reach the master before that quit message does.
        environment.events.quitting.add_listener(lambda **_: outbox.flush(runner, "this worker quits"))
    elif isinstance(runner, MasterRunner):
        runner.register_message(RECORDS_MESSAGE, on_records)
        runner.register_message(FLUSHED_MESSAGE, on_flushed)
        environment.events.worker_connect.add_listener(lambda client_id, **_: account(client_id))


def on_records(environment, msg, **_):
    """Master: a worker's batch."""
    account(msg.node_id).received += len(msg.data)
    if store is None:  # cannot happen: workers collect only after test_start
        log.error("dropped %d records from %s that came before the run started", len(msg.data), msg.node_id)
        return
    was_full = store.full
    for record in msg.data:
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            store.add(record)
        else:
            log.error("dropped an item from %s that is not a record with an id", msg.node_id)
    if store.full and not was_full:
        log.info("cap of %d records reached; stopping", store.cap)
        gevent.spawn(environment.runner.quit)


def on_flushed(environment, msg, **_):
    entry = account(msg.node_id)
    entry.sent, entry.dropped = msg.data["sent"], msg.data["dropped"]
    log.info("worker %s: sent %d records, %d received", msg.node_id, entry.sent, entry.received)


@events.test_start.add_listener
def start_store(environment, **_):
    global store, saver
    options = environment.parsed_options
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        saver = gevent.spawn(send_periodically, runner, options.save_interval)
        return
    store = RecordStore(options.records_file, options.max_records)
    # An empty array right away, so the file never shows an older run's records.
    store.save()

    def save_periodically():
        while True:
            gevent.sleep(options.save_interval)
            store.save()

    saver = gevent.spawn(save_periodically)
    log.info("collecting into %s (cap: %s)", store.path, store.cap or "none")


def send_periodically(runner, interval):
    while True:
        gevent.sleep(interval)
        try:
            outbox.send(runner)
        except Exception as error:  # the connection comes back, or the quit says what was lost
            log.error("could not send records to the master: %s", error)


@events.test_stopping.add_listener
def collect_from_workers(environment, **_):
    """Master, before its users stop: every connected worker is asked to
    stop collecting and send the rest; wait until each one's records are all
    in (a worker that quits in the meantime has sent its rest before its
    quit message), or --flush-timeout."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    waiting = {node.id for node in runner.clients.all if node.state != STATE_MISSING}
    for node_id in waiting:
        account(node_id)
        runner.send_message(FLUSH_MESSAGE, None, client_id=node_id)
    timeout = environment.parsed_options.flush_timeout
    deadline = time.monotonic() + timeout
    while True:
        waiting = {node_id for node_id in waiting if not accounts[node_id].complete()}
        if not waiting or time.monotonic() >= deadline:
            break
        gevent.sleep(0.05)
    if waiting:
        log.error("no complete answer within %.0f s (--flush-timeout) from the workers %s: what they did not send "
                  "is lost", timeout, ", ".join(sorted(waiting)))


@events.test_stop.add_listener
def final_save(environment, **_):
    if saver is not None:
        saver.kill(block=True)
    if store is not None:
        store.save()
        log.info("collected %d records into %s", len(store.records), store.path)


class AgentReader(FastHttpUser):
    """One user of the spec's collect phase: read the agent, wait 1-2 s."""

    wait_time = between(1, 2)
    connection_timeout = 5.0
    network_timeout = 10.0

    @task
    def read_metrics(self):
        with self.client.get("/api/metrics", name="GET /api/metrics", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"agent answered {response.status_code}")
                return
            try:
                record = response.json()
            except ValueError:
                response.failure("agent's answer is not JSON")
                return
            if not isinstance(record, dict):
                response.failure("agent's answer is not a JSON object")
                return
        record["id"] = str(uuid.uuid4())
        if outbox is not None:
            outbox.add(record)
        elif store.add(record) and store.full:
            log.info("cap of %d records reached; stopping", store.cap)
            # Quit from a greenlet of its own: quitting kills every user, this one included.
            gevent.spawn(self.environment.runner.quit)


@events.quitting.add_listener
def exit_code(environment, **_):
    """Some failed reads under load do not spoil a collect run: it succeeds
    when it saved records (Locust's default would fail on any error)."""
    if isinstance(environment.runner, WorkerRunner):
        environment.process_exit_code = 0
        return
    if store is not None:
        store.save()  # anything that came in after the stop
    failures = environment.stats.total.num_failures
    if failures:
        log.warning("%d of the agent's answers were failures (see the stats)", failures)
    outcome = {"records": len(store.records) if store else 0,
               "records_file": environment.parsed_options.records_file,
               "duplicates": store.duplicates if store else 0,
               "over_cap": store.over_cap if store else 0,
               "requests": environment.stats.total.num_requests, "failures": failures}
    if isinstance(environment.runner, MasterRunner):
        incomplete = sorted(node_id for node_id, entry in accounts.items() if not entry.complete())
        outcome.update(workers={node_id: entry.as_dict() for node_id, entry in sorted(accounts.items())},
                       incomplete_workers=incomplete)
        if incomplete:
            log.error("records of the workers %s may be lost: they did not say they sent them all", incomplete)
    log.info("collect done: %s", json.dumps(outcome))
    if environment.parsed_options.summary_file:
        save_atomically(environment.parsed_options.summary_file, outcome)
    environment.process_exit_code = 0 if store is not None and store.records else 1
