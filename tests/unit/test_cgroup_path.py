"""--cgroup-path (an OCI config's linux.cgroupsPath): the container's cgroup at that
path from each hierarchy's root, the directories above it made and removed again
only if this container made them, and a path that exists already left alone."""

import pytest

from runtime.errors import NAME_IN_USE, USAGE, ContainerError

from runtime.plugins import cgroup

from .test_cgroup import HYBRID, HYBRID_CGROUP, V2, CgroupKernel, ctx, prepared

PODMAN = "/libpod_parent/libpod-0123abcd"


def test_v2_the_cgroup_is_at_the_path_with_controllers_enabled_down_to_it():
    fake = CgroupKernel("0::/user.slice/x.scope\n", V2, offered={"memory", "pids"})
    plugin, c = prepared(fake, cgroup_path=PODMAN, pids_limit="10")
    (group,) = plugin.groups
    assert group.path == "/sys/fs/cgroup/libpod_parent/libpod-0123abcd"
    assert fake.named("mkdir") == [("/sys/fs/cgroup/libpod_parent",), (group.path,)]
    assert fake.files["/sys/fs/cgroup/cgroup.subtree_control"] == "pids"
    assert fake.files["/sys/fs/cgroup/libpod_parent/cgroup.subtree_control"] == "pids"
    assert (f"{group.path}/pids.max", "10") in fake.named("write_file")
    c.pid = 4242
    fake.files["/proc/4242/cgroup"] = f"0::{PODMAN}\n"
    plugin.setup_parent(c)
    assert f"{group.path}/cgroup.procs" not in dict(fake.named("write_file"))  # born there
    plugin.teardown(c)
    assert fake.named("rmdir") == [(group.path,), ("/sys/fs/cgroup/libpod_parent",)]


def test_a_parent_that_existed_is_not_removed():
    fake = CgroupKernel("0::/\n", V2, offered={"pids"})
    fake.mkdir("/sys/fs/cgroup/libpod_parent")
    plugin, c = prepared(fake, cgroup_path=PODMAN)
    plugin.teardown(c)
    assert fake.named("rmdir") == [("/sys/fs/cgroup" + PODMAN,)]
    assert "/sys/fs/cgroup/libpod_parent" in fake.dirs


def test_hybrid_v1_groups_are_at_the_path_from_the_hierarchy_root_not_under_ours():
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, c = prepared(fake, cgroup_path="/ns1/ctr1", memory="64m")
    assert sorted(g.path for g in plugin.groups) == [
        "/sys/fs/cgroup/memory/ns1/ctr1",
        "/sys/fs/cgroup/pids/ns1/ctr1",
        "/sys/fs/cgroup/unified/ns1/ctr1",
    ]
    plugin.teardown(c)
    assert not [d for d in fake.dirs if "ns1" in d]


def test_a_path_that_exists_already_is_refused_and_left_alone():
    fake = CgroupKernel("0::/\n", V2, offered={"pids"})
    fake.mkdir("/sys/fs/cgroup/libpod_parent")
    fake.mkdir("/sys/fs/cgroup" + PODMAN)
    plugin, c = cgroup.Cgroup(), ctx(fake, cgroup_path=PODMAN)
    with pytest.raises(ContainerError, match=f"--cgroup-path {PODMAN}: /sys/fs/cgroup{PODMAN} exists already") as raised:
        plugin.prepare(c)
    assert raised.value.code == NAME_IN_USE
    plugin.teardown(c)  # as after any failed prepare
    assert fake.named("rmdir") == []
    assert "/sys/fs/cgroup" + PODMAN in fake.dirs


@pytest.mark.parametrize("bad", ["libpod_parent/x", "/a/../b", "/a/./b", "/a//b", "/a/", "/", "", "slice:prefix:name"])
def test_a_relative_or_unclean_path_is_refused_before_anything_is_made(bad):
    fake = CgroupKernel("0::/\n", V2, offered={"pids"})
    with pytest.raises(ContainerError, match="an absolute path from the cgroup root") as raised:
        prepared(fake, cgroup_path=bad)
    assert raised.value.code == USAGE
    assert fake.named("mkdir") == []


def test_without_a_path_a_cgroup_of_our_name_that_exists_is_refused_naming_it():
    """demo-runtime/<pid>-<n> taken (a runtime of a reused pid left it): no --cgroup-path
    was given, so the message names the cgroup alone."""

    class Taken(CgroupKernel):
        def mkdir(self, path, mode=0o755, exist_ok=True):
            if path.startswith("/sys/fs/cgroup/demo-runtime/"):
                self.dirs[path] = set()
            return super().mkdir(path, mode, exist_ok)

    fake = Taken("0::/\n", V2, offered={"pids"})
    plugin, c = cgroup.Cgroup(), ctx(fake)
    with pytest.raises(ContainerError) as raised:
        plugin.prepare(c)
    taken = plugin.groups[0].path
    assert (raised.value.code, str(raised.value)) == (NAME_IN_USE, f"the cgroup {taken} exists already (another cgroup's)")
    plugin.teardown(c)
    assert taken in fake.dirs
