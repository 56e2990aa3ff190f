"""The recursion-free parser agrees with the json module wherever the latter
can parse, and goes on where it cannot."""
import json

import pytest

from route1 import deepjson

TEXTS = ['{"a": [1, 2.5, -0, 1e3, -1.5E-2, "x\\u00e9\\n", true, false, null, {}, []]}', "  [ ]  ", "{}", "0",
         '"s"', '{"a":1,"a":2}', "[[[[[]]]]]", '{"k": {"k": {"k": [1, {"z": null}]}}}', "123456789012345678901",
         "", " ", "[", "]", "[1,]", "[,1]", "{,}", '{"a" 1}', '{"a":}', '{"a":1,}', "{'a':1}", "[1 2]",
         "tru", "nul", "truex", "NaN", "-Infinity", "01", "1.", ".5", "-", "1e", '"\\x"', '"a\tb"', "[1]]",
         "{} {}", '{"a":1}}', "\ufeff{}", "\u0661", "[\u0661]"]


@pytest.mark.parametrize("text", TEXTS)
def test_same_as_the_json_module(text):
    try:
        expected = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except ValueError:
        with pytest.raises(ValueError):
            deepjson.loads(text)
        return
    assert deepjson.loads(text) == expected


def test_nesting_far_beyond_the_recursion_limit():
    depth = 300_000
    value = deepjson.loads("[" * depth + "]" * depth)
    for _ in range(depth - 1):
        (value,) = value
    assert value == []
    with pytest.raises(ValueError):
        deepjson.loads("[" * depth + "]" * (depth - 1))
    assert deepjson.loads('{"a":' * 5000 + "1" + "}" * 5000)["a"]["a"]["a"] is not None
