"""JSON text to Python values, also nested deeper than the json module goes.

The json module's C parser stops at Python's recursion limit (about a thousand
nested arrays), while RFC 8259 sets no depth limit and route 2's parser has
none: a 1 MiB body of nested arrays is valid JSON, and must get the same 422 as
from route 2, not a 400. `loads` is used only when DECODER gives up; it keeps
the open containers on a list of its own and leaves strings, numbers and
literals to DECODER's scanner, so both accept exactly the same values."""
import json
import re
from json.decoder import JSONDecodeError, scanstring

WHITESPACE = re.compile(r"[ \t\n\r]*")


def _reject_constant(name):
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads(text, parse_constant=...) builds a decoder on every call.
DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _skip(text, pos):
    return WHITESPACE.match(text, pos).end()


def _key(text, pos):
    """A member's name and the position after its colon."""
    if text[pos:pos + 1] != '"':
        raise JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
    key, pos = scanstring(text, pos + 1, True)
    pos = _skip(text, pos)
    if text[pos:pos + 1] != ":":
        raise JSONDecodeError("Expecting ':' delimiter", text, pos)
    return key, _skip(text, pos + 1)


def _scalar(text, pos):
    """A value that is no array or object (the scanner would recurse into those)."""
    try:
        return DECODER.scan_once(text, pos)
    except StopIteration:
        raise JSONDecodeError("Expecting value", text, pos) from None


def loads(text):
    # Each open container: [the list or dict, the member name awaiting its value].
    stack = []
    pos = _skip(text, 0)
    while True:
        opener = text[pos:pos + 1]
        if opener in ("[", "{"):
            pos = _skip(text, pos + 1)
            if text[pos:pos + 1] == ("]" if opener == "[" else "}"):
                value, pos = ([] if opener == "[" else {}), pos + 1
            elif opener == "[":
                stack.append([[], None])
                continue
            else:
                key, pos = _key(text, pos)
                stack.append([{}, key])
                continue
        else:
            value, pos = _scalar(text, pos)
        # A value is complete: put it in its container, then close what ends here.
        while True:
            if not stack:
                pos = _skip(text, pos)
                if pos != len(text):
                    raise JSONDecodeError("Extra data", text, pos)
                return value
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[key] = value
            pos = _skip(text, pos)
            delimiter = text[pos:pos + 1]
            if delimiter == ",":
                pos = _skip(text, pos + 1)
                if isinstance(container, dict):
                    stack[-1][1], pos = _key(text, pos)
                break
            if delimiter != ("]" if isinstance(container, list) else "}"):
                raise JSONDecodeError("Expecting ',' delimiter", text, pos)
            value = stack.pop()[0]
            pos += 1
