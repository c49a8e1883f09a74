"""The suite tests this checkout's runtime/, not a copy installed earlier: the pytest
plugin (an entry point) imports `runtime` before any test does, from wherever the venv
has it. setup.sh installs the checkout editable, so an edit is what the next run tests."""

from pathlib import Path

import runtime

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_runtime_under_test_is_this_checkouts():
    imported = Path(runtime.__file__).resolve().parent
    assert imported == CHECKOUT / "runtime", (
        f"the tests import {imported}, not {CHECKOUT / 'runtime'}: install the checkout editable (./setup.sh)"
    )
