"""Every example agrees with the schemas, and every invalid example fails for
exactly the reasons listed in examples/invalid-expected.json, following the
validation rules of ingest-api.yaml. Both routes run the same files."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACTS = Path(__file__).resolve().parents[1]
RECORD_SCHEMA = json.loads((CONTRACTS / "metric-record.schema.json").read_text())
BODY_SCHEMA = json.loads((CONTRACTS / "ingest-body.schema.json").read_text())
EXPECTED = json.loads((CONTRACTS / "examples/invalid-expected.json").read_text())
VALID = sorted((CONTRACTS / "examples/valid").glob("*.json"))
INVALID = sorted((CONTRACTS / "examples/invalid").glob("*.json"))

# Registered without its "$schema" keyword: jsonschema switches to the stock
# validator class at a "$ref" into a resource that names its dialect, which would
# drop the ECMA-262 `pattern` below.
REGISTRY = Registry().with_resource(
    "https://so1-fase2.local/contracts/metric-record.schema.json",
    Resource(contents={k: v for k, v in RECORD_SCHEMA.items() if k != "$schema"},
             specification=DRAFT202012),
)


def ecma_pattern(validator, pattern, instance, schema):
    """`pattern` with ECMA-262 semantics, as JSON Schema defines it: a final `$`
    matches only at the end of the string (Python's `$` also matches before a
    final newline)."""
    if not validator.is_type(instance, "string"):
        return
    if pattern.endswith("$"):
        pattern = pattern[:-1] + r"\Z"
    if not re.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


ContractValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": ecma_pattern})
RECORD_VALIDATOR = ContractValidator(RECORD_SCHEMA)
BODY_VALIDATOR = ContractValidator(BODY_SCHEMA, registry=REGISTRY)


# At most one problem per field: the first of these that fails (ingest-api.yaml, rule 7).
KEYWORD_ORDER = ["type", "minimum", "maximum", "pattern"]


def record_problems(record, pointer):
    """The rules of ingest-api.yaml, rule 7, for one record."""
    if not isinstance(record, dict):
        return [{"field": pointer, "problem": "type"}]
    found = []
    first_per_field = {}
    for error in RECORD_VALIDATOR.iter_errors(record):
        if error.validator == "required":
            found += [{"field": f"{pointer}/{name}", "problem": "required"}
                      for name in error.validator_value if name not in record]
        else:
            field = f"{pointer}/" + "/".join(str(part) for part in error.absolute_path)
            known = first_per_field.get(field)
            if known is None or KEYWORD_ORDER.index(error.validator) < KEYWORD_ORDER.index(known):
                first_per_field[field] = error.validator
    found += [{"field": field, "problem": problem} for field, problem in first_per_field.items()]
    return found


def body_problems(body):
    """The rules of ingest-api.yaml, steps 4 and 6, for a parsed body."""
    if isinstance(body, list):
        if not body:
            found = [{"field": "", "problem": "minItems"}]
        elif len(body) > 1000:
            found = [{"field": "", "problem": "maxItems"}]
        else:
            found = [p for i, item in enumerate(body) for p in record_problems(item, f"/{i}")]
    elif isinstance(body, dict):
        found = record_problems(body, "")
    else:
        found = [{"field": "", "problem": "type"}]
    unique = {(p["field"], p["problem"]) for p in found}
    return [{"field": f, "problem": p} for f, p in sorted(unique)][:100]


def test_schemas_are_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(RECORD_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(BODY_SCHEMA)
    realtime = json.loads((CONTRACTS / "realtime-events.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(realtime)


def test_there_are_enough_examples():
    assert len(VALID) >= 4
    assert len(INVALID) >= 15
    assert sorted(EXPECTED) == [p.name for p in INVALID], "invalid-expected.json must list every invalid example"


def test_every_required_field_has_a_missing_example():
    for field in RECORD_SCHEMA["required"]:
        assert (CONTRACTS / f"examples/invalid/missing-{field}.json").exists(), field


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_is_accepted(path):
    body = json.loads(path.read_text())
    BODY_VALIDATOR.validate(body)
    assert body_problems(body) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_is_rejected_for_its_reason(path):
    body = json.loads(path.read_text())
    assert not BODY_VALIDATOR.is_valid(body)
    assert body_problems(body) == EXPECTED[path.name]


def test_over_1000_records_is_max_items():
    record = json.loads((CONTRACTS / "examples/valid/with-id.json").read_text())
    body = [dict(record, id=None) for _ in range(1001)]
    assert not BODY_VALIDATOR.is_valid(body)
    assert body_problems(body) == [{"field": "", "problem": "maxItems"}]


def test_one_problem_per_field_type_first():
    record = json.loads((CONTRACTS / "examples/valid/with-id.json").read_text())
    assert body_problems(dict(record, procesos_zombie=-1.5)) == [
        {"field": "/procesos_zombie", "problem": "type"}]


def test_spec_example_cpu_figures_add_up_to_100():
    """The spec's 22 + 88 is a typo; the fixed example must add up."""
    record = json.loads((CONTRACTS / "examples/valid/spec-example.json").read_text())
    assert record["porcentaje_cpu_uso"] + record["porcentaje_cpu_libre"] == 100
