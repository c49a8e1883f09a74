"""--cpu-shares: the container's CPU weight in its own cgroup, read inside it (the cgroup
plugin mounts the container's cgroups at /sys/fs/cgroup): v1's cpu.shares as given, or
v2's cpu.weight as runc converts it, whichever hierarchy has the cpu controller here."""

import pytest

pytestmark = pytest.mark.property("cgroup")

WEIGHT = "find /sys/fs/cgroup/ -maxdepth 2 -name cpu.weight -o -maxdepth 2 -name cpu.shares | sort | xargs -r cat"


def test_the_weight_is_set_in_the_containers_cgroup(runtime):
    out = runtime.sh(WEIGHT, options=("--cpu-shares", "512"))
    assert out.rc == 0, out.stderr
    assert out.stdout.split() in (["512"], ["20"]), out.stdout  # v1 shares, or v2 weight 1 + 510 * 9999 // 262142


def test_without_it_the_container_has_no_cpu_cgroup_of_its_own(runtime):
    # The control: the weight above is the option's, not a default of the container's cgroup.
    out = runtime.sh(WEIGHT, options=("--pids-limit", "0"))
    assert out.rc == 0, out.stderr
    assert out.stdout.split() in ([], ["100"]), out.stdout  # no cpu cgroup (v1), or v2's default weight


def test_out_of_range_is_refused(runtime):
    out = runtime.run("true", options=("--cpu-shares", "1"))
    assert out.rc == 64
    assert out.stderr.strip() == "demo-runtime: --cpu-shares: '1' is not a number from 2 to 262144"
