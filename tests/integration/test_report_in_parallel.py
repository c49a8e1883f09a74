"""The isolation table of a run with pytest -n is the serial run's: xdist's controller,
which writes it, collects no test, so each test's report carries its properties, target
and id, or why it was left to the local stage (report.py). Two small runs of this suite,
one serial, one with two workers, each writing its table into a directory of its own."""

import json
import os
import subprocess
import sys

import pytest

from .targets import REPO_ROOT

pytestmark = [
    pytest.mark.property("report"),
    pytest.mark.kernel_independent("the isolation report's bookkeeping"),
]

# A module of properties, and one whose tests --kernel-only leaves to the local stage.
MODULES = ("tests/integration/test_hostname.py", "tests/integration/test_cli.py")


def table(results, name, *options):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--target", "local", "--kernel-only", "--report-as", name, *options, *MODULES],
        cwd=REPO_ROOT,
        env={**os.environ, "DEMO_RUNTIME_RESULTS": str(results)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    written = json.loads((results / f"isolation-{name}.json").read_text())
    return {part: written[part] for part in ("kernel", "properties", "tests", "run_locally")}


def test_two_workers_write_the_serial_runs_table(target, tmp_path):
    if target.kind != "local":
        pytest.skip("runs pytest on the machine that runs this one")
    serial = table(tmp_path, "one")
    assert serial["properties"]["uts"]["passed"] > 0 and serial["run_locally"] and serial["kernel"]
    assert table(tmp_path, "two", "-n", "2", "--dist", "loadfile") == serial
