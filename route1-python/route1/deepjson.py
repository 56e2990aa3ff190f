"""JSON text to Python values without recursion.

The json module's C parser stops at Python's recursion limit (about a thousand
nested arrays), while RFC 8259 sets no depth limit and route 2's parser has
none: a 1 MiB body of nested arrays is valid JSON, and must get the same 422 as
from route 2, not a 400. Used only when the fast parser gives up."""
import re
from json.decoder import JSONDecodeError, scanstring

# ASCII digits only, as the C parser (the json module's NUMBER_RE uses \\d).
NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
WHITESPACE = re.compile(r"[ \t\n\r]*")
LITERALS = (("true", True), ("false", False), ("null", None))


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
    if text[pos:pos + 1] == '"':
        return scanstring(text, pos + 1, True)
    number = NUMBER.match(text, pos)
    if number and number.end() > pos:
        integer, fraction, exponent = number.groups()
        if fraction or exponent:
            return float(integer + (fraction or "") + (exponent or "")), number.end()
        return int(integer), number.end()
    for word, value in LITERALS:
        if text.startswith(word, pos):
            return value, pos + len(word)
    raise JSONDecodeError("Expecting value", text, pos)


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
