"""The running service over HTTP, against its private MariaDB."""
import json
import os
import re
import subprocess
import sys
import threading
import uuid

import httpx
import pytest

from conftest import CONTRACTS, SERVICE_DIR, Client, example

EXPECTED = json.loads((CONTRACTS / "examples/invalid-expected.json").read_text())
VALID = sorted(p.name for p in (CONTRACTS / "examples/valid").glob("*.json"))
MIB = 1024 * 1024


def fresh_record(**fields):
    return dict(example("valid/with-id.json"), id=str(uuid.uuid4()), **fields)


def stored_ids(database, ids):
    quoted = ",".join(f"'{i}'" for i in ids)
    return database.count(f"record_id IN ({quoted})")


@pytest.mark.parametrize("name", VALID)
def test_valid_example_is_stored_once(client, database, name):
    body = example(f"valid/{name}")
    records = body if isinstance(body, list) else [body]
    ids = [r["id"] for r in records if "id" in r]
    if ids:
        database.admin_sql(f"DELETE FROM metric_records WHERE record_id IN ({','.join(repr(i) for i in ids)});")
    first = client.post_json(body)
    assert first.status_code == 201, first.text
    assert first.json() == {"stored": len(records), "duplicates": 0, "route": "python"}
    again = client.post_json(body)
    assert again.status_code == 201
    # Only an id makes a record recognisable; one without is stored again.
    assert again.json() == {"stored": len(records) - len(ids), "duplicates": len(ids), "route": "python"}
    if ids:
        assert stored_ids(database, ids) == len(ids)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_example_gets_its_exact_problems_and_stores_nothing(client, database, name):
    before = database.count()
    response = client.post("/api/metrics", content=(CONTRACTS / f"examples/invalid/{name}").read_bytes(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_record" and body["message"]
    assert body["problems"] == EXPECTED[name]
    assert database.count() == before


def test_a_batch_with_one_bad_record_stores_nothing(client, database):
    good = [fresh_record() for _ in range(5)]
    bad = dict(fresh_record(), procesos_zombie=-1)
    response = client.post_json(good[:2] + [bad] + good[2:])
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": "/2/procesos_zombie", "problem": "minimum"}]
    assert stored_ids(database, [r["id"] for r in good + [bad]]) == 0


def test_a_real_looking_but_impossible_date_is_refused_and_stores_nothing(client, database):
    good = fresh_record()
    impossible = fresh_record(hora="2025-02-30 10:00:00")
    response = client.post_json([good, impossible])
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": "/1/hora", "problem": "pattern"}]
    assert stored_ids(database, [good["id"], impossible["id"]]) == 0


def test_an_id_already_stored_in_other_case_is_a_duplicate(client, database):
    record = fresh_record()
    assert client.post_json(record).json()["stored"] == 1
    upper = dict(record, id=record["id"].upper())
    assert client.post_json(upper).json() == {"stored": 0, "duplicates": 1, "route": "python"}
    assert stored_ids(database, [record["id"]]) == 1


def test_one_id_twice_in_one_array_is_stored_once(client, database):
    record = fresh_record()
    other = fresh_record()
    response = client.post_json([record, other, dict(record, id=record["id"].upper())])
    assert response.json() == {"stored": 2, "duplicates": 1, "route": "python"}
    assert stored_ids(database, [record["id"], other["id"]]) == 2


def test_a_batch_mixing_new_and_known_ids_stores_the_new_ones(client, database):
    known = fresh_record()
    client.post_json(known)
    new = [fresh_record() for _ in range(3)]
    response = client.post_json([new[0], known, new[1], new[2]])
    assert response.json() == {"stored": 3, "duplicates": 1, "route": "python"}
    assert stored_ids(database, [r["id"] for r in new + [known]]) == 4


def test_records_without_id_are_always_stored(client, database):
    hora = "1999-01-02 03:04:05"
    database.admin_sql(f"DELETE FROM metric_records WHERE hora = '{hora}';")
    record = {k: v for k, v in fresh_record(hora=hora).items() if k != "id"}
    for _ in range(2):
        assert client.post_json(record).json() == {"stored": 1, "duplicates": 0, "route": "python"}
    assert database.count(f"hora = '{hora}' AND record_id IS NULL") == 2


def test_concurrent_posts_of_one_id_store_exactly_one_row(service, database):
    record = fresh_record()
    answers = []
    start = threading.Barrier(16)

    def post():
        with Client(base_url=service.url, timeout=10) as http:
            start.wait()
            answers.append(http.post("/api/metrics", json=record))

    threads = [threading.Thread(target=post) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 16
    assert sum(a.json()["stored"] for a in answers) == 1
    assert sum(a.json()["duplicates"] for a in answers) == 15
    assert stored_ids(database, [record["id"]]) == 1


def test_values_are_stored_as_the_columns_want_them(client, database):
    record = fresh_record(porcentaje_ram=73.845, porcentaje_cpu_uso=0.004, porcentaje_cpu_libre=99.996,
                          total_ram=2072.0, ram_libre=9007199254740991)
    assert client.post_json(record).status_code == 201
    (row,) = database.sql(f"SELECT route, total_ram, ram_libre, CAST(porcentaje_ram AS CHAR),"
                          f" CAST(porcentaje_cpu_uso AS CHAR), CAST(porcentaje_cpu_libre AS CHAR),"
                          f" CAST(hora AS CHAR) FROM metric_records WHERE record_id = '{record['id']}'")
    assert row == ("python", 2072, 9007199254740991, "73.85", "0.00", "100.00", "2025-10-17 02:21:54")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "application/problem+json"])
def test_not_json_media_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/metrics", content=json.dumps(fresh_record()), headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_media_type_parameters_and_case_are_ignored(client):
    response = client.post("/api/metrics", content=json.dumps(fresh_record()),
                           headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 201


def padded(record, size):
    text = json.dumps(record)
    return (text + " " * (size - len(text))).encode()


def test_a_body_of_exactly_1_mib_is_accepted(client):
    response = client.post("/api/metrics", content=padded(fresh_record(), MIB),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201


def test_a_body_over_1_mib_is_413(client, database):
    record = fresh_record()
    response = client.post("/api/metrics", content=padded(record, MIB + 1),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert stored_ids(database, [record["id"]]) == 0


def test_a_chunked_body_over_1_mib_without_length_is_413(client):
    def chunks():
        for _ in range(17):
            yield b" " * 65536
    response = client.post("/api/metrics", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_checks_come_in_the_contract_order(client):
    oversize_text = client.post("/api/metrics", content=b"x" * (MIB + 1), headers={"Content-Type": "text/plain"})
    assert oversize_text.status_code == 415
    oversize_garbage = client.post("/api/metrics", content=b"{" * (MIB + 1),
                                   headers={"Content-Type": "application/json"})
    assert oversize_garbage.status_code == 413


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b"{'a': 1}", b"[1,]", b"NaN", b'{"total_ram": NaN}',
                                 b"Infinity", b"\xff\xfe", b"{} {}", b"nul"])
def test_malformed_json_is_400(client, raw):
    response = client.post("/api/metrics", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_unknown_path_and_method_get_the_error_shape(client):
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = client.get("/api/metrics")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()) == {"error", "message"}


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "up"}


def scrape(client):
    text = client.get("/metrics").text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return text, values


def test_metrics_count_records_and_time_requests(client):
    _, before = scrape(client)
    client.post_json([fresh_record(), fresh_record()])
    known = fresh_record()
    client.post_json(known)
    client.post_json(known)
    client.post_json([{}, {}, {}])
    client.post("/api/metrics", content=b"{", headers={"Content-Type": "application/json"})
    text, after = scrape(client)

    def delta(outcome):
        key = f'ingest_records_total{{outcome="{outcome}",route="python"}}'
        return after[key] - before.get(key, 0)

    assert (delta("stored"), delta("duplicate"), delta("rejected")) == (3, 1, 4)
    assert "# TYPE ingest_http_request_duration_seconds histogram" in text
    buckets = re.findall(r'ingest_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",'
                         r'path="/api/metrics",route="python",status="201"\}', text)
    assert buckets == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0",
                       "2.5", "5.0", "+Inf"]
    assert 'path="/api/metrics",route="python",status="422"' in text


def test_logs_are_json_and_hold_no_record_contents(client, service):
    record = fresh_record(hora="2031-07-08 09:10:11")
    client.post_json(record)
    client.post_json(dict(record, total_ram=-1))
    lines = service.log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert any(e.get("path") == "/api/metrics" and e.get("status") == 201 for e in entries)
    assert not any(record["id"] in line or "2031-07-08" in line for line in lines)


def test_metric_labels_stay_a_closed_set(client):
    for index in range(3):
        assert client.request("PURGE", f"/coffee/{index}").status_code in (404, 405)
    text, _ = scrape(client)
    assert 'method="other",path="unmatched"' in text
    assert "PURGE" not in text and "/coffee" not in text


def test_a_body_beyond_the_json_limits_is_refused_and_counted_before_parsing(client, database):
    """The parity suite checks the limits on both routes; here, that nothing is stored and
    the refusal is counted as the contract's 400s are."""
    rejected = 'ingest_records_total{outcome="rejected",route="python"}'
    before = scrape(client)[1].get(rejected, 0)
    record = fresh_record()
    deep = json.dumps(record)[:-1] + ', "extra": ' + "[" * 200_000 + "]" * 200_000 + "}"
    answer = client.post("/api/metrics", content=deep, headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]) == (400, "nesting_too_deep")
    long_number = json.dumps(record)[:-1] + ', "extra": ' + "7" * 5000 + "}"
    answer = client.post("/api/metrics", content=long_number, headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]) == (400, "number_too_long")
    assert stored_ids(database, [record["id"]]) == 0
    assert scrape(client)[1][rejected] == before + 2


