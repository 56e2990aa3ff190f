"""Locust phase 2, replay: POST every collected record exactly once to the
ingress, then stop by itself.

    locust -f replay.py --headless --host http://127.0.0.1:8080 -u 150 -r 1 \
        --records-file .run/records.json --summary-file .run/replay-summary.json

Exactly once: the records sit in one queue per process and each is taken by
one user. In distributed mode (--master/--worker) the master loads the file
and sends each worker its own slice with Locust's custom messages, so no two
workers ever hold the same record; each worker reports back when its slice is
done and the master quits when every worker has, and has sent its stats since.

A record is retried, with exponential backoff (or the server's Retry-After),
on a connection error or a 5xx: storage is idempotent by `id`, so a retry of a
request that was in fact stored comes back as a duplicate, not a second row.
Other answers (4xx) are final and counted as rejected.

Each request is named after the route that answered it ("POST /api/metrics
[python]"), so Locust's own stats give each route's latency. The summary file
(JSON) says how many records were delivered, rejected or given up on; the exit
code is 0 only when every record was delivered.
"""

import functools
import json
import logging
import random

import gevent
from gevent.queue import Empty, Queue
from locust import FastHttpUser, between, events, task
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from progress import ProgressReporter, add_progress_argument, check_progress_interval
from records import add_records_file_argument, load_records, save_atomically

log = logging.getLogger("replay")

SHARE_MESSAGE = "replay_share"
DONE_MESSAGE = "replay_done"
RETRIABLE = lambda status: status == 0 or status == 429 or status >= 500  # noqa: E731


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    add_records_file_argument(parser, "the collected records (a JSON array) to send")
    parser.add_argument("--summary-file", env_var="LOCUST_SUMMARY_FILE", default="",
                        help="write the replay's outcome here as JSON")
    parser.add_argument("--max-attempts", env_var="LOCUST_MAX_ATTEMPTS", type=int, default=10,
                        help="attempts per record before giving up on it")
    parser.add_argument("--backoff-cap", env_var="LOCUST_BACKOFF_CAP", type=float, default=8.0,
                        help="longest wait between two attempts, seconds")
    # From the environment only, like the routes' own (a flag would show it in `ps`).
    parser.add_argument("--ingest-token", env_var="INGEST_TOKEN", default="", is_secret=True,
                        help="the routes' bearer token (set INGEST_TOKEN; .env has it)")
    add_progress_argument(parser)


class Tally:
    """What happened to the records this process was given."""

    FIELDS = ("given", "stored", "duplicates", "rejected", "gave_up", "retries")

    def __init__(self):
        for field in self.FIELDS:
            setattr(self, field, 0)

    def as_dict(self):
        return {field: getattr(self, field) for field in self.FIELDS}


class Replay:
    """This process's share of the records and its progress."""

    def __init__(self):
        self.queue = Queue()
        self.tally = Tally()
        self.loaded = False
        self.in_flight = 0
        self.finished = False

    def load(self, records):
        for record in records:
            self.queue.put(record)
        self.tally.given += len(records)
        self.loaded = True

    def done(self):
        return self.loaded and self.in_flight == 0 and self.queue.empty()


replay = Replay()
# Master (or local runner) only: the outcome of every worker, by client id.
expected_workers = set()
reports = {}
reported_after_done = set()
outcome = {}


def write_summary(environment, per_worker):
    totals = Tally()
    for report in per_worker.values():
        for field in Tally.FIELDS:
            setattr(totals, field, getattr(totals, field) + report[field])
    delivered = totals.stored + totals.duplicates
    outcome.update(totals.as_dict(), delivered=delivered, workers=len(per_worker),
                   records_file=environment.parsed_options.records_file,
                   complete=delivered == totals.given == outcome.get("records", totals.given))
    log.info("replay done: %s", json.dumps(outcome))


def finish_local_share(environment):
    """Called by a user that found its process's queue empty."""
    if replay.finished or not replay.done():
        return
    replay.finished = True
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(DONE_MESSAGE, replay.tally.as_dict())
    else:
        write_summary(environment, {"local": replay.tally.as_dict()})
        # Quit from a greenlet of its own: quitting kills every user, the caller included.
        gevent.spawn(runner.quit)


def on_share(environment, msg, **_):
    replay.load(msg.data)
    log.info("worker got %d records", len(msg.data))
    if not msg.data:
        replay.finished = True
        environment.runner.send_message(DONE_MESSAGE, replay.tally.as_dict())


def on_worker_done(environment, msg, **_):
    reports[msg.node_id] = msg.data
    log.info("worker %s done: %s", msg.node_id, msg.data)


def on_worker_report(environment, client_id, **_):
    """Master: quit once every worker sent a stats report after its done
    message. A worker's messages arrive in order, so that report (at most
    WORKER_REPORT_INTERVAL, 3 s, later) holds all of its requests; Locust's own
    final report at quit can arrive too late for the master's stats."""
    if client_id not in reports or client_id in reported_after_done:
        return
    reported_after_done.add(client_id)
    if expected_workers and expected_workers <= reported_after_done:
        write_summary(environment, reports)
        gevent.spawn(environment.runner.quit)


all_records = []


