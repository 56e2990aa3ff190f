"""The same requests to both routes: identical status, `error` code and
`problems`, 201 bodies equal but for `route`, and X-Route naming the route.

The routes share one database, so a request that stores records is sent to
each route with ids of its own (same shape, same case), or the second route
would rightly answer with duplicates."""
import json
import os
import re
import uuid

import pytest
import yaml

from conftest import CONTRACTS

MIB = 1024 * 1024
JSON_LIMITS = yaml.safe_load((CONTRACTS / "ingest-api.yaml").read_text())["x-json-limits"]
MAX_DEPTH, MAX_NUMBER_LENGTH = JSON_LIMITS["maxDepth"], JSON_LIMITS["maxNumberLength"]
EXPECTED = json.loads((CONTRACTS / "examples/invalid-expected.json").read_text())
VALID = sorted(p.name for p in (CONTRACTS / "examples/valid").glob("*.json"))
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
JSON = {"Content-Type": "application/json"}


def example(name):
    return json.loads((CONTRACTS / "examples" / name).read_text())


def record(**fields):
    return dict(example("valid/with-id.json"), id=str(uuid.uuid4()), **fields)


def fresh_ids(text):
    """The same body with every UUID replaced, consistently and keeping its case."""
    mapping = {}

    def replace(match):
        key = match.group(0).lower()
        mapping.setdefault(key, str(uuid.uuid4()))
        new = mapping[key]
        return new.upper() if match.group(0).isupper() else new
    return UUID.sub(replace, text)


def outcome(route, response):
    """What must be identical across routes."""
    assert response.headers.get("x-route") == route, (route, response.status_code, response.headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 201:
        assert body["route"] == route
        return 201, {k: v for k, v in body.items() if k != "route"}
    if isinstance(body, dict) and "error" in body:
        assert isinstance(body.get("message"), str) and body["message"], body
        return response.status_code, {k: v for k, v in body.items() if k in ("error", "problems")}
    return response.status_code, body


def both(routes, make_request):
    """make_request(client) -> response, once per route; the two outcomes."""
    return {route: outcome(route, make_request(client)) for route, client in routes.items()}


def assert_same(answers):
    assert answers["python"] == answers["node"], answers
    return answers["python"]


def post_bytes(content, headers=JSON):
    return lambda client: client.post("/api/metrics", content=content, headers=headers)


def post_per_route(text, headers=JSON):
    """Each route gets the body with ids of its own."""
    return lambda client: client.post("/api/metrics", content=fresh_ids(text).encode(), headers=headers)


@pytest.mark.parametrize("name", VALID)
def test_valid_example(routes, name):
    status, body = assert_same(both(routes, post_per_route((CONTRACTS / f"examples/valid/{name}").read_text())))
    assert status == 201 and body["duplicates"] == 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_example(routes, name):
    raw = (CONTRACTS / f"examples/invalid/{name}").read_bytes()
    assert assert_same(both(routes, post_bytes(raw))) == (422, {"error": "invalid_record",
                                                               "problems": EXPECTED[name]})


MALFORMED = {
    "empty": b"", "blank": b"  \n", "truncated": b'{"total_ram": 1', "single-quotes": b"{'a': 1}",
    "trailing-comma": b"[1,]", "nan": b'{"total_ram": NaN}', "infinity": b"Infinity", "two-values": b"{} {}",
    "bare-word": b"nul", "invalid-utf8": b'{"hora": "\xff"}', "utf8-bom": b"\xef\xbb\xbf{}",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_json(routes, name):
    status, body = assert_same(both(routes, post_bytes(MALFORMED[name])))
    assert (status, body["error"]) == (400, "malformed_json")


ODD_VALUES = {
    "float-integer": ("total_ram", "2072.0"), "exponent-integer": ("procesos_zombie", "2e0"),
    "negative-fraction": ("uso_ram", "-0.5"), "huge-exponent": ("ram_libre", "1e400"),
    "huge-percent": ("porcentaje_ram", "1e400"), "beyond-2^53": ("ram_libre", "9007199254740993"),
    "negative-zero": ("procesos_parados", "-0"), "hora-final-newline": ("hora", '"2025-10-17 02:21:54\\n"'),
    "hora-not-a-date": ("hora", '"2025-02-30 10:00:00"'), "id-empty": ("id", '""'),
    "id-braced": ("id", '"{0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b}"'), "percent-many-decimals": ("porcentaje_cpu_uso", "22.005"),
}


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
def test_edge_values(routes, name):
    field, raw_value = ODD_VALUES[name]
    base = json.dumps(record(), separators=(",", ":"))
    text = re.sub(rf'"{field}":("[^"]*"|[^,}}]*)', f'"{field}":{raw_value}', base)
    assert text != base, text
    assert_same(both(routes, post_per_route(text)))


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonx", "application/problem+json",
                                          "multipart/form-data; boundary=x"])
