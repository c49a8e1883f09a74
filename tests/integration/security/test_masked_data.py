"""Masked or hidden data: /proc/kcore, /proc/keys, /proc/timer_list, /dev/kmsg."""

import pytest

from .conftest import blocked, breached, require_host_path

pytestmark = pytest.mark.property("masked-paths")

# What the tests below try with the defaults, made in one container (probe.among); a
# path this kernel lacks is tried too, harmlessly, and its test skips before looking.
DEFAULTS = [("read", "/proc/timer_list"), ("read", "/proc/kcore"), ("read", "/dev/kmsg"), ("mknod-read", "c", "1", "11")]


def test_proc_keys_is_masked(probe, host_key):
    assert blocked(probe("read", "/proc/keys"))


def test_proc_keys_shows_host_keys_unmasked(runtime, host_key):
    out = runtime.run("cat", "/proc/keys", options=("--unmask", "/proc/keys"))
    assert host_key in out.stdout


def test_timer_list_is_masked(probe, host):
    require_host_path(host, "/proc/timer_list")
    assert blocked(probe.among(DEFAULTS, "read", "/proc/timer_list"))


def test_timer_list_reads_unmasked(probe, host):
    require_host_path(host, "/proc/timer_list")
    assert breached(probe("read", "/proc/timer_list", options=("--unmask", "/proc/timer_list")))


def test_kcore_is_masked(probe, host):
    require_host_path(host, "/proc/kcore", " (CONFIG_PROC_KCORE off)")
    assert blocked(probe.among(DEFAULTS, "read", "/proc/kcore"))


def test_kcore_reads_unmasked_with_cap_sys_rawio(probe, host):
    require_host_path(host, "/proc/kcore", " (CONFIG_PROC_KCORE off)")
    # Two layers: the mask, and CAP_SYS_RAWIO, which opening kcore needs.
    assert blocked(probe("read", "/proc/kcore", options=("--unmask", "/proc/kcore")))
    assert breached(probe("read", "/proc/kcore", options=("--unmask", "/proc/kcore", "--cap-add", "SYS_RAWIO")))


@pytest.mark.property("nodev")
def test_kmsg_is_out_of_reach(probe):
    assert blocked(probe.among(DEFAULTS, "read", "/dev/kmsg"))  # not in the container's /dev
    assert blocked(probe.among(DEFAULTS, "mknod-read", "c", "1", "11"))  # no CAP_MKNOD to make a node for it
    v = probe("mknod-read", "c", "1", "11", options=("--cap-add", "MKNOD"))
    assert blocked(v) and "open of the new device node" in v.line, v  # and one made will not open


@pytest.mark.property("nodev")
def test_kmsg_reads_through_a_node_with_cap_mknod_and_without_nodev(probe, host):
    restricted = host.check_output("cat /proc/sys/kernel/dmesg_restrict") == "1"
    # With dmesg_restrict=1 reading the log also needs CAP_SYSLOG (dropped by default).
    options = ("--cap-add", "MKNOD", "--disable", "nodev") + (("--cap-add", "SYSLOG") if restricted else ())
    assert breached(probe("mknod-read", "c", "1", "11", options=options))
