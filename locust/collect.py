"""Locust phase 1, collect: every answer of the agent's GET /api/metrics is a
record; each gets a UUID `id` and lands in one JSON array on disk.

    locust -f collect.py --headless --host http://127.0.0.1:8081 \
        -u 300 -r 1 -t 3m --records-file .run/records.json [--max-records N]

The file is rewritten atomically every --save-interval seconds and when the
run stops, so a run killed at any moment still leaves a valid JSON array
(holding what had been saved). With --max-records the run stops by itself
once that many records are held. Runs in one process (no --master/--worker).
"""

import logging
import uuid

import gevent
from locust import FastHttpUser, between, events, task
from locust.runners import LocalRunner

from records import add_records_file_argument, save_atomically

log = logging.getLogger("collect")


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    add_records_file_argument(parser, "where the collected records are saved (a JSON array)")
    parser.add_argument("--max-records", env_var="LOCUST_MAX_RECORDS", type=int, default=0,
                        help="stop after this many records (0: no cap)")
    parser.add_argument("--save-interval", env_var="LOCUST_SAVE_INTERVAL", type=float, default=2.0,
                        help="seconds between atomic saves of the records file")


class RecordStore:
    """The records of this run, periodically saved to disk."""

    def __init__(self, path, cap):
        self.path = path
        self.cap = cap
        self.records = []
        self.saved_count = -1
        self.full = False

    def add(self, record):
        """Keep the record unless the cap is reached; True when kept."""
        if self.cap and len(self.records) >= self.cap:
            return False
        self.records.append(record)
        if self.cap and len(self.records) >= self.cap:
            self.full = True
        return True

    def save(self):
        if self.saved_count == len(self.records):
            return
        save_atomically(self.path, self.records)
        self.saved_count = len(self.records)


store = None
saver = None


@events.init.add_listener
def check_options(environment, **_):
    if not isinstance(environment.runner, LocalRunner):
        raise SystemExit("collect.py runs in one process: drop --master/--worker")
    if environment.parsed_options.max_records < 0:
        raise SystemExit("--max-records must be 0 (no cap) or positive")


@events.test_start.add_listener
def start_store(environment, **_):
    global store, saver
    options = environment.parsed_options
    store = RecordStore(options.records_file, options.max_records)
    # An empty array right away, so the file never shows an older run's records.
    store.save()

    def save_periodically():
        while True:
            gevent.sleep(options.save_interval)
            store.save()

    saver = gevent.spawn(save_periodically)
    log.info("collecting into %s (cap: %s)", store.path, store.cap or "none")


@events.test_stop.add_listener
def final_save(**_):
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
        if store.add(record) and store.full:
            log.info("cap of %d records reached; stopping", store.cap)
            # Quit from a greenlet of its own: quitting kills every user, this one included.
            gevent.spawn(self.environment.runner.quit)


@events.quitting.add_listener
def exit_code(environment, **_):
    """Some failed reads under load do not spoil a collect run: it succeeds
    when it saved records (Locust's default would fail on any error)."""
    failures = environment.stats.total.num_failures
    if failures:
        log.warning("%d of the agent's answers were failures (see the stats)", failures)
    environment.process_exit_code = 0 if store is not None and store.records else 1
