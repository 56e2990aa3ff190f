"""Both phases in Locust's distributed mode: a master and two local workers,
real Locust processes against the recording server (conftest.py).

The count of a collect run is checked against the ramp arithmetic of
locust/README.md ("How many records does collect give?"), the same bounds for
one process and for a master with two workers: what matters here is that a
distributed run gives what one process gives. Losing one worker's records
would give about half the count, keeping them twice about double; the bounds
are far from both and wide enough for a loaded machine.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

LOCUST_DIR = pathlib.Path(__file__).resolve().parents[1]
LOCUST = str(pathlib.Path(sys.executable).parent / "locust")
WAIT = 1.5  # the mean of collect's between(1, 2)


def ramp_formula(users, rate, seconds):
    """Answers of a collect run: the area under the user ramp (users arrive
    at `rate` per second up to `users`), divided by the mean wait."""
    ramp = users / rate
    if seconds <= ramp:
        area = rate * seconds ** 2 / 2
    else:
        area = users * ramp / 2 + users * (seconds - ramp)
    return area / WAIT


def formula_bounds(users, rate, seconds):
    """The formula's tolerance. Above: each user sends its first request
    before it waits (about half a request per user more than the area), plus
    10 %. Below: 25 %, for start-up and scheduling delays on a busy machine
    (a second of delay costs users / 1.5 records)."""
    expected = ramp_formula(users, rate, seconds)
    return 0.75 * expected, 1.10 * expected + users


def free_port():
    """A free port among 18600-18699 (the range this project's tests use)."""
    for port in range(18600, 18700):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18600-18699")


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


def wait_exit(process, timeout, what):
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"waited {timeout} s for {what} to exit") from None


def phase_env(recorder, tmp_path, **extra):
    return dict(os.environ, RUN_DIR=str(tmp_path), RECORDS_FILE=str(tmp_path / "records.json"),
                AGENT_URL=recorder.url, INGRESS_URL=recorder.url, LOCUST_STATS_DIR=str(tmp_path / "stats"),
                LOCUST_MASTER_PORT=str(free_port()), **extra)


def run_phase(phase, env, timeout=90):
    return subprocess.run(["./run-phase.sh", phase], cwd=LOCUST_DIR, env=env, capture_output=True, text=True,
                          timeout=timeout)


def read_records(path):
    records = json.loads(path.read_text())
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "an id is in the records file twice"
    assert all(uuid.UUID(record_id).version == 4 for record_id in ids)
    return records


def assert_every_worker_delivered(summary, workers, records):
    """The master's account: each worker said how many records it sent, and
    all of them arrived, each kept once."""
    assert len(summary["workers"]) == workers, summary
    assert summary["incomplete_workers"] == [], summary
    for account in summary["workers"].values():
        assert account["sent"] == account["received"], summary
    assert sum(account["received"] for account in summary["workers"].values()) == len(records), summary
    assert summary["records"] == len(records) and summary["duplicates"] == 0, summary


USERS, RATE, SECONDS = 20, 4, 10


def collect_and_check_the_count(recorder, tmp_path, phase):
    env = phase_env(recorder, tmp_path, LOCUST_WORKERS="2", COLLECT_USERS=str(USERS), COLLECT_RATE=str(RATE),
                    COLLECT_TIME=f"{SECONDS}s", REPLAY_USERS="40", REPLAY_RATE="40")
    result = run_phase(phase, env)
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_records(tmp_path / "records.json")
    low, high = formula_bounds(USERS, RATE, SECONDS)
    assert low <= len(records) <= high, (f"{len(records)} records, the formula gives "
                                         f"{ramp_formula(USERS, RATE, SECONDS):.0f} ({low:.0f} to {high:.0f})")
    # Every record is an answer of the agent; an answer in flight when the users stop is lost.
    assert 0 <= recorder.served - len(records) <= USERS
    return env, records, json.loads((tmp_path / "collect-summary.json").read_text())


def test_single_process_collect_count_follows_the_ramp_formula(recorder, tmp_path):
    _, records, summary = collect_and_check_the_count(recorder, tmp_path, "collect")
    assert summary["records"] == len(records) and "workers" not in summary


def test_two_worker_collect_gives_the_same_count_each_id_once_and_its_replay_stores_each_record_once(
        recorder, tmp_path):
    env, records, summary = collect_and_check_the_count(recorder, tmp_path, "collect-distributed")
    assert_every_worker_delivered(summary, 2, records)
    # Each worker collected its share: the master spread the users over both.
    assert all(account["sent"] > 0 for account in summary["workers"].values()), summary
    for worker in (1, 2):
        assert "worker sent" in (tmp_path / "stats" / f"collect-worker-{worker}.log").read_text()

    replayed = run_phase("replay-distributed", env)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert set(recorder.accepted) == {record["id"] for record in records}
    assert set(recorder.accepted.values()) == {1}, "a record was stored twice"
    replay = json.loads((tmp_path / "replay-summary.json").read_text())
    assert (replay["workers"], replay["delivered"], replay["complete"]) == (2, len(records), True)


