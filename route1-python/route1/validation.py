"""The validation rules of contracts/ingest-api.yaml, driven by the record's
JSON Schema (contracts/metric-record.schema.json), read once at start.

Hand-written rather than a generic JSON Schema validator because the contract
fixes which single problem each field gets (type, then minimum/maximum, then
pattern) and the order of the list; the checks themselves come from the file,
and a keyword this module does not understand stops the service at start.
"""
import json
import math
import re
from pathlib import Path

MAX_ITEMS = 1000
MAX_PROBLEMS = 100

# Keywords a property of the record schema may use; anything else is a contract
# change this code has not followed, and must fail loudly.
KNOWN_PROPERTY_KEYWORDS = {"type", "minimum", "maximum", "pattern", "description"}
KNOWN_TYPES = {"integer", "number", "string"}


class SchemaNotSupported(Exception):
    pass


def _is_number(value):
    # bool is an int subclass in Python; JSON booleans are never numbers.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value):
    # JSON Schema: an integer is a number without a fractional part (so 3.0 is one).
    return isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer())


def _ecma_pattern(pattern):
    """JSON Schema patterns are ECMA-262 regular expressions. In Python `$`
    also matches before a final newline; in ECMA-262 it does not."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


class FieldRule:
    __slots__ = ("name", "type", "minimum", "maximum", "pattern")

    def __init__(self, name, spec):
        unknown = set(spec) - KNOWN_PROPERTY_KEYWORDS
        if unknown or spec.get("type") not in KNOWN_TYPES:
            raise SchemaNotSupported(f"property {name!r}: {sorted(unknown) or spec.get('type')}")
        self.name = name
        self.type = spec["type"]
        self.minimum = spec.get("minimum")
        self.maximum = spec.get("maximum")
        self.pattern = _ecma_pattern(spec["pattern"]) if "pattern" in spec else None

    def problem(self, value):
        """The first failing keyword for a present value, or None."""
        if self.type == "string":
            if not isinstance(value, str):
                return "type"
        elif self.type == "integer":
            if not _is_integer(value):
                return "type"
        elif not _is_number(value):
            return "type"
        if self.minimum is not None and isinstance(value, (int, float)) and value < self.minimum:
            return "minimum"
        if self.maximum is not None and isinstance(value, (int, float)) and value > self.maximum:
            return "maximum"
        if self.pattern is not None and self.pattern.search(value) is None:
            return "pattern"
        return None


class RecordValidator:
    def __init__(self, schema):
        if schema.get("type") != "object":
            raise SchemaNotSupported("the record schema must describe an object")
        self.required = tuple(schema.get("required", ()))
        self.rules = tuple(FieldRule(name, spec) for name, spec in schema["properties"].items())

    @classmethod
    def from_file(cls, path):
        return cls(json.loads(Path(path).read_text()))

    def record_problems(self, record, pointer, found):
        if not isinstance(record, dict):
            found.append((pointer, "type"))
            return
        for name in self.required:
            if name not in record:
                found.append((f"{pointer}/{name}", "required"))
        for rule in self.rules:
            if rule.name in record:
                problem = rule.problem(record[rule.name])
                if problem is not None:
                    found.append((f"{pointer}/{rule.name}", problem))

    def body_problems(self, body):
        """Steps 4-6 of the contract for a parsed body: the sorted list of
        {"field", "problem"}, empty when the body is valid."""
        found = []
        if isinstance(body, list):
            if not body:
                found.append(("", "minItems"))
            elif len(body) > MAX_ITEMS:
                found.append(("", "maxItems"))
            else:
                for index, item in enumerate(body):
                    self.record_problems(item, f"/{index}", found)
        elif isinstance(body, dict):
            self.record_problems(body, "", found)
        else:
            found.append(("", "type"))
        # Byte order of the UTF-8 text equals code point order, which is how
        # Python compares str.
        return [{"field": field, "problem": problem}
                for field, problem in sorted(set(found))[:MAX_PROBLEMS]]
