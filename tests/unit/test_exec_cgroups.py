"""exec's joiner and the container's cgroups: born in the v2 one (clone3
CLONE_INTO_CGROUP, no migration's RCU grace period), moving itself into the v1 ones;
and into the v2 one too where the kernel had it born elsewhere (no clone3 before 5.7)."""

import os
from types import SimpleNamespace

import pytest

from runtime import enter
from runtime.enter import Launch
from runtime.plugin import Context
from runtime.plugins.cgroup.hierarchy import Hierarchy

from .fake_linux import Exited, FakeLinux

CONTAINER = "/demo-runtime/4242-000001"
CGROUPS = [
    (Hierarchy("", CONTAINER, "/sys/fs/cgroup/unified", 2), f"/sys/fs/cgroup/unified{CONTAINER}"),
    (Hierarchy("pids", CONTAINER, "/sys/fs/cgroup/pids", 1), f"/sys/fs/cgroup/pids{CONTAINER}"),
]


def moves(born_in):
    """The cgroup files the joiner writes, when /proc/self/cgroup says it was born in born_in."""
    fake = FakeLinux(files={"/proc/self/cgroup": f"9:pids:/\n0::{born_in}\n"})
    ctx = Context("img", ["true"], SimpleNamespace(), fake)
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(Exited):  # detached: it leaves once the command is forked
            enter._joiner(ctx, {"pid": 7, "cwd": "/"}, 5, [], CGROUPS, [], write_end, None, Launch(detach=True))
    finally:
        os.close(read_end)
    return [call[1] for call in fake.calls if call[0] == "write_file"]


def test_born_in_the_v2_cgroup_the_joiner_moves_only_into_the_v1_ones():
    assert moves(CONTAINER) == [f"/sys/fs/cgroup/pids{CONTAINER}/tasks"]


def test_born_elsewhere_it_moves_into_the_v2_one_too():
    assert moves("/user.slice") == [f"/sys/fs/cgroup/unified{CONTAINER}/tasks", f"/sys/fs/cgroup/pids{CONTAINER}/tasks"]
