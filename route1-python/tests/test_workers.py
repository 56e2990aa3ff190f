"""WORKERS > 1: uvicorn processes share the port, and GET /metrics (answered
by any one of them) sums every worker's values (prometheus multiprocess mode)."""
import json
import uuid

import pytest

from conftest import Client, Service, example


@pytest.fixture(scope="module")
def two_workers(database):
    running = Service(extra_env={"WORKERS": "2"}, name="route1-workers")
    yield running
    running.stop()


def stored_total(http):
    for line in http.get("/metrics").text.splitlines():
        if line.startswith('ingest_records_total{outcome="stored",route="python"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_sum_over_workers(two_workers):
    for _ in range(40):
        # A new connection each time, so that both workers take requests.
        with Client(base_url=two_workers.url, timeout=10) as http:
            record = dict(example("valid/with-id.json"), id=str(uuid.uuid4()))
            assert http.post_json(record).status_code == 201
    for _ in range(6):
        with Client(base_url=two_workers.url, timeout=10) as http:
            assert stored_total(http) == 40


def test_both_workers_answered(two_workers):
    pids = {entry["pid"] for entry in map(json.loads, two_workers.log_path.read_text().splitlines())
            if entry.get("path") == "/api/metrics"}
    assert len(pids) == 2
