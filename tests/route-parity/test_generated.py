"""A generated corpus: bodies drawn from the contract's record schema by hypothesis-jsonschema,
valid and mutated, each sent to both routes; status, error code and problems must match.

Derandomized, so every run sends the same bodies: a disagreement it finds is found again by the
next run, and a green run is not luck."""
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conftest import CONTRACTS
from test_parity import assert_same, both, post_per_route

RECORD_SCHEMA = json.loads((CONTRACTS / "metric-record.schema.json").read_text())
FIELDS = sorted(RECORD_SCHEMA["properties"])
CORPUS = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

RECORDS = from_schema(RECORD_SCHEMA)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def mutated(record, draw):
    """One change a client could make by mistake or on purpose."""
    record = dict(record)
    kind = draw(st.sampled_from(["drop", "replace", "extra", "hora"]))
    field = draw(st.sampled_from(FIELDS))
    if kind == "drop":
        record.pop(field, None)
    elif kind == "replace":
        record[field] = draw(JSON_VALUES)
    elif kind == "extra":
        record[draw(st.text(min_size=1, max_size=12))] = draw(JSON_VALUES)
    else:
        record["hora"] = draw(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"))
    return record


@st.composite
def bodies(draw):
    """(the body as JSON text, whether it was mutated)."""
    records = draw(st.lists(RECORDS, min_size=1, max_size=4))
    mutate = draw(st.booleans())
    if mutate:
        index = draw(st.integers(0, len(records) - 1))
        records[index] = mutated(records[index], draw)
    body = records[0] if len(records) == 1 and draw(st.booleans()) else records
    return json.dumps(body), mutate


@CORPUS
@given(body=bodies())
def test_generated_bodies_get_the_same_answer(routes, body):
    text, was_mutated = body
    status, answer = assert_same(both(routes, post_per_route(text)))
    if not was_mutated:
        # The schema's pattern lets through days no calendar has (1000-11-31): those alone may fail.
        assert status == 201 or {problem["field"].rsplit("/", 1)[-1] for problem in answer["problems"]} == {"hora"}, text


@CORPUS
@given(body=bodies(), cut=st.integers(min_value=0), noise=st.sampled_from(['"', "[", "}", ",", "\\", "1e999", "\x00"]))
def test_damaged_text_gets_the_same_answer(routes, body, cut, noise):
    text, _ = body
    position = cut % (len(text) + 1)
    damaged = text[:position] + noise + text[position + random.Random(cut).randint(0, 3):]
    assert_same(both(routes, post_per_route(damaged)))