def test_wrong_content_type(routes, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    status, body = assert_same(both(routes, post_per_route(json.dumps(record()), headers=headers)))
    assert (status, body["error"]) == (415, "unsupported_media_type")


def test_content_type_parameters_and_case(routes):
    status, _ = assert_same(both(routes, post_per_route(
        json.dumps(record()), headers={"Content-Type": "Application/JSON; charset=UTF-8"})))
    assert status == 201


def padded(text, size):
    return text + " " * (size - len(text))


def test_oversize_body(routes):
    status, body = assert_same(both(routes, lambda client: client.post(
        "/api/metrics", content=padded(fresh_ids(json.dumps(record())), MIB + 1).encode(), headers=JSON)))
    assert (status, body["error"]) == (413, "payload_too_large")


def test_exactly_1_mib(routes):
    status, _ = assert_same(both(routes, lambda client: client.post(
        "/api/metrics", content=padded(fresh_ids(json.dumps(record())), MIB).encode(), headers=JSON)))
    assert status == 201


def with_extra(raw_value):
    """A valid record whose extra field `extra` is the given JSON text."""
    return json.dumps(record())[:-1] + ', "extra": ' + raw_value + "}"


def test_nesting_up_to_the_limit_is_stored(routes):
    # The record is level 1, so its extra field may open MAX_DEPTH - 1 more.
    inner = MAX_DEPTH - 1
    assert assert_same(both(routes, post_per_route(with_extra("[" * inner + "]" * inner))))[0] == 201
    assert assert_same(both(routes, post_per_route(with_extra('"' + "[" * 1000 + '"'))))[0] == 201


@pytest.mark.parametrize("name,text", [
    ("one-level-too-deep", with_extra("[" * MAX_DEPTH + "]" * MAX_DEPTH)),
    ("objects-too-deep", with_extra('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH)),
    ("a-mib-of-brackets", "[" * MIB),
    ("balanced-400000", "[" * 400_000 + "]" * 400_000),
    ("malformed-after-the-depth", "[" * (MAX_DEPTH + 1) + "x"),
    ("deep-and-a-long-number", "[" * (MAX_DEPTH + 1) + "1" * (MAX_NUMBER_LENGTH + 1)),
])
def test_nesting_beyond_the_limit(routes, name, text):
    status, body = assert_same(both(routes, post_per_route(text)))
    assert (status, body["error"]) == (400, "nesting_too_deep")


def test_numbers_up_to_the_limit_are_stored(routes):
    for value in ("1" * MAX_NUMBER_LENGTH, "0." + "5" * (MAX_NUMBER_LENGTH - 2), '"' + "9" * 5000 + '"'):
        assert assert_same(both(routes, post_per_route(with_extra(value))))[0] == 201, value


@pytest.mark.parametrize("name,text", [
    ("one-digit-too-many", with_extra("1" * (MAX_NUMBER_LENGTH + 1))),
    ("integer-of-5000-digits", with_extra("7" * 5000)),
    ("long-exponent", with_extra("1e" + "0" * MAX_NUMBER_LENGTH)),
    ("malformed-number-run", "[" + "1-" * MAX_NUMBER_LENGTH + "]"),
    ("a-long-number-after-a-string", '["' + "1" * 100 + '"' + "," + "2" * (MAX_NUMBER_LENGTH + 1) + "]"),
])
def test_numbers_beyond_the_limit(routes, name, text):
    status, body = assert_same(both(routes, post_per_route(text)))
    assert (status, body["error"]) == (400, "number_too_long")


def test_escaped_quotes_do_not_end_a_string(routes):
    # Everything after the escaped quote is still inside the string: no nesting, no number.
    text = with_extra('"\\\"' + "[" * 100 + "1" * 100 + '"')
    assert assert_same(both(routes, post_per_route(text)))[0] == 201


@pytest.mark.parametrize("authorization", ["", "Bearer wrong", "Basic x", "bearer {token}x"])
def test_no_token_is_the_same_401_before_anything_else(routes, authorization):
    # Would be 415, or 413: the token comes first (a missing header: each route's own tests).
    headers = {"Content-Type": "text/plain", "Authorization": authorization.format(token=os.environ["INGEST_TOKEN"])}
    status, body = assert_same(both(routes, post_bytes(b"{" * (MIB + 1), headers)))
    assert (status, body["error"]) == (401, "unauthorized")


def test_order_of_checks(routes):
    assert assert_same(both(routes, post_bytes(b"x" * (MIB + 1), {"Content-Type": "text/plain"})))[0] == 415
    assert assert_same(both(routes, post_bytes(b"{" * (MIB + 1))))[0] == 413


def test_empty_array_and_too_many_records(routes):
    assert assert_same(both(routes, post_bytes(b"[]"))) == (422, {"error": "invalid_record",
                                                                "problems": [{"field": "", "problem": "minItems"}]})
    many = json.dumps([record() for _ in range(1001)]).encode()
    assert assert_same(both(routes, post_bytes(many)))[1]["problems"] == [{"field": "", "problem": "maxItems"}]


def test_problems_capped_and_in_byte_order(routes):
    status, body = assert_same(both(routes, post_bytes(json.dumps([{} for _ in range(20)] + [5]).encode())))
    assert status == 422 and len(body["problems"]) == 100


def test_batch_with_one_bad_record_stores_nothing(routes, database):
    sent = {}

    def post(client):
        records = [record() for _ in range(4)]
        records[2]["procesos_zombie"] = -1
        sent[client] = [r["id"] for r in records]
        return client.post("/api/metrics", json=records)

    assert assert_same(both(routes, post)) == (422, {"error": "invalid_record", "problems": [
        {"field": "/2/procesos_zombie", "problem": "minimum"}]})
    assert database.count_ids([i for ids in sent.values() for i in ids]) == 0


def test_duplicates_in_sequence(routes, database):
    def sequence(client):
        known, other = record(), record()
        answers = [client.post("/api/metrics", json=known),
                   client.post("/api/metrics", json=known),
                   client.post("/api/metrics", json=dict(known, id=known["id"].upper())),
                   client.post("/api/metrics", json=[other, known, dict(other, id=other["id"].upper())])]
        return answers

    results = {route: [outcome(route, r) for r in sequence(client)] for route, client in routes.items()}
    assert results["python"] == results["node"]
    assert [body for _, body in results["python"]] == [
        {"stored": 1, "duplicates": 0}, {"stored": 0, "duplicates": 1}, {"stored": 0, "duplicates": 1},
        {"stored": 1, "duplicates": 2}]


def test_a_record_stored_by_one_route_is_a_duplicate_for_the_other(routes, database):
    first = record()
    assert outcome("python", routes["python"].post("/api/metrics", json=first))[1]["stored"] == 1
    assert outcome("node", routes["node"].post("/api/metrics", json=first))[1] == {"stored": 0, "duplicates": 1}
    second = record()
    assert outcome("node", routes["node"].post("/api/metrics", json=second))[1]["stored"] == 1
    assert outcome("python", routes["python"].post("/api/metrics", json=second))[1] == {"stored": 0, "duplicates": 1}
    assert database.count_ids([first["id"], second["id"]]) == 2


def test_stored_rows_are_identical_but_for_the_route(routes, database):
    ids = {}
    for route, client in routes.items():
        sent = record(porcentaje_ram=73.845, porcentaje_cpu_uso=0.005, porcentaje_cpu_libre=99.995,
                      total_ram=2072.0, ram_libre=9007199254740991, extra={"nested": [1, 2]})
        assert client.post("/api/metrics", json=sent).status_code == 201
        ids[route] = sent["id"]
    rows = {route: database.sql(
        "SELECT total_ram, ram_libre, uso_ram, porcentaje_ram, porcentaje_cpu_uso, porcentaje_cpu_libre,"
        " procesos_corriendo, total_procesos, procesos_durmiendo, procesos_zombie, procesos_parados, hora, route"
        f" FROM metric_records WHERE record_id = '{record_id}';\n").strip().split("\t")
        for route, record_id in ids.items()}
    assert rows["python"][:-1] == rows["node"][:-1]
    assert (rows["python"][-1], rows["node"][-1]) == ("python", "node")


@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("POST", "/api/metrics/extra"), ("GET", "/api")])
def test_unknown_path(routes, method, path):
    status, body = assert_same(both(routes, lambda client: client.request(method, path)))
    assert (status, body["error"]) == (404, "not_found")


def test_health_and_readiness(routes):
    assert assert_same(both(routes, lambda client: client.get("/healthz"))) == (200, {"status": "ok"})
    assert assert_same(both(routes, lambda client: client.get("/readyz")))[0] == 200


def test_metrics_have_the_contract_names(routes):
    for route, client in routes.items():
        response = client.get("/metrics")
        assert response.headers.get("x-route") == route
        text = response.text
        assert "# TYPE ingest_http_request_duration_seconds histogram" in text
        assert re.search(rf'ingest_records_total\{{[^}}]*outcome="stored"[^}}]*\}}', text)
        assert f'route="{route}"' in text
        buckets = re.findall(r'ingest_http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"', text)
        assert {float(b) for b in buckets if b != "+Inf"} == {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5, 1, 2.5, 5}
