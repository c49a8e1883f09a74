"""Every plugin explains itself: --explain as the container starts, what --disable loses,
refusals that give the flag that works, warnings for capabilities in host namespaces."""

import re

import pytest

from runtime import plugins

pytestmark = pytest.mark.property("explain")

DEFAULT_PLUGINS = [cls.name for cls in plugins.ORDER if cls.default]


def test_explain_says_what_each_plugin_did_in_this_run(runtime):
    out = runtime.sh("grep CapBnd /proc/self/status; hostname", options=("--explain",))
    assert out.rc == 0, out.stderr
    bounding, hostname = out.stdout.split()[1:]
    lines = out.stderr.splitlines()
    assert lines[0] == "demo-runtime: what each plugin did (--explain):"
    named = [line.split(":")[0].strip() for line in lines[1:] if re.match(r"  \S+: ", line)]
    assert named == DEFAULT_PLUGINS
    assert re.search(rf"  mount-image: /dev/loop\d+ <- {re.escape(runtime.target.image)}, read-only", out.stderr)
    kept = bin(int(bounding, 16)).count("1")
    assert re.search(rf"  caps: keeps {kept} of \d+ capabilities: ", out.stderr), out.stderr
    assert f"hostname {hostname}, from the image's /etc/hostname" in out.stderr


def test_without_explain_nothing_is_said(runtime):
    out = runtime.run("true")
    assert (out.rc, out.stderr) == (0, "")


def test_disable_says_what_is_lost(runtime):
    out = runtime.run("true", options=("--disable", "pid,ipc"))
    assert out.rc == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"demo-runtime: pid disabled: {plugins.PidNamespace.lost}",
        f"demo-runtime: ipc disabled: {plugins.IpcNamespace.lost}",
    ]


@pytest.mark.parametrize("alone", ["mount", "mount-image", "clean-mounts"])
def test_a_refusal_names_every_dependent_and_the_flag_that_works(runtime, alone):
    refused = runtime.run("true", options=("--disable", alone))
    assert refused.rc == 64, refused.stderr
    flag = re.search(r"to turn them all off: --disable (\S+)", refused.stderr).group(1)
    assert flag.startswith(alone + ",")
    accepted = runtime.run("true", options=("--disable", flag))
    assert accepted.rc == 0, accepted.stderr
    assert [line.split()[1] for line in accepted.stderr.splitlines()] == flag.split(",")


@pytest.mark.parametrize(
    "options, words",
    [
        (("--disable", "uts", "-H", "web"), "--hostname (-H) needs the uts plugin, which is disabled"),
        (("--disable", "time", "--time-offset", "60"), "--time-offset needs the time plugin, which is disabled"),
        (("--disable", "cgroup", "--memory", "64m"), "--memory needs the cgroup plugin, which is disabled"),
    ],
)
def test_an_option_whose_plugin_is_off_is_an_error(runtime, options, words):
    out = runtime.run("true", options=options)
    assert out.rc == 64, out.stderr
    assert out.stderr.strip() == f"demo-runtime: {words} (see --help)"


def test_capabilities_kept_in_a_host_namespace_warn(runtime, host):
    out = runtime.run("true", options=("--disable", "caps,uts"))
    assert out.rc == 0, out.stderr
    assert "demo-runtime: warning: uts is off and the container keeps CAP_SYS_ADMIN: root in it can rename the host" in out.stderr
    # Control: the same capabilities in the container's own UTS namespace do not warn.
    out = runtime.run("true", options=("--disable", "caps"))
    assert out.rc == 0 and "warning" not in out.stderr, out.stderr
