"""`demo-runtime compare [--diff] CHANGE... IMAGE COMMAND [ARGS...]`: the experiment of
every lesson in one command.
"""

import struct
import sys
from types import SimpleNamespace

from .plugin import Option

OPTIONS = (Option("--diff", None, "a unified diff instead of two columns (give it before CHANGE)"),)
SUMMARY = """Run COMMAND twice from IMAGE: with the defaults, and with CHANGE (the run options before
IMAGE: --disable pid, --net host, -H web...). Shows the two outputs side by side ('|' a
changed line, '<' '>' a line of one side only), then each run's stderr (what --disable
loses, warnings). Exit status 0 once both are shown, whatever the runs' statuses."""
WIDTH = 80  # when stdout is no terminal: the same layout everywhere (the lessons check it)


def main(argv):
    from .cli import subcommand_help

    unified, change, image_and_command = _split(argv)
    if change is None:
        print(subcommand_help("compare [--diff] CHANGE... IMAGE COMMAND [ARGS...]", SUMMARY, OPTIONS))
        return 0
    from .linux import Linux

    linux = Linux()
    runs = [("defaults", _run(linux, [], image_and_command)), (" ".join(change), _run(linux, change, image_and_command))]
    print("\n".join(diff(runs) if unified else side_by_side(runs, _width(linux))))
    for title, result in runs:
        if result.stderr:
            print(f"stderr with {title}:")
            print("".join(f"  {line}\n" for line in result.stderr.splitlines()), end="")
    return 0


def _split(argv):
    """(unified?, CHANGE, [IMAGE, COMMAND...]); CHANGE is None for --help."""
    from .cli import CORE_OPTIONS, UsageError, parse
    from .plugins import ORDER

    unified = bool(argv) and argv[0] == "--diff"
    argv = argv[1:] if unified else argv
    if not argv or argv[0] in ("-h", "--help"):
        return unified, None, []
    _, positional = parse(argv, CORE_OPTIONS + tuple(o for cls in ORDER for o in cls.options))
    change = [arg for arg in argv[: len(argv) - len(positional)] if arg != "--"]
    if not change:
        raise UsageError("compare: nothing to compare: give a change before IMAGE, such as --disable pid")
    if len(positional) < 2:
        raise UsageError("compare: missing IMAGE or COMMAND")
    return unified, change, positional


def _run(linux, change, image_and_command):
    argv = [sys.executable, "-P", "-m", "runtime", "--no-tty", *change, "--", *image_and_command]
    # -P: the installed runtime, not a checkout that happens to be the working directory
    # (PYTHONPATH still counts: plugins installed there by --target).
    status, stdout, stderr = linux.run_program(argv)
    return SimpleNamespace(returncode=status, stdout=stdout.decode(errors="replace"), stderr=stderr.decode(errors="replace"))


def _width(linux):
    """The terminal's columns when stdout is one (struct winsize: rows, columns, ...)."""
    try:
        return struct.unpack("HHHH", linux.window_size(1))[1]
    except OSError:
        return WIDTH


def _title(title, result):
    return f"{title} (exit {result.returncode})"


def side_by_side(runs, width):
    """Lines as `diff -y` draws them: '|' changed, '<' only left, '>' only right."""
    from difflib import SequenceMatcher

    (left_title, left), (right_title, right) = runs
    column = max(width // 2 - 2, 10)

    def row(a, mark, b):
        a = a if len(a) <= column else a[: column - 1] + "~"
        return f"{a:<{column}} {mark} {b}".rstrip()

    a, b = ([line.expandtabs() for line in run.stdout.splitlines()] for run in (left, right))  # tabs would break the columns
    rows = [row(_title(left_title, left), " ", _title(right_title, right)), row("-" * column, " ", "-" * column)]
    for op, a1, a2, b1, b2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [row(line, " ", line) for line in a[a1:a2]]
            continue
        pairs = max(a2 - a1, b2 - b1)
        for i in range(pairs):
            has_a, has_b = a1 + i < a2, b1 + i < b2
            mark = "|" if has_a and has_b else "<" if has_a else ">"
            rows.append(row(a[a1 + i] if has_a else "", mark, b[b1 + i] if has_b else ""))
    return rows


def diff(runs):
    from difflib import unified_diff

    (left_title, left), (right_title, right) = runs
    return list(
        unified_diff(
            left.stdout.splitlines(), right.stdout.splitlines(), _title(left_title, left), _title(right_title, right), lineterm=""
        )
    )
