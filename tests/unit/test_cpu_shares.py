"""--cpu-shares (an OCI config's linux.resources.cpu.shares): v1's cpu.shares as given, v2's
cpu.weight converted as runc and crun do (1 + (shares - 2) * 9999 / 262142)."""

import pytest

from runtime.errors import USAGE, ContainerError
from runtime.plugins.cgroup.limits import cpu_weight

from .test_cgroup import HYBRID, HYBRID_CGROUP, V2, CgroupKernel, prepared


@pytest.mark.parametrize("shares, weight", [(2, 1), (512, 20), (1024, 39), (262144, 10000)])
def test_shares_convert_onto_the_v2_weight_range(shares, weight):
    assert cpu_weight(shares) == weight


def test_v2_writes_the_weight_with_the_cpu_controller_enabled():
    fake = CgroupKernel("0::/x\n", V2, offered={"cpu", "pids"})
    plugin, _ = prepared(fake, cpu_shares="512", pids_limit="0")
    (group,) = plugin.groups
    assert fake.named("write_file")[-1] == (f"{group.path}/cpu.weight", "20")
    assert fake.files["/sys/fs/cgroup/demo-runtime/cgroup.subtree_control"] == "cpu"


def test_hybrid_writes_the_shares_on_the_v1_cpu_hierarchy():
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, _ = prepared(fake, cpu_shares="512", pids_limit="0")
    cpu = next(g for g in plugin.groups if g.version == 1)
    assert cpu.path.startswith("/sys/fs/cgroup/cpu,cpuacct/user.slice/demo-runtime/")
    assert (f"{cpu.path}/cpu.shares", "512") in fake.named("write_file")


@pytest.mark.parametrize("bad", ["1", "262145", "-5", "lots", "1.5"])
def test_shares_out_of_the_kernels_range_are_refused(bad):
    with pytest.raises(ContainerError, match=rf"--cpu-shares: '{bad}' is not a number from 2 to 262144") as raised:
        prepared(CgroupKernel("0::/x\n", V2, offered={"cpu"}), cpu_shares=bad)
    assert raised.value.code == USAGE
