"""Third-party plugins: found by entry point, their options parsed and shown in --help."""

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from runtime import cli, errors, plugins
from runtime.plugin import Option, Plugin

from ..checkout_builds import REPO, one_build_at_a_time

class Greeting(Plugin):
    name = "greet"
    help = "says hello"
    options = (Option("--greeting", "TEXT", "what to say"),)


@pytest.fixture
def installed(monkeypatch):
    entry = SimpleNamespace(load=lambda: Greeting, value="greet_plugin:Greeting")
    monkeypatch.setattr(plugins, "third_party", lambda: {"greet": entry})


def test_a_third_party_option_reaches_the_plugin(installed):
    options, positional, extra = cli.parse_run(["--plugin", "greet", "--greeting", "hi", "img"], plugins)
    assert (options.greeting, positional, extra) == ("hi", ["img"], [Greeting])
    assert plugins.select(options)[-1] is Greeting


def test_its_options_have_their_defaults_when_only_the_plugin_is_named(installed):
    options, _, _ = cli.parse_run(["--plugin", "greet", "img"], plugins)
    assert options.greeting is None


def test_the_default_start_reads_no_entry_points(monkeypatch):
    def forbidden():
        raise AssertionError("entry points read on the default start")

    monkeypatch.setattr(plugins, "third_party", forbidden)
    options, positional, extra = cli.parse_run(["-H", "web", "img"], plugins)
    assert (options.hostname, extra) == ("web", [])


def test_an_option_nobody_knows_is_still_refused(installed):
    with pytest.raises(cli.UnknownOption, match="--farewell"):
        cli.parse_run(["--farewell", "bye", "img"], plugins)


PLUGIN_MODULE = '''
from runtime.plugin import Option, Plugin


class Greeting(Plugin):
    help = "says hello"
    options = (Option("--greeting", "TEXT", "what the greet plugin says"),)
'''
PLUGIN_PROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "h15-greet-plugin"
version = "1.0"

[project.entry-points."demo_runtime.plugins"]
greet = "greet_plugin:Greeting"
"""


def test_a_plugin_package_installed_in_a_venv_adds_its_options(tmp_path):
    # A real package with a real entry point, in a venv of its own; pip builds both local
    # directories as setup.sh does (its build backend from the configured index or cache).
    package = tmp_path / "greet"
    package.mkdir()
    (package / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PROJECT))
    (package / "greet_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/pip"), "install", "-q", "--no-deps"]
    pip += ["--disable-pip-version-check", str(REPO), str(package)]
    with one_build_at_a_time():
        done = subprocess.run(pip, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runtime = str(venv / "bin/demo-runtime")

    def run(*argv):
        return subprocess.run([runtime, *argv], capture_output=True, text=True, cwd=tmp_path)

    shown = run("--help")
    assert shown.returncode == 0, shown.stderr
    assert "greet plugin:" in shown.stdout and "--greeting TEXT" in shown.stdout
    assert "greet+" in shown.stdout
    listed = run("--plugin", "greet", "--greeting", "hi", "--list-plugins")
    assert listed.returncode == 0 and "greet " in listed.stdout, listed.stderr
    missing = run("--plugin", "greet", "--greeting")
    assert missing.returncode == errors.USAGE and "--greeting needs a value: TEXT" in missing.stderr