@pytest.mark.parametrize("last", ["master", "worker"])
def test_distributed_collect_keeps_the_records_of_a_worker_that_quits_early_and_of_the_end(recorder, tmp_path, last):
    """Worker 1 is SIGTERMed mid-run; then the master (it collects the rest
    from worker 2), or worker 2, the last one (its records must reach the
    master before its quit message makes the master stop)."""
    records_file = tmp_path / "records.json"
    summary_file = tmp_path / "collect-summary.json"
    port = str(free_port())
    # No batch before the end (the master's interval, handed to the workers with the run): every
    # record reaches the master through a flush, at worker 1's quit or at the master's.
    env = dict(os.environ, LOCUST_SAVE_INTERVAL="30")
    master = subprocess.Popen(
        [LOCUST, "-f", "collect.py", "--headless", "--only-summary", "--host", recorder.url,
         "--records-file", str(records_file), "--summary-file", str(summary_file),
         "-u", "10", "-r", "10", "-t", "60s", "--master", "--master-bind-host", "127.0.0.1",
         "--master-bind-port", port, "--expect-workers", "2", "--expect-workers-max-wait", "30"],
        cwd=LOCUST_DIR, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "master.log", "w"))
    workers = [subprocess.Popen([LOCUST, "-f", "collect.py", "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", port],
                                cwd=LOCUST_DIR, env=env, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / f"worker-{index}.log", "w"))
               for index in (1, 2)]
    try:
        wait_for(lambda: recorder.served >= 15, 40, "the workers to collect 15 records")
        workers[0].send_signal(signal.SIGTERM)
        assert wait_exit(workers[0], 20, "worker 1 after SIGTERM") == 0
        log = (tmp_path / "worker-1.log").read_text()
        assert "worker stops collecting (this worker quits)" in log
        sent_by_first = int(log.rsplit("worker sent ", 1)[1].split()[0])

        before = recorder.served
        wait_for(lambda: recorder.served >= before + 10, 20, "10 more records, from the remaining worker")
        if last == "master":
            master.send_signal(signal.SIGTERM)
            assert wait_exit(master, 30, "the master after SIGTERM") == 0
            assert wait_exit(workers[1], 20, "worker 2 after the master quit") == 0
        else:
            workers[1].send_signal(signal.SIGTERM)
            assert wait_exit(workers[1], 20, "worker 2 after SIGTERM") == 0
            assert wait_exit(master, 30, "the master after its last worker quit") == 0
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()

    records = read_records(records_file)
    summary = json.loads(summary_file.read_text())
    assert_every_worker_delivered(summary, 2, records)
    assert sent_by_first > 0 and sent_by_first in [account["sent"] for account in summary["workers"].values()]
    dropped = sum(account["dropped_after_stop"] for account in summary["workers"].values())
    # Every answer is a record, but those that came after a worker stopped collecting
    # and, at most one per user, those still in flight when the users were stopped.
    assert 0 <= recorder.served - len(records) - dropped <= 2 * 10


def test_distributed_collect_with_workers_started_apart_honours_the_cap_exactly(recorder, tmp_path):
    # The master alone (LOCUST_WORKERS=0) and two workers started as on other machines.
    env = phase_env(recorder, tmp_path, LOCUST_WORKERS="0", LOCUST_EXPECT_WORKERS="2", COLLECT_USERS="10",
                    COLLECT_RATE="10", COLLECT_TIME="60s", COLLECT_MAX_RECORDS="30")
    worker_env = dict(os.environ, LOCUST_MASTER_HOST="127.0.0.1", LOCUST_MASTER_PORT=env["LOCUST_MASTER_PORT"])
    workers = [subprocess.Popen(["./run-phase.sh", "worker", "collect"], cwd=LOCUST_DIR, env=worker_env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker-{index}.log", "w"))
               for index in (1, 2)]
    try:
        started = time.monotonic()
        result = run_phase("collect-distributed", env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert time.monotonic() - started < 45, "the cap did not stop the run"
        for index, worker in enumerate(workers, 1):
            assert wait_exit(worker, 20, f"worker {index} after the master quit") == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    records = read_records(tmp_path / "records.json")
    assert len(records) == 30
    summary = json.loads((tmp_path / "collect-summary.json").read_text())
    assert len(summary["workers"]) == 2 and summary["incomplete_workers"] == [], summary
    assert summary["records"] == 30 and summary["duplicates"] == 0, summary
    received = sum(account["received"] for account in summary["workers"].values())
    assert received == 30 + summary["over_cap"], summary
