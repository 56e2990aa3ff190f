"""The body's JSON text: the contract's limits (contracts/ingest-api.yaml, rule 4), checked
on the text before it is parsed, and the parser.

The limits come first so that a hostile body costs a few passes of the regular expression
engine and never reaches the json module's recursive parser: with at most MAX_DEPTH levels
it cannot hit Python's recursion limit, and no number it sees is long enough to make int()
slow. Route 2 (src/jsontext.js) reads the text with the same token rules."""
import json
import re
from itertools import accumulate

MAX_DEPTH = 32
MAX_NUMBER_LENGTH = 64

# A string runs to the next unescaped quote, or to the end of the text (the loop unrolled:
# one step per run of plain characters, not per character).
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
# Too deep at once, found without counting: the usual shape of a hostile body.
OPENERS_IN_A_ROW = re.compile(rf"[\[{{]{{{MAX_DEPTH + 1}}}")
NUMBER_CHARS = "-+.eE0-9"
LONG_NUMBER = re.compile(rf"(?<![{NUMBER_CHARS}])[{NUMBER_CHARS}]{{{MAX_NUMBER_LENGTH + 1},}}")
NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


class LimitExceeded(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def check_limits(text):
    """Raises LimitExceeded when the text breaks one of the contract's limits."""
    # A space where each string was, so that the numbers on either side stay apart.
    outside_strings = STRING.sub(" ", text)
    brackets = NOT_A_BRACKET.sub("", outside_strings)
    if len(brackets) > MAX_DEPTH and (OPENERS_IN_A_ROW.search(brackets) or
                                      max(accumulate(map(NESTING.__getitem__, brackets))) > MAX_DEPTH):
        raise LimitExceeded("nesting_too_deep", f"The body nests arrays and objects deeper than {MAX_DEPTH} levels.")
    if LONG_NUMBER.search(outside_strings):
        raise LimitExceeded("number_too_long", f"The body has a number longer than {MAX_NUMBER_LENGTH} characters.")


def _reject_constant(name):
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads(text, parse_constant=...) builds a decoder on every call.
DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse(raw):
    """The body's value. Raises ValueError when the bytes are not UTF-8 or not JSON, and
    LimitExceeded, in the contract's order, when the text breaks a limit."""
    text = raw.decode("utf-8")
    check_limits(text)
    return DECODER.decode(text)
