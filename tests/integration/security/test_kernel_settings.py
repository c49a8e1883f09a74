"""Kernel settings: /proc/sys, sysrq-trigger, cgroup release_agent. Opened for writing, never written."""

import pytest

from .conftest import blocked, breached, require_host_path

pytestmark = pytest.mark.property("masked-paths")

SETTINGS = ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe")
# What the tests below try with the defaults, made in one container (probe.among); a
# path this kernel lacks is tried too, harmlessly, and its test skips before looking.
DEFAULTS = [*(("open-write", path) for path in SETTINGS), ("open-write", "/proc/sysrq-trigger"), ("release-agent",)]


@pytest.mark.parametrize("path", SETTINGS)
def test_kernel_setting_is_read_only(probe, host, path):
    require_host_path(host, path)
    v = probe.among(DEFAULTS, "open-write", path)
    assert blocked(v) and "EROFS" in v.line, v


@pytest.mark.parametrize("path", SETTINGS)
def test_kernel_setting_opens_for_writing_without_the_read_only_bind(probe, host, path):
    require_host_path(host, path)
    assert breached(probe("open-write", path, options=("--unmask", "/proc/sys")))


def test_sysrq_trigger_is_read_only(probe, host):
    require_host_path(host, "/proc/sysrq-trigger", " (CONFIG_MAGIC_SYSRQ off)")
    assert blocked(probe.among(DEFAULTS, "open-write", "/proc/sysrq-trigger"))


def test_sysrq_trigger_opens_for_writing_without_the_read_only_bind(probe, host):
    require_host_path(host, "/proc/sysrq-trigger", " (CONFIG_MAGIC_SYSRQ off)")
    assert breached(probe("open-write", "/proc/sysrq-trigger", options=("--unmask", "/proc/sysrq-trigger")))


@pytest.mark.property("cgroup")
def test_release_agent_is_out_of_reach(probe):
    # Nothing mounted shows a release_agent (the container's cgroup is not a hierarchy's
    # root), and mounting a cgroup v1 hierarchy needs mount and CAP_SYS_ADMIN.
    assert blocked(probe.among(DEFAULTS, "release-agent"))


@pytest.mark.property("cgroup")
def test_release_agent_opens_for_writing_with_cap_sys_admin(probe):
    # Its protection off: CAP_SYS_ADMIN (which also opens mount in the seccomp profile).
    # With the host's cgroup namespace, a fresh named hierarchy's root is mountable.
    v = probe("release-agent", options=("--cap-add", "SYS_ADMIN", "--cgroupns", "host"))
    assert breached(v), v


@pytest.mark.property("cgroup")
def test_cgroup_files_are_read_only(runtime):
    # --memory: on cgroup v1 the memory hierarchy is then mounted in the container too.
    # Each file gets the value it has by default, harmless even if the write went through:
    # v1's notify_on_release (release_agent's trigger), v2's cgroup.max.depth.
    find = (
        "for f in /sys/fs/cgroup/notify_on_release /sys/fs/cgroup/*/notify_on_release"
        " /sys/fs/cgroup/cgroup.max.depth /sys/fs/cgroup/*/cgroup.max.depth; do test -e $f && echo $f; done; true"
    )
    files = runtime.sh(find, options=("--memory", "64m")).stdout.split()
    assert files, "no cgroup control file is mounted in the container"
    for f in files:
        default = "0" if f.endswith("notify_on_release") else "max"
        result = runtime.sh(f"echo {default} > {f}", options=("--memory", "64m"))
        assert result.rc != 0 and "Read-only" in result.stderr, (f, result.stderr)
