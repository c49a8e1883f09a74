"""The cgroup plugin against a fake cgroup filesystem that fails as the kernel does:
a controller's files exist in a v2 cgroup only once its parent enables the controller,
and only a controller the unified hierarchy offers can be enabled (ENOENT otherwise)."""

import errno
from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import USAGE, ContainerError
from runtime.plugin import Context
from runtime.plugins import cgroup
from runtime.plugins.cgroup.hierarchy import hierarchies, move_self
from runtime.plugins.cgroup.limits import parse_size

from .fake_linux import FakeLinux

CONTROLLERS = {"cpuset", "cpu", "io", "memory", "pids", "hugetlb", "cpuacct", "blkio", "devices", "freezer"}


class CgroupKernel(FakeLinux):
    """FakeLinux whose cgroup mounts behave like cgroupfs: {mount: controllers}, "" for v2."""

    def __init__(self, proc_cgroup, mounts, offered=()):
        lines = [
            f"{30 + i} 1 0:{30 + i} / {path} rw - {'cgroup2 cgroup2 rw' if not c else 'cgroup cgroup rw,' + c}"
            for i, (path, c) in enumerate(mounts.items())
        ]
        super().__init__(files={"/proc/self/cgroup": proc_cgroup, "/proc/self/mountinfo": "\n".join(lines) + "\n"})
        self.mounts = mounts
        self.dirs = {}  # path -> controllers usable in it (v2), or those of its hierarchy (v1)
        for path, c in mounts.items():
            self.dirs[path] = set(offered) if not c else set(c.split(","))
            self.files[f"{path}/cgroup.controllers"] = " ".join(sorted(offered)) if not c else None
            self.files[f"{path}/cgroup.subtree_control"] = "" if not c else None
        for line in proc_cgroup.splitlines():  # the runtime's own cgroups exist
            _, controllers, own = line.split(":", 2)
            mount = next(m for m, c in mounts.items() if c == controllers) if controllers in mounts.values() else None
            parts = own.strip("/").split("/") if mount and own.strip("/") else []
            for i in range(len(parts)):
                self.dirs[f"{mount}/{'/'.join(parts[: i + 1])}"] = set(self.dirs[mount])

    def _v2(self, path):
        return any(path.startswith(m + "/") and not c for m, c in self.mounts.items())

    def _in_cgroupfs(self, path):
        return any(path.startswith(m + "/") for m in self.mounts)

    def mkdir(self, path, mode=0o755, exist_ok=True):
        if not self._in_cgroupfs(path):  # the container's own /sys/fs/cgroup tmpfs
            return super().mkdir(path, mode, exist_ok)
        self._record("mkdir", path)
        parent = path.rsplit("/", 1)[0]
        if path in self.dirs and not exist_ok:
            raise FileExistsError(errno.EEXIST, "File exists", path)
        if parent not in self.dirs:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        if path not in self.dirs:
            self.dirs[path] = None if self._v2(path) else set(self.dirs[parent])
            if self._v2(path):
                self.files[f"{path}/cgroup.subtree_control"] = ""

    def usable(self, directory):
        """Controllers whose files a cgroup has: in v2, those its parent enables."""
        if self.dirs[directory] is not None:
            return self.dirs[directory]
        return set((self.files.get(directory.rsplit("/", 1)[0] + "/cgroup.subtree_control") or "").split())

    def read_file(self, path, limit=4096):
        directory, knob = path.rsplit("/", 1)
        if knob == "cgroup.controllers" and self.dirs.get(directory, set()) is None:
            self.calls.append(("read_file", path))
            return " ".join(sorted(self.usable(directory)))
        return super().read_file(path, limit)

    def write_file(self, path, data):
        directory, knob = path.rsplit("/", 1)
        if directory not in self.dirs:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        if knob == "cgroup.subtree_control":
            enabled = set((self.files.get(path) or "").split())
            for word in data.split():
                if word[1:] not in CONTROLLERS:
                    raise OSError(errno.EINVAL, "Invalid argument", path)
                if word[1:] not in self.usable(directory):
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
                enabled.add(word[1:])
            data = " ".join(sorted(enabled))
        elif knob == "tasks":  # v1's threads file: v2 has none outside threaded subtrees
            if self.dirs[directory] is None:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        elif not knob.startswith("cgroup.") and knob.split(".")[0] not in self.usable(directory):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        super().write_file(path, data)

    def rmdir(self, path):
        super().rmdir(path)
        self.dirs.pop(path, None)


