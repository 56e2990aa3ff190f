"""Progress lines of both phases: every PROGRESS_INTERVAL seconds, with the
figures the issue asks for, as real Locust processes print them (plain log
lines: the output is not a terminal here, as in CI)."""

import datetime
import json
import os
import pathlib
import pty
import re
import select
import subprocess
import sys
import time
import uuid

import pytest

from conftest import EXAMPLE_RECORD

LOCUST_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LOCUST_DIR))
from progress import clock, estimate_left  # noqa: E402

LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] [^/]+/INFO/progress: (progress .*)$", re.M)
REPLAY = re.compile(r"^progress replay: (\d+:\d\d) \(limit 1:00:00\), users (\d+)/10, records delivered (\d+) of 40 "
                    r"\(\d+ %\), \d+\.\d req/s, failures (\d+), (about \d+:\d\d left|time left: measuring|0:00 left)$")
COLLECT = re.compile(r"^progress collect: (\d+:\d\d) of 0:07, users (\d+)/5, records collected (\d+), "
                     r"\d+\.\d req/s, failures 0$")
INTERVAL = 1.0
SLACK = 1.0  # a loaded machine's scheduling, per line
# The collects run several intervals longer than the three lines asked for: on a loaded machine
# Locust's start can take the first seconds of the run.


def progress_lines(stderr):
    return [(datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f"), text) for stamp, text in LINE.findall(stderr)]


def assert_regular(lines, what):
    assert len(lines) >= 3, f"{what}: only {len(lines)} progress lines"
    # The last line is the final one, printed at the stop: not on the interval.
    for (before, _), (after, text) in zip(lines, lines[1:-1]):
        gap = (after - before).total_seconds()
        assert gap <= INTERVAL + SLACK, f"{what}: {gap:.1f} s without a progress line before: {text}"


def run_phase(phase, tmp_path, **env):
    environment = {**os.environ, "RUN_DIR": str(tmp_path), "RECORDS_FILE": str(tmp_path / "records.json"),
                   "LOCUST_STATS_DIR": str(tmp_path / "stats"), "PROGRESS_INTERVAL": str(INTERVAL), **env}
    return subprocess.run(["./run-phase.sh", phase], cwd=LOCUST_DIR, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_replay_prints_elapsed_users_delivered_rate_failures_and_time_left(recorder, tmp_path):
    records = [dict(EXAMPLE_RECORD, id=str(uuid.uuid4())) for _ in range(40)]
    (tmp_path / "records.json").write_text(json.dumps(records))
    recorder.fail_first_attempt_every = 8  # some failures to count
    result = run_phase("replay", tmp_path, REPLAY_USERS="10", REPLAY_RATE="5", INGRESS_URL=recorder.url,
                       LOCUST_BACKOFF_CAP="0.5")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = progress_lines(result.stderr)
    assert_regular(lines, "replay")
    parsed = []
    for _, text in lines:
        match = REPLAY.match(text)
        assert match, f"not a replay progress line: {text}"
        parsed.append(match.groups())
    delivered = [int(p[2]) for p in parsed]
    assert delivered == sorted(delivered), delivered
    assert delivered[-1] == 40 and parsed[-1][4] == "0:00 left", parsed[-1]
    assert int(parsed[-1][3]) == 5, "the 503s answered to every 8th record's first attempt"
    assert any(p[4].startswith("about ") for p in parsed[:-1]), "never an estimate of the time left"
    assert max(int(p[1]) for p in parsed) == 10


def test_collect_prints_elapsed_of_planned_users_and_records(recorder, tmp_path):
    result = run_phase("collect", tmp_path, COLLECT_USERS="5", COLLECT_RATE="5", COLLECT_TIME="7s",
                       AGENT_URL=recorder.url)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = progress_lines(result.stderr)
    assert_regular(lines, "collect")
    counts = []
    for _, text in lines:
        match = COLLECT.match(text)
        assert match, f"not a collect progress line: {text}"
        counts.append(int(match.group(3)))
    assert counts == sorted(counts) and counts[-1] > 0, counts
    assert counts[-1] == len(json.loads((tmp_path / "records.json").read_text()))


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_progress_interval_that_is_not_positive_is_refused(recorder, tmp_path, value):
    result = run_phase("collect", tmp_path, COLLECT_USERS="1", COLLECT_TIME="2s", AGENT_URL=recorder.url,
                       PROGRESS_INTERVAL=value)
    assert result.returncode != 0
    assert f"--progress-interval (PROGRESS_INTERVAL) must be a positive number of seconds, got {float(value)}" \
        in result.stderr


def test_the_estimate_follows_the_ramp():
    assert estimate_left(0, 0.4, 10, 10, 1) == 0.0
    assert estimate_left(100, 0, 10, 10, 1) is None
    # Ten users doing 0.4 records/s each: 100 records in 25 s.
    assert estimate_left(100, 0.4, 10, 10, 1) == pytest.approx(25, abs=1)
    # Users arriving 1/s from 10 to 150 (the replay's ramp): faster than at 10 users.
    assert estimate_left(1000, 0.4, 10, 150, 1) < 100
    assert clock(65) == "1:05" and clock(3723) == "1:02:03"


def test_under_a_terminal_the_line_is_redrawn_in_place(recorder, tmp_path):
    controller, terminal = pty.openpty()
    environment = {**os.environ, "RUN_DIR": str(tmp_path), "LOCUST_STATS_DIR": str(tmp_path / "stats"),
                   "PROGRESS_INTERVAL": str(INTERVAL), "COLLECT_USERS": "3", "COLLECT_RATE": "3",
                   "COLLECT_TIME": "6s", "AGENT_URL": recorder.url}
    process = subprocess.Popen(["./run-phase.sh", "collect"], cwd=LOCUST_DIR, env=environment,
                               stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 60
    # Read until the process is gone and nothing is left to read.
    while True:
        assert time.monotonic() < deadline, "collect under a terminal did not end within 60 s"
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                output += os.read(controller, 65536)
                continue
            except OSError:  # the terminal's other end closed
                break
        if process.poll() is not None:
            break
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = output.decode()
    redraws = re.findall(r"\r\x1b\[Kprogress collect: \d+:\d\d of 0:06, ", text)
    assert len(redraws) >= 3, text[-2000:]
    assert not LINE.search(text), "a plain progress log line under a terminal"
    # Other log lines start on a line of their own, not after the redrawn one.
    assert not re.search(r"failures \d+\[\d{4}-", text), text[-2000:]
