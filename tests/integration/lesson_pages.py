"""The lessons' checked examples: the ```console blocks of lessons/*.md.

In a block, a line starting with "$ " is a command; the lines after it are what the
lesson promises it prints (stdout and stderr together). In a promised line "..." stands
for any text (blanks right after it for any number of blanks: columns), and a line that
is only "..." for any number of lines. A block's commands
run as one shell script (so `echo $?` sees the command before it), the blocks of a page
in order in one scratch directory, with IMG, SRC and PY set as the first lesson has the
learner set them.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
# Where the checkout is on a target: here, or where lab/site.yml unpacks it.
REPO_ROOT_ON = {"local": str(ROOT), "vagrant": "/vagrant", "remote": "/opt/demo-runtime/src"}
_FENCE = "```"


class Example:
    def __init__(self, page, line, commands, expected):
        self.page = page  # the file name, e.g. 07-pid.md
        self.line = line  # of the opening fence
        self.commands = commands
        self.expected = expected

    @property
    def id(self):
        return f"{self.page}:{self.line}"


def examples(directory=LESSONS):
    found = []
    for page in sorted(directory.glob("*.md")):
        found += parse(page.name, page.read_text())
    return found


def parse(name, text):
    found, block, start = [], None, 0
    for number, line in enumerate(text.splitlines(), 1):
        if block is None:
            if line.strip() == _FENCE + "console":
                block, start = [], number
        elif line.strip() == _FENCE:
            found.append(_example(name, start, block))
            block = None
        else:
            block.append(line)
    if block is not None:
        raise ValueError(f"{name}:{start}: a console block without its closing fence")
    return found


def _example(name, start, lines):
    if not lines or not lines[0].startswith("$ "):
        raise ValueError(f"{name}:{start}: a console block must start with a '$ ' command")
    commands = [line[2:] for line in lines if line.startswith("$ ")]
    expected = [line.rstrip() for line in lines if not line.startswith("$ ")]
    return Example(name, start, commands, expected)


def pattern(expected):
    parts = []
    for line in expected:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            first, *rest = line.split("...")
            # Blanks right after "..." pad a column: they match however many the text needs.
            pieces = [re.escape(first)] + [(" *" if p[:1] == " " else "") + re.escape(p.lstrip(" ")) for p in rest]
            parts.append(r"[^\n]*".join(pieces) + r"\n")
    return re.compile("".join(parts))


def matches(expected, output):
    text = "".join(line.rstrip() + "\n" for line in output.splitlines())
    return pattern(expected).fullmatch(text) is not None
