"""compare: one command runs the experiment with the defaults and with a change."""

import re
import shlex

import pytest

from runtime.plugins import PidNamespace

pytestmark = pytest.mark.property("explain")


def compare(runtime, *argv):
    return runtime.host.run(shlex.join(runtime.target.run_argv(["compare", *argv])))


def test_compare_shows_both_runs_side_by_side_with_what_is_lost(runtime):
    out = compare(runtime, "--disable", "pid", runtime.target.image, "sh", "-c", "echo $$")
    assert out.rc == 0, out.stderr
    lines = out.stdout.splitlines()
    assert re.fullmatch(r"defaults \(exit 0\) +--disable pid \(exit 0\)", lines[0])
    left, mark, right = lines[2].split()
    assert (left, mark) == ("1", "|") and int(right) > 1  # PID 1 only in its own namespace
    assert lines[3:] == ["stderr with --disable pid:", f"  demo-runtime: pid disabled: {PidNamespace.lost}"]


def test_compare_as_a_diff(runtime):
    out = compare(runtime, "--diff", "-H", "web", runtime.target.image, "hostname")
    assert out.rc == 0, out.stderr
    assert out.stdout.splitlines()[:2] == ["--- defaults (exit 0)", "+++ -H web (exit 0)"]
    assert "+web" in out.stdout.splitlines()


def test_compare_without_a_change_is_a_usage_error(runtime):
    out = compare(runtime, runtime.target.image, "true")
    assert out.rc == 64
    assert out.stderr.strip().startswith("demo-runtime: compare: nothing to compare")