@events.init.add_listener
def prepare(environment, **_):
    """Checks and loading happen here, where an error ends the process
    cleanly, before any user starts."""
    options = environment.parsed_options
    if options.max_attempts < 1:
        raise SystemExit("--max-attempts must be at least 1")
    if not options.ingest_token:
        # Every record would be refused with 401 (a master checks too, for an early stop).
        raise SystemExit("INGEST_TOKEN is not set: the routes refuse writes without it")
    check_progress_interval(options)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(SHARE_MESSAGE, on_share)
        return
    if isinstance(runner, MasterRunner):
        if options.expect_workers < 1 or options.num_users < options.expect_workers:
            # A worker with no user would never send its slice.
            raise SystemExit("distributed replay needs --expect-workers N and at least N users")
        runner.register_message(DONE_MESSAGE, on_worker_done)
        environment.events.worker_report.add_listener(functools.partial(on_worker_report, environment))
    all_records.extend(load_records(options.records_file))
    outcome["records"] = len(all_records)
    ProgressReporter(environment, "replay", "records delivered", functools.partial(records_sent, environment),
                     total=lambda: len(all_records))


def records_sent(environment):
    """Records delivered so far, from the stats (a master has its workers'
    every WORKER_REPORT_INTERVAL): each record's last attempt is its one
    request without a failure; retried attempts and 4xx are failures."""
    total = environment.stats.total
    return total.num_requests - total.num_failures


@events.test_start.add_listener
def hand_out_records(environment, **_):
    runner = environment.runner
    records = all_records
    if isinstance(runner, WorkerRunner):
        return
    if isinstance(runner, LocalRunner):
        replay.load(records)
        if not records:
            finish_local_share(environment)
        return
    workers = sorted(node.id for node in runner.clients.values())
    expected_workers.update(workers)
    # Contiguous slices: worker i gets records[i*n/k:(i+1)*n/k], disjoint and covering all.
    for index, worker in enumerate(workers):
        start = index * len(records) // len(workers)
        end = (index + 1) * len(records) // len(workers)
        runner.send_message(SHARE_MESSAGE, records[start:end], client_id=worker)
    log.info("sent %d records to %d workers", len(records), len(workers))


def route_stats(stats):
    """Locust's figures for each "POST /api/metrics [<route>]" name, in ms."""
    routes = {}
    for (name, _method), entry in stats.entries.items():
        if name.startswith("POST /api/metrics [") and entry.num_requests:
            routes[name[len("POST /api/metrics ["):-1]] = {
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "p50_ms": entry.get_response_time_percentile(0.50),
                "p95_ms": entry.get_response_time_percentile(0.95),
                "p99_ms": entry.get_response_time_percentile(0.99),
                "avg_ms": round(entry.avg_response_time, 1),
            }
    return routes


@events.quitting.add_listener
def finish(environment, **_):
    """Runs after the runner quit (a master has the workers' final stats by
    then): writes the summary file and decides the exit code."""
    if isinstance(environment.runner, WorkerRunner):
        return
    outcome["routes"] = route_stats(environment.stats)
    if environment.parsed_options.summary_file:
        save_atomically(environment.parsed_options.summary_file, outcome)
    if not outcome.get("complete"):
        log.error("replay incomplete: %s", json.dumps(outcome))
        environment.process_exit_code = 1
    else:
        environment.process_exit_code = 0


class RecordSender(FastHttpUser):
    """One user of the spec's replay phase: send one record, wait 1-4 s."""

    wait_time = between(1, 4)
    connection_timeout = 5.0
    network_timeout = 15.0

    def on_start(self):
        self.authorization = {"Authorization": f"Bearer {self.environment.parsed_options.ingest_token}"}

    @task
    def send_next_record(self):
        try:
            record = replay.queue.get_nowait()
        except Empty:
            finish_local_share(self.environment)
            return
        replay.in_flight += 1
        try:
            self.deliver(record)
        finally:
            replay.in_flight -= 1
        if replay.queue.empty():
            finish_local_share(self.environment)

    def deliver(self, record):
        options = self.environment.parsed_options
        for attempt in range(1, options.max_attempts + 1):
            with self.client.post("/api/metrics", json=record, headers=dict(self.authorization),
                                  catch_response=True) as response:
                # A connection closed before any answer has no headers at all.
                headers = response.headers or {}
                route = headers.get("X-Route") or "no-route"
                response.request_meta["name"] = f"POST /api/metrics [{route}]"
                status = response.status_code or 0
                if status == 201:
                    body = _json_or_empty(response)
                    if body.get("duplicates"):
                        replay.tally.duplicates += 1
                    else:
                        replay.tally.stored += 1
                    return
                response.failure(f"{status or 'connection error'}: {(response.text or '')[:200]}")
                if not RETRIABLE(status):
                    replay.tally.rejected += 1
                    log.error("record %s rejected with %s: %s", record["id"], status, (response.text or "")[:500])
                    return
                wait = _backoff(attempt, options.backoff_cap, headers.get("Retry-After"))
            if attempt < options.max_attempts:
                replay.tally.retries += 1
                gevent.sleep(wait)
        replay.tally.gave_up += 1
        log.error("gave up on record %s after %d attempts", record["id"], options.max_attempts)


def _json_or_empty(response):
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _backoff(attempt, cap, retry_after):
    """Exponential backoff with full jitter, never shorter than Retry-After."""
    wait = random.uniform(0, min(cap, 0.25 * 2 ** attempt))
    try:
        wait = max(wait, min(cap, float(retry_after)))
    except (TypeError, ValueError):
        pass
    return wait
