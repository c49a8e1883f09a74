"""compare: the two runs' outputs side by side, or as a diff."""

import errno
import sys
from types import SimpleNamespace

import pytest

from runtime import compare
from runtime.cli import UsageError

from .fake_linux import FakeLinux


def result(stdout, returncode=0):
    return SimpleNamespace(stdout=stdout, stderr="", returncode=returncode)


def test_the_change_is_every_option_before_the_image():
    unified, change, rest = compare._split(["--disable", "pid", "-H", "web", "--", "img", "sh", "-c", "echo $$"])
    assert (unified, change, rest) == (False, ["--disable", "pid", "-H", "web"], ["img", "sh", "-c", "echo $$"])
    assert compare._split(["--diff", "--net=host", "img", "ip", "link"])[:2] == (True, ["--net=host"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["img", "true"], "nothing to compare"),
        (["--disable", "pid", "img"], "missing IMAGE or COMMAND"),
        (["--warp", "img", "true"], "unknown option --warp"),
    ],
)
def test_bad_command_lines_are_refused(argv, message):
    with pytest.raises(UsageError, match=message):
        compare._split(argv)


def test_side_by_side_marks_changed_and_one_sided_lines():
    rows = compare.side_by_side([("defaults", result("1\nsame\n")), ("--disable pid", result("4711\nsame\nmore\n", 3))], 40)
    assert rows == [
        "defaults (exit 0)    --disable pid (exit 3)",
        "------------------   ------------------",
        "1                  | 4711",
        "same                 same",
        "                   > more",
    ]


def test_long_lines_are_cut_to_their_column():
    rows = compare.side_by_side([("a", result("x" * 30 + "\n")), ("b", result(""))], 40)
    assert rows[2] == "x" * 17 + "~ <"


def test_diff_is_unified():
    assert compare.diff([("defaults", result("a\n")), ("-H web", result("b\n"))]) == [
        "--- defaults (exit 0)",
        "+++ -H web (exit 0)",
        "@@ -1 +1 @@",
        "-a",
        "+b",
    ]


def test_tabs_become_blanks_so_the_columns_hold():
    rows = compare.side_by_side([("a", result("x:\t1\n")), ("b", result("x:\t2\n"))], 40)
    assert rows[2] == f"{'x:      1':<18} | x:      2"


def test_each_run_is_the_runtime_without_a_terminal_and_its_output_shown_whatever_its_bytes():
    fake = FakeLinux()
    fake.programs[sys.executable] = (3, b"caf\xe9\n", b"demo-runtime: pid disabled\n")
    run = compare._run(fake, ["--disable", "pid"], ["img", "true"])
    ((argv, _),) = fake.named("run_program")
    assert argv[1:] == ["-P", "-m", "runtime", "--no-tty", "--disable", "pid", "--", "img", "true"]
    assert (run.returncode, run.stdout, run.stderr) == (3, "caf\ufffd\n", "demo-runtime: pid disabled\n")


def test_the_columns_follow_the_terminal_and_are_80_without_one():
    assert compare._width(FakeLinux()) == 90
    assert compare._width(FakeLinux(fail={"window_size": OSError(errno.ENOTTY, "Inappropriate ioctl for device")})) == compare.WIDTH == 80
