"""Lessons that cannot lie: every checked example of lessons/*.md runs on the target and
prints what the lesson promises (see lesson_pages.py for the format)."""

import shlex

import pytest

from .lesson_pages import REPO_ROOT_ON, examples, matches

pytestmark = pytest.mark.property("lessons")


@pytest.fixture(scope="session")
def lesson_shell(host, target, workdir, ip_netns_ready):
    """The preamble of every example: the variables the first lesson sets, and
    `demo-runtime` on PATH as this target runs it."""
    bin_dir = f"{workdir}/lesson-bin"
    host.check_output("mkdir -p %s", bin_dir)
    host.check_output("printf '#!/bin/sh\\nexec %%s \"$@\"\\n' %s > %s/demo-runtime", target.runtime, bin_dir)
    host.check_output("chmod +x %s/demo-runtime", bin_dir)
    launcher = shlex.split(target.runtime)[0]
    return (
        f"PATH={bin_dir}:$PATH IMG={shlex.quote(target.image)} SRC={shlex.quote(REPO_ROOT_ON[target.kind])}"
        f' PY="$(dirname "$(readlink -f "$(command -v {shlex.quote(launcher)})")")/python"\n'
        "export PATH IMG SRC PY\n"
    )


@pytest.fixture(scope="session")
def page_directory(host, workdir):
    """One scratch directory per page, as a learner keeps one shell per lesson."""
    made = {}

    def directory(page):
        if page not in made:
            made[page] = host.check_output("mktemp -d %s/lesson.XXXXXX", workdir)
        return made[page]

    return directory


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.id)
def test_lesson_example(example, host, lesson_shell, page_directory):
    scratch = page_directory(example.page)
    script = lesson_shell + "\n".join(example.commands)
    out = host.run("cd %s && sh -c %s 2>&1", scratch, script)
    promised = "\n".join(example.expected)
    assert matches(example.expected, out.stdout), (
        f"lessons/{example.id} promises:\n{promised}\n\nbut printed (exit {out.rc}):\n{out.stdout}"
    )