# (No trailing spaces: HTTP strips them from a header's value before any route sees it.)
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer wrong",
                                           "Bearer  {token}", "Bearer {token}x", "{token}"])
def test_a_write_without_the_token_is_401_and_stores_nothing(service, database, authorization):
    record = fresh_record()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=os.environ["INGEST_TOKEN"])
    with httpx.Client(base_url=service.url, timeout=10) as anonymous:
        before = scrape(anonymous)[1].get('ingest_unauthorized_requests_total{route="python"}', 0)
        refused = anonymous.post("/api/metrics", content=json.dumps(record), headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
        assert refused.headers["www-authenticate"] == "Bearer"
        assert scrape(anonymous)[1]['ingest_unauthorized_requests_total{route="python"}'] == before + 1
        # Health, readiness and metrics stay open.
        assert [anonymous.get(path).status_code for path in ("/healthz", "/readyz", "/metrics")] == [200] * 3
    assert stored_ids(database, [record["id"]]) == 0


def test_the_scheme_is_case_insensitive(service, database):
    record = fresh_record()
    with httpx.Client(base_url=service.url, timeout=10) as plain:
        stored = plain.post("/api/metrics", content=json.dumps(record), headers={
            "Content-Type": "application/json", "Authorization": f"bEARER {os.environ['INGEST_TOKEN']}"})
    assert stored.status_code == 201, stored.text
    assert stored_ids(database, [record["id"]]) == 1


def test_the_service_refuses_to_start_without_a_token():
    env = {key: value for key, value in os.environ.items() if key != "INGEST_TOKEN"}
    started = subprocess.run([sys.executable, "-m", "route1"], cwd=SERVICE_DIR, env=env, capture_output=True,
                             text=True, timeout=30)
    assert started.returncode != 0
    assert "INGEST_TOKEN is not set" in started.stderr
