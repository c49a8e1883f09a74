"""The lesson checker itself: how promised output is read and matched, and that the
lessons follow the plugins' order."""

import re

import pytest

from runtime import plugins
from tests.integration.lesson_pages import LESSONS, examples, matches, parse

PAGE = """# A page

```sh
not checked
```

```console
$ echo one
one
$ printf 'a\\nb\\nc\\n'
a
...
```
"""


def test_console_blocks_are_examples_and_other_blocks_are_not():
    (example,) = parse("p.md", PAGE)
    assert (example.id, example.commands, example.expected) == ("p.md:7", ["echo one", "printf 'a\\nb\\nc\\n'"], ["one", "a", "..."])


@pytest.mark.parametrize(
    "expected, output, verdict",
    [
        (["1"], "1\n", True),
        (["1"], "2\n", False),
        (["1"], "1\nmore\n", False),  # nothing may follow unless promised
        (["pid ..."], "pid 4711\n", True),
        (["pid ..."], "4711\n", False),
        (["a", "...", "z"], "a\nz\n", True),
        (["a", "...", "z"], "a\nb\nc\nz\n", True),
        (["a", "...", "z"], "a\nb\n", False),
        (["x (1.0)"], "x (1.0)  \n", True),  # trailing blanks do not count, regex signs are plain
        (["x (1.0)"], "x 1a0\n", False),
        (["...      | b"], "longer text | b\n", True),  # a column after "..." may sit anywhere
        (["...      | b"], "text | c\n", False),
    ],
)
def test_promised_output_matches(expected, output, verdict):
    assert matches(expected, output) is verdict


@pytest.mark.parametrize(
    "text, error",
    [("```console\necho no prompt\n```\n", "must start with a '\\$ ' command"), ("```console\n$ true\n", "without its closing fence")],
)
def test_malformed_blocks_are_refused(text, error):
    with pytest.raises(ValueError, match=error):
        parse("p.md", text)


def test_the_index_has_a_lesson_per_plugin_in_the_order_they_run():
    linked = re.findall(r"^\d+\. \[.*\]\((.*)\.md\)$", (LESSONS / "README.md").read_text(), re.M)
    assert linked == ["what-a-container-is", *(c.name for c in plugins.ORDER), "writing-a-plugin"], (
        "a new plugin needs its lesson: lessons/NAME.md, linked from lessons/README.md in the order of runtime.plugins.ORDER"
    )
    assert sorted(p.stem for p in LESSONS.glob("*.md") if p.name != "README.md") == sorted(linked)


def test_every_plugin_lesson_has_its_parts_and_checked_examples():
    checked = {e.page for e in examples()}
    for cls in plugins.ORDER:
        page = LESSONS / f"{cls.name}.md"
        text = page.read_text()
        assert page.name in checked, f"{page.name} has no checked example"
        for part in ("## What it isolates", "## Kernel interfaces", "## The experiment", "## Try this", "## Check your work"):
            assert part in text, f"{page.name} lacks {part}"