def opts(**kw):
    values = dict(memory=None, pids_limit=None, cpus=None, cgroupns=None, cgroup_path=None, cpu_shares=None)
    values.update(kw)
    return SimpleNamespace(**values)


def ctx(fake, **kw):
    return Context("/img", ["/bin/true"], opts(**kw), fake)


V2 = {"/sys/fs/cgroup": ""}
# This machine's layout: every controller but hugetlb on a v1 hierarchy, cgroup2 beside.
HYBRID = {
    "/sys/fs/cgroup/memory": "memory", "/sys/fs/cgroup/cpu,cpuacct": "cpu,cpuacct",
    "/sys/fs/cgroup/pids": "pids", "/sys/fs/cgroup/unified": "",
}  # fmt: skip
HYBRID_CGROUP = "4:memory:/user.slice\n3:cpu,cpuacct:/user.slice\n2:pids:/user.slice/x.scope\n0::/user.slice/x.scope\n"


def prepared(fake, **kw):
    c = ctx(fake, **kw)
    plugin = cgroup.Cgroup()
    plugin.prepare(c)
    return plugin, c


def test_hierarchies_v2_and_hybrid():
    fake = CgroupKernel("0::/user.slice/x.scope\n", V2)
    (h,) = hierarchies(fake.files["/proc/self/cgroup"], fake.files["/proc/self/mountinfo"])
    assert (h.version, h.mount) == (2, "/sys/fs/cgroup")
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    found = hierarchies(HYBRID_CGROUP, fake.files["/proc/self/mountinfo"])
    assert [(h.controllers, h.mount) for h in found] == [
        ("memory", "/sys/fs/cgroup/memory"),
        ("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
        ("pids", "/sys/fs/cgroup/pids"),
        ("", "/sys/fs/cgroup/unified"),
    ]


def test_a_later_cgroup2_mount_covers_an_earlier_one():
    # A private cgroup2 over a hybrid layout (as crun needs here): the hidden one is not used.
    mountinfo = CgroupKernel(HYBRID_CGROUP, HYBRID).files["/proc/self/mountinfo"]
    covered = mountinfo + "99 20 0:99 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
    found = hierarchies(HYBRID_CGROUP, covered)
    assert [(h.version, h.mount) for h in found] == [(2, "/sys/fs/cgroup")]  # the v1 ones are under it too
    # A later mount elsewhere covers nothing; a mount on / does not count as covering.
    elsewhere = mountinfo + "98 1 0:98 / /sys/fs/cgroupx rw - tmpfs tmpfs rw\n99 1 0:99 / / rw - tmpfs tmpfs rw\n"
    assert len(hierarchies(HYBRID_CGROUP, elsewhere)) == 4


def test_v2_limits_enable_their_controllers_and_the_init_is_born_there():
    fake = CgroupKernel("0::/user.slice/x.scope\n", V2, offered={"cpuset", "cpu", "io", "memory", "pids"})
    fake.files["/sys/fs/cgroup/cgroup.subtree_control"] = "memory"
    plugin, c = prepared(fake, memory="64m", pids_limit="10", cpus="0.5")
    path = plugin.groups[0].path
    assert path.startswith("/sys/fs/cgroup/demo-runtime/")
    writes = dict(fake.named("write_file"))
    assert writes["/sys/fs/cgroup/cgroup.subtree_control"] == "cpu memory pids"
    assert fake.files["/sys/fs/cgroup/demo-runtime/cgroup.subtree_control"] == "cpu memory pids"
    assert writes[f"{path}/memory.max"] == str(64 << 20)
    assert writes[f"{path}/pids.max"] == "10"
    assert writes[f"{path}/cpu.max"] == "50000 100000"
    assert plugin.clone_args(c) == {"cgroup": plugin.fd}  # clone3(CLONE_INTO_CGROUP)
    c.pid = 4242
    fake.files["/proc/4242/cgroup"] = "0::" + path.removeprefix("/sys/fs/cgroup") + "\n"
    plugin.setup_parent(c)
    assert f"{path}/cgroup.procs" not in dict(fake.named("write_file"))  # born there: no migration
    plugin.setup_child(c)
    assert ("unshare", linux.CLONE_NEWCGROUP) in fake.calls
    assert ("/sys/fs/cgroup", "cgroup2") in [(m[0], m[2]) for m in fake.named("mount_in_root")]
    plugin.teardown(c)
    assert fake.named("rmdir") == [(path,), ("/sys/fs/cgroup/demo-runtime",)]


def test_v2_without_the_controller_is_a_clear_refusal():
    fake = CgroupKernel("0::/\n", V2, offered={"memory"})
    with pytest.raises(ContainerError, match="no cgroup hierarchy here has the pids controller") as raised:
        prepared(fake, pids_limit="10")
    assert raised.value.code == USAGE
    assert fake.named("mkdir") == []  # refused before anything was made


def test_hybrid_by_default_uses_the_unified_and_the_pids_hierarchy():
    # The default pids limit is a v1 limit here: the only v1 hierarchy joined by default.
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, c = prepared(fake)
    assert [(g.version, g.hierarchy.controllers) for g in plugin.groups] == [(2, ""), (1, "pids")]
    assert fake.named("write_file") == [(f"{plugin.groups[1].path}/pids.max", "2048")]
    assert "cgroup" in plugin.clone_args(c)


@pytest.mark.parametrize("lifted", ["0", "unlimited", "-1"])
def test_hybrid_without_a_pids_limit_uses_only_the_unified_hierarchy(lifted):
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, _ = prepared(fake, pids_limit=lifted)
    assert [g.version for g in plugin.groups] == [2]
    assert not fake.named("write_file")


def test_v2_default_pids_limit_only_where_the_controller_is():
    with_pids = CgroupKernel("0::/x\n", V2, offered={"memory", "pids"})
    plugin, _ = prepared(with_pids)
    assert (f"{plugin.groups[0].path}/pids.max", "2048") in with_pids.named("write_file")
    without = CgroupKernel("0::/x\n", V2, offered={"memory"})
    prepared(without)  # no pids controller: no default, and no failure
    assert not [w for w in without.named("write_file") if "pids" in w[0] or "pids" in w[1]]
    with pytest.raises(ContainerError, match="no cgroup hierarchy here has the pids controller"):
        prepared(CgroupKernel("0::/x\n", V2, offered={"memory"}), pids_limit="10")


def test_memory_limits_the_kernel_cannot_hold_are_refused():
    assert parse_size("8589934591g") == 8589934591 << 30  # the largest whole g that fits
    for too_big in ("99999999999g", "8589934592g", str(1 << 63)):
        with pytest.raises(ContainerError, match="above the kernel's largest limit"):
            parse_size(too_big)


def test_without_a_unified_hierarchy_there_is_no_clone_argument():
    fake = CgroupKernel("2:memory:/\n", {"/sys/fs/cgroup/memory": "memory"})
    plugin, c = prepared(fake, memory="64m")
    assert [g.version for g in plugin.groups] == [1] and plugin.clone_args(c) == {}


def test_hybrid_memory_limit_goes_to_v1_nested_under_our_cgroup():
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, c = prepared(fake, memory="1g")
    memory = next(g for g in plugin.groups if g.version == 1)
    assert memory.path.startswith("/sys/fs/cgroup/memory/user.slice/demo-runtime/")
    assert (f"{memory.path}/memory.limit_in_bytes", str(1 << 30)) in fake.named("write_file")
    c.pid = 4242
    plugin.setup_parent(c)
    assert not [path for path, _ in fake.named("write_file") if path.startswith(f"{memory.path}/cgroup.procs")]
    # The init moves itself in, as a thread through v1's tasks: no cgroup_threadgroup_rwsem.
    memory.enter(fake)
    assert fake.named("write_file")[-1] == (f"{memory.path}/tasks", "0")


def test_a_process_moving_itself_takes_v1s_tasks_and_v2s_cgroup_procs():
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, _ = prepared(fake, memory="1g")
    for group in plugin.groups:
        move_self(fake, group.path)
        assert fake.named("write_file")[-1] == (f"{group.path}/{'tasks' if group.version == 1 else 'cgroup.procs'}", "0")


def test_hybrid_limit_whose_controller_is_on_no_v1_hierarchy_is_refused():
    # The bug the review found: pids on no v1 hierarchy (unmounted), and the unified
    # hierarchy does not offer it either; pids.max then did not exist (exit 125).
    layout = {k: v for k, v in HYBRID.items() if v != "pids"}
    fake = CgroupKernel(HYBRID_CGROUP, layout, offered={"hugetlb"})
    with pytest.raises(ContainerError, match="no cgroup hierarchy here has the pids controller") as raised:
        prepared(fake, pids_limit="10")
    assert raised.value.code == USAGE


def test_hybrid_limit_whose_controller_only_v2_offers_is_enabled_there():
    layout = {k: v for k, v in HYBRID.items() if v != "pids"}
    fake = CgroupKernel(HYBRID_CGROUP, layout, offered={"pids", "hugetlb"})
    plugin, _ = prepared(fake, pids_limit="10", memory="64m")
    v2 = next(g for g in plugin.groups if g.version == 2)
    assert (f"{v2.path}/pids.max", "10") in fake.named("write_file")
    assert fake.files["/sys/fs/cgroup/unified/demo-runtime/cgroup.subtree_control"] == "pids"
    memory = next(g for g in plugin.groups if g.version == 1)
    assert (f"{memory.path}/memory.limit_in_bytes", str(64 << 20)) in fake.named("write_file")
    assert f"{v2.path}/memory.max" not in dict(fake.named("write_file"))


def test_hybrid_mounts_a_tmpfs_with_each_hierarchy_and_links():
    fake = CgroupKernel(HYBRID_CGROUP, HYBRID)
    plugin, c = prepared(fake, cpus="0.5")
    plugin.setup_child(c)
    mounts = [(m[0], m[2]) for m in fake.named("mount_in_root")]
    assert mounts[:3] == [("/sys/fs/cgroup", "tmpfs"), ("/sys/fs/cgroup/unified", "cgroup2"), ("/sys/fs/cgroup/cpu,cpuacct", "cgroup")]
    assert ("cpu,cpuacct", "/sys/fs/cgroup/cpuacct") in fake.named("symlink_in_root")
    assert fake.named("mount_in_root")[-1][3] & linux.MS_RDONLY


@pytest.mark.parametrize("bad", [dict(memory="lots"), dict(memory="1k"), dict(pids_limit="-2"), dict(pids_limit="many"), dict(cpus="-1"), dict(cgroupns="shared")])
def test_bad_cgroup_options(bad):
    with pytest.raises(ContainerError):
        prepared(CgroupKernel("0::/\n", V2, offered=CONTROLLERS), **bad)


def test_pickled_for_another_process_it_keeps_the_groups_not_the_fd():
    # OCI create saves the plugin for delete, another process, where the fd is no longer ours.
    import pickle

    fake = CgroupKernel("0::/x\n", V2, offered={"pids"})
    plugin, _ = prepared(fake)
    assert plugin.fd is not None
    copy = pickle.loads(pickle.dumps(plugin))
    assert copy.fd is None and [g.path for g in copy.groups] == [g.path for g in plugin.groups]
