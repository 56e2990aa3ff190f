"""A progress line every --progress-interval seconds (PROGRESS_INTERVAL, default 5)
while a phase runs, from the process that has the whole picture (one process,
or the master; never a worker): elapsed of the planned time, users, the phase's
own count, requests/s, failures and, when the phase can know it, the time left.

Under a terminal the line is redrawn in place; otherwise (CI, a log file) each
one is a plain log line. Shared by collect.py and replay.py.
"""

import collections
import logging
import sys
import time

import gevent
from locust.runners import WorkerRunner

log = logging.getLogger("progress")

# The rate behind the time-left estimate: records over about the last 30 s.
RATE_WINDOW_S = 30.0
LONGEST_ESTIMATE_S = 24 * 3600


def add_progress_argument(parser):
    parser.add_argument("--progress-interval", env_var="PROGRESS_INTERVAL", type=float, default=5.0,
                        help="seconds between two progress lines (one process or the master)")


def check_progress_interval(options):
    if not options.progress_interval > 0:
        raise SystemExit(f"--progress-interval (PROGRESS_INTERVAL) must be a positive number of seconds, "
                         f"got {options.progress_interval}")


def clock(seconds):
    """1:05 or 1:02:03."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def estimate_left(remaining, per_user_rate, users, target_users, spawn_rate):
    """Seconds until `remaining` records are done, if each user keeps doing
    `per_user_rate` records/s and users keep arriving at `spawn_rate` up to
    `target_users`. None without a rate, or beyond a day."""
    if remaining <= 0:
        return 0.0
    if per_user_rate <= 0:
        return None
    elapsed = 0.0
    while elapsed < LONGEST_ESTIMATE_S:
        now = min(target_users, users + spawn_rate * elapsed) if spawn_rate > 0 else users
        step = per_user_rate * max(now, 1)
        if step >= remaining:
            return elapsed + remaining / step
        remaining -= step
        elapsed += 1.0
    return None


class ProgressReporter:
    """`phase` names the line; `records` (a callable) counts what the phase
    has done; with `total` (a callable) the line also says how many are left
    and estimates the time they take."""

    def __init__(self, environment, phase, records_label, records, total=None):
        self.environment = environment
        self.phase = phase
        self.records_label = records_label
        self.records = records
        self.total = total
        self.samples = collections.deque()  # (monotonic time, records, users)
        self.started = None
        self.greenlet = None
        self.redraw = sys.stderr.isatty()
        self.showing = False  # a redrawn line is on screen, without its newline
        environment.events.test_start.add_listener(self.start)
        environment.events.test_stop.add_listener(self.stop)

    def start(self, **_):
        if isinstance(self.environment.runner, WorkerRunner) or self.greenlet is not None:
            return
        self.started = time.monotonic()
        self.samples.append((self.started, 0, 0))
        if self.redraw:
            for handler in logging.getLogger().handlers:
                handler.addFilter(self.end_line)
        self.greenlet = gevent.spawn(self.run)

    def stop(self, **_):
        if self.greenlet is None:
            return
        self.greenlet.kill(block=True)
        self.greenlet = None
        self.report()  # the final figures
        if self.redraw:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self.end_line)
            self.end_line(None)

    def run(self):
        interval = self.environment.parsed_options.progress_interval
        while True:
            gevent.sleep(interval)
            self.report()

    def line(self):
        options = self.environment.parsed_options
        runner = self.environment.runner
        stats = self.environment.stats.total
        now = time.monotonic()
        elapsed = now - self.started
        planned = f"of {clock(options.run_time)}" if options.run_time else "no time limit"
        if self.total is not None and options.run_time:
            planned = f"(limit {clock(options.run_time)})"
        done = self.records()
        users = runner.user_count
        parts = [f"{clock(elapsed)} {planned}", f"users {users}/{options.num_users}"]
        if self.total is None:
            parts.append(f"{self.records_label} {done}")
        else:
            total = self.total()
            share = f" ({done * 100 // total} %)" if total else ""
            parts.append(f"{self.records_label} {done} of {total}{share}")
        parts += [f"{stats.current_rps:.1f} req/s", f"failures {stats.num_failures}"]
        if self.total is not None:
            parts.append(self.time_left(now, done, users))
        return f"progress {self.phase}: " + ", ".join(parts)

    def time_left(self, now, done, users):
        self.samples.append((now, done, users))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.popleft()
        remaining = self.total() - done
        if remaining <= 0:
            return "0:00 left"
        first_time, first_done, _ = self.samples[0]
        if now - first_time <= 0:
            return "time left: measuring"
        mean_users = sum(sample[2] for sample in self.samples) / len(self.samples)
        rate = (done - first_done) / (now - first_time)
        options = self.environment.parsed_options
        left = estimate_left(remaining, rate / max(mean_users, 1), users, options.num_users, options.spawn_rate)
        return "time left: measuring" if left is None else f"about {clock(left)} left"

    def end_line(self, _record):
        """A log filter under a terminal: any other log line starts below the redrawn one."""
        if self.showing:
            sys.stderr.write("\n")
            self.showing = False
        return True

    def report(self):
        text = self.line()
        if self.redraw:
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()
            self.showing = True
        else:
            log.info(text)
