"""runtime.jsontext reads and writes what json.loads and json.dumps do, without importing json."""

import json
import subprocess
import sys

import pytest

from runtime import jsontext

VALUES = [
    {},
    [],
    {"id": "c1", "pid": 42, "status": "created", "annotations": {}, "args": ["/bin/sh", "-c", "echo \"hi\"\n"]},
    {"nested": {"deeper": [{"a": None, "b": True, "c": False}, [], {}], "n": -1.5e-7}, "é€": "\u2603\x00\t"},
    [1, 2.5, 1e300, -0.0, 10**20, "", None, [[[]]], {"x": [{}]}],
    "just a string",
    3.25,
    None,
    {"inf": float("inf"), "-inf": float("-inf")},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps(value):
    assert jsontext.dumps(value) == json.dumps(value)
    for indent in (2, 4, "\t"):
        assert jsontext.dumps(value, indent=indent) == json.dumps(value, indent=indent)


@pytest.mark.parametrize("value", VALUES)
def test_loads_is_json_loads(value):
    for text in (json.dumps(value), json.dumps(value, indent=2), "  \n" + json.dumps(value) + "\r\n\t"):
        assert repr(jsontext.loads(text)) == repr(json.loads(text))
        assert repr(jsontext.loads(text.encode())) == repr(json.loads(text))


def test_nan_and_non_string_keys_as_json():
    assert jsontext.dumps(float("nan")) == "NaN"
    assert jsontext.dumps({1: "a", None: "b", True: "c"}) == json.dumps({1: "a", None: "b", True: "c"})
    assert jsontext.loads("NaN") != jsontext.loads("NaN")  # a float nan


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1} x', "[1,]", '{"a" 1}', "nul", '"\x01"', "[1] [2]"])
def test_malformed_text_raises_json_error(text):
    with pytest.raises(json.JSONDecodeError) as ours:
        jsontext.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


def test_unserializable_is_json_type_error():
    for indent in (None, 2):
        with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
            jsontext.dumps({"a": {1}}, indent=indent)


def fresh(code):
    return subprocess.run([sys.executable, "-c", "import sys, runtime.jsontext as j\n" + code], capture_output=True, text=True, check=True).stdout


def test_imports_neither_json_nor_re():
    assert fresh("j.loads(j.dumps({'a': [1.5]}, indent=2)); print(sorted({'json', 're', 'enum'} & set(sys.modules)))") == "[]\n"


@pytest.mark.parametrize("text", ["{not json", "[1,]", "", '{"a": 1} x'])
def test_malformed_text_raises_json_error_before_json_is_imported(text):
    # the C scanner finds JSONDecodeError in an imported json only (CPython 3.11: SystemError otherwise)
    code = f"try:\n    j.loads({text!r})\nexcept ValueError as e:\n    print(type(e).__name__, e)"
    assert fresh(code) == f"JSONDecodeError {_json_error(text)}\n"


def _json_error(text):
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return str(e)
