"""JSON text through the json package's own C accelerator (_json), without the package.

`import json` imports re, and with it enum, functools and collections, for its
pure-Python fallbacks: about a third of the instructions of a command-line start that
reads or writes a state file or config.json. _json's scanner and encoder need none of
them. What goes in and out is json.loads' and json.dumps' with their defaults
(tests/unit/test_jsontext.py holds them to it), errors included: text the scanner
refuses is handed to json.loads for its JSONDecodeError, so only that path imports
the package.
"""

import _json


class _Defaults:
    """What _json.make_scanner reads off a json.JSONDecoder, as json.loads sets it."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_Defaults())
_WHITESPACE = " \t\n\r"


def _unserializable(value):
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _encoder(item_separator):
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
    encode = _json.make_encoder({}, _unserializable, _json.encode_basestring_ascii, None, ": ", item_separator, False, False, True)
    return lambda value: "".join(encode(value, 0))


_compact = _encoder(", ")
_member = _encoder(",")


def loads(text):
    """json.loads(text), of str or UTF-8 bytes."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # StopIteration, or its error: it finds JSONDecodeError only once json is imported
        end = None     # (CPython 3.11 raises SystemError before)
    if end is None or text[end:].strip(_WHITESPACE):
        import json

        return json.loads(text)  # raises its JSONDecodeError ("Expecting value", "Extra data")
    return value


def dumps(value, indent=None):
    """json.dumps(value), or json.dumps(value, indent=indent) (spaces or a string) of
    objects whose keys are strings."""
    if indent is None:
        return _compact(value)
    return _indented(value, " " * indent if isinstance(indent, int) else indent, "\n")


def _indented(value, step, newline):
    """json.encoder's layout with an indent: one member a line, nested one step deeper."""
    inner = newline + step
    if isinstance(value, dict) and value:
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"keys must be str here, not {key.__class__.__name__}")
        members = (f"{_member(key)}: {_indented(item, step, inner)}" for key, item in value.items())
    elif isinstance(value, (list, tuple)) and value:
        members = (_indented(item, step, inner) for item in value)
    else:
        return _member(value)
    opening, closing = "{}" if isinstance(value, dict) else "[]"
    return opening + inner + ("," + inner).join(members) + newline + closing
