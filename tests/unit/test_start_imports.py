"""The command lines' modules import neither json nor re (nor, through them, enum,
functools and collections): together a third of the instructions of a command-line
start, which the VM lab's emulated CPU pays about a thousand times a suite."""

import subprocess
import sys

import pytest

COSTLY = ("json", "re", "enum", "pickle")

# The modules each command runs from (runtime/cli.py's and runtime/oci/cli.py's tables).
COMMAND_MODULES = [
    "runtime.cli",
    "runtime.plugins",
    "runtime.container",
    "runtime.supervisor",
    "runtime.enter",
    "runtime.commands",
    "runtime.oci.cli",
    "runtime.oci.running",
    "runtime.oci.lifecycle",
]


def imported_by(module):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_a_command_module_imports_no_costly_module(module):
    assert [m for m in COSTLY if m in imported_by(module)] == []


def test_the_check_sees_a_costly_import():
    assert "re" in imported_by("runtime.images.archive")  # image import reads manifests with json
