"""collect.py and replay.py, run as real Locust processes."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid

from conftest import EXAMPLE_RECORD

LOCUST_DIR = pathlib.Path(__file__).resolve().parents[1]
LOCUST = str(pathlib.Path(sys.executable).parent / "locust")


def run_locust(args, timeout=60):
    return subprocess.run([LOCUST, *args], cwd=LOCUST_DIR, capture_output=True, text=True, timeout=timeout)


def collect_args(recorder, records_file, *extra):
    return ["-f", "collect.py", "--headless", "--only-summary", "--host", recorder.url,
            "--records-file", str(records_file), *extra]


def test_collect_stamps_unique_ids_and_honours_the_cap(recorder, tmp_path):
    records_file = tmp_path / "records.json"
    started = time.monotonic()
    result = run_locust(collect_args(recorder, records_file, "-u", "10", "-r", "10", "-t", "60s",
                                     "--max-records", "15"))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 45, "the cap did not stop the run"
    records = json.loads(records_file.read_text())
    assert len(records) == 15
    ids = [record["id"] for record in records]
    assert len(set(ids)) == 15
    assert all(uuid.UUID(record_id).version == 4 for record_id in ids)
    for record in records:
        assert {key: value for key, value in record.items() if key != "id"} == dict(EXAMPLE_RECORD, fuente="recorder")


def test_records_file_stays_a_valid_array_while_running_and_after_sigkill(recorder, tmp_path):
    records_file = tmp_path / "records.json"
    process = subprocess.Popen(
        [LOCUST, *collect_args(recorder, records_file, "-u", "30", "-r", "30", "-t", "60s",
                               "--save-interval", "0.05")],
        cwd=LOCUST_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        reads, largest = 0, 0
        deadline = time.monotonic() + 40
        while largest < 40 and time.monotonic() < deadline:
            if records_file.exists():
                records = json.loads(records_file.read_text())  # a torn write would raise here
                assert isinstance(records, list)
                largest = max(largest, len(records))
                reads += 1
            time.sleep(0.01)
        assert largest >= 40, "collect saved too few records in 40 s"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    records = json.loads(records_file.read_text())
    assert len(records) >= largest
    assert len({record["id"] for record in records}) == len(records)
    assert reads > 10


def test_collect_fails_when_the_agent_gives_nothing(recorder, tmp_path):
    recorder.agent_down = True
    records_file = tmp_path / "records.json"
    result = run_locust(collect_args(recorder, records_file, "-u", "5", "-r", "5", "-t", "3s"))
    assert result.returncode == 1
    assert json.loads(records_file.read_text()) == []


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_distributed_replay_sends_every_record_exactly_once(recorder, tmp_path):
    records = [dict(EXAMPLE_RECORD, id=str(uuid.uuid4())) for _ in range(40)]
    records_file = tmp_path / "records.json"
    records_file.write_text(json.dumps(records))
    recorder.fail_first_attempt_every = 7  # 5 of the 40 get a 503 first: they must be retried
    env = dict(os.environ, RUN_DIR=str(tmp_path), RECORDS_FILE=str(records_file), LOCUST_WORKERS="2",
               REPLAY_USERS="40", REPLAY_RATE="40", INGRESS_URL=recorder.url,
               LOCUST_MASTER_PORT=str(free_port()), LOCUST_STATS_DIR=str(tmp_path / "stats"))
    result = subprocess.run(["./run-phase.sh", "replay-distributed"], cwd=LOCUST_DIR, env=env,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]

    ids = {record["id"] for record in records}
    assert set(recorder.accepted) == ids
    assert set(recorder.accepted.values()) == {1}, "a record was stored twice"
    failed_first = 40 // 7
    assert sum(recorder.posts.values()) == 40 + failed_first
    assert sorted(recorder.posts.values()).count(2) == failed_first

    summary = json.loads((tmp_path / "replay-summary.json").read_text())
    assert summary["workers"] == 2
    assert (summary["records"], summary["given"], summary["delivered"], summary["stored"]) == (40, 40, 40, 40)
    assert summary["retries"] == failed_first and summary["complete"] is True
    for worker in (1, 2):
        assert "worker got 20 records" in (tmp_path / "stats" / f"replay-worker-{worker}.log").read_text()

    routes = summary["routes"]  # named after X-Route: the recorder alternates python and node
    assert set(routes) == {"python", "node"}
    assert routes["python"]["requests"] + routes["node"]["requests"] == 40 + failed_first
    assert routes["python"]["failures"] + routes["node"]["failures"] == failed_first


def test_replay_retries_a_connection_closed_without_an_answer(recorder, tmp_path):
    # What a route pod deleted mid-request looks like to the client: no status and no headers.
    records = [dict(EXAMPLE_RECORD, id=str(uuid.uuid4())) for _ in range(10)]
    records_file = tmp_path / "records.json"
    records_file.write_text(json.dumps(records))
    recorder.drop_first_attempt = True
    env = dict(os.environ, RUN_DIR=str(tmp_path), RECORDS_FILE=str(records_file), REPLAY_USERS="5",
               REPLAY_RATE="5", INGRESS_URL=recorder.url, LOCUST_STATS_DIR=str(tmp_path / "stats"),
               LOCUST_BACKOFF_CAP="0.2")
    result = subprocess.run(["./run-phase.sh", "replay"], cwd=LOCUST_DIR, env=env, capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(recorder.accepted) == {r["id"] for r in records}
    assert set(recorder.accepted.values()) == {1}
    summary = json.loads((tmp_path / "replay-summary.json").read_text())
    assert (summary["delivered"], summary["retries"], summary["complete"]) == (10, 10, True)


def test_replay_refuses_a_missing_or_broken_records_file(recorder, tmp_path):
    base = ["-f", "replay.py", "--headless", "--host", recorder.url, "-u", "1", "-r", "1"]
    missing = run_locust([*base, "--records-file", str(tmp_path / "none.json")])
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "x"}, ')
    result = run_locust([*base, "--records-file", str(broken)])
    assert result.returncode != 0 and "not valid JSON" in result.stderr
    assert not recorder.posts


def test_replay_sends_the_token_and_refuses_to_run_without_one(recorder, tmp_path):
    records = [dict(EXAMPLE_RECORD, id=str(uuid.uuid4())) for _ in range(5)]
    records_file = tmp_path / "records.json"
    records_file.write_text(json.dumps(records))
    env = dict(os.environ, RUN_DIR=str(tmp_path), RECORDS_FILE=str(records_file), REPLAY_USERS="5",
               REPLAY_RATE="5", INGRESS_URL=recorder.url, LOCUST_STATS_DIR=str(tmp_path / "stats"))
    sent = subprocess.run(["./run-phase.sh", "replay"], cwd=LOCUST_DIR, env=env, capture_output=True, text=True,
                          timeout=90)
    assert sent.returncode == 0, sent.stderr[-3000:]
    assert set(recorder.accepted) == {r["id"] for r in records} and recorder.unauthorized == 0
    del env["INGEST_TOKEN"]
    refused = subprocess.run(["./run-phase.sh", "replay"], cwd=LOCUST_DIR, env=env, capture_output=True,
                             text=True, timeout=90)
    assert refused.returncode != 0
    assert "INGEST_TOKEN is not set" in refused.stdout + refused.stderr
    assert recorder.unauthorized == 0, "a record was sent without the token"
