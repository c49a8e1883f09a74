"""Hardening plugins (issue 4) against the fake syscall layer: caps, masked paths,
seccomp compile and cache, cgroup v1/v2/hybrid plans."""

import sys
from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Container
from runtime.plugins import caps, cgroup, masked_paths, seccomp

from .fake_linux import FakeLinux


def opts(**kw):
    values = dict(
        cap_add=[], cap_drop=[], privileged=False, mask=[], unmask=[], seccomp=None,
        memory=None, pids_limit=None, cpus=None, cgroupns=None,
    )  # fmt: skip
    values.update(kw)
    return SimpleNamespace(**values)


def ctx(fake=None, **kw):
    return Container("/img", ["/bin/true"], opts(**kw), fake or FakeLinux())


PODMAN_CAPS = 0x800405FB  # Docker's 14 less NET_RAW (13), MKNOD (27), AUDIT_WRITE (29)


def test_default_caps_are_podmans_11():
    assert caps.mask(caps.capabilities(opts())) == PODMAN_CAPS == 0xA80425FB & ~(1 << 13 | 1 << 27 | 1 << 29)
    assert caps.capabilities(opts(cap_add=["NET_RAW,MKNOD", "AUDIT_WRITE"])) == caps.DEFAULT | {"NET_RAW", "MKNOD", "AUDIT_WRITE"}


def test_cap_add_drop_all_and_names():
    assert caps.capabilities(opts(cap_drop=["ALL"], cap_add=["net_admin,CAP_CHOWN"])) == {"NET_ADMIN", "CHOWN"}
    assert caps.capabilities(opts(cap_add=["ALL"], cap_drop=["SYS_ADMIN"])) == set(caps.NAMES) - {"SYS_ADMIN"}
    with pytest.raises(ContainerError):
        caps.capabilities(opts(cap_add=["WARP"]))


def test_caps_child_drops_bounding_and_sets_the_rest():
    fake = FakeLinux()
    fake.get_caps = lambda: (0, (1 << 41) - 1, 0)
    c = ctx(fake)
    plugin = caps.Capabilities()
    plugin.prepare(c)
    plugin.setup_child(c)
    dropped = {call[0] for call in fake.named("drop_bounding_cap")}
    assert dropped == set(range(41 + 1)) - {caps.NUMBER[n] for n in caps.DEFAULT}
    assert fake.named("set_caps") == [(PODMAN_CAPS, PODMAN_CAPS, 0)]
    assert fake.named("clear_ambient_caps") == [()]


def test_masked_plan_and_unmask():
    masked, read_only = masked_paths.plan(opts())
    assert len(masked) == 12 and len(read_only) == 5
    masked, read_only = masked_paths.plan(opts(unmask=["/proc/keys,/proc/sys"]))
    assert "/proc/keys" not in masked and "/proc/sys" not in read_only
    assert masked_paths.plan(opts(unmask=["ALL"])) == ((), ())
    assert masked_paths.plan(opts(privileged=True)) == ((), ())


def test_default_profile_compiles_and_is_cached(tmp_path):
    program = seccomp.load_program(seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path))
    assert program and len(program) % 8 == 0
    assert len(list(tmp_path.iterdir())) == 1
    # A hit needs neither the compiler module nor libseccomp.
    sys.modules.pop("runtime.seccomp_compile", None)
    assert seccomp.load_program(seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path)) == program
    assert "runtime.seccomp_compile" not in sys.modules


def test_cache_key_depends_on_caps_and_profile():
    a = seccomp.cache_key(b"{}", caps.DEFAULT)
    assert a != seccomp.cache_key(b"{}", caps.DEFAULT | {"SYS_ADMIN"})
    assert a != seccomp.cache_key(b"{ }", caps.DEFAULT)


def test_bad_profile_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ContainerError):
        seccomp.load_program(str(bad), caps.DEFAULT, str(tmp_path / "cache"))


V2_MOUNTINFO = "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
HYBRID_MOUNTINFO = (
    "30 1 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "31 1 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "32 1 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "33 1 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
)
HYBRID_CGROUP = "4:memory:/user.slice\n3:cpu,cpuacct:/user.slice\n2:pids:/user.slice/x.scope\n0::/user.slice/x.scope\n"


def test_hierarchies_v2_and_hybrid():
    (h,) = cgroup.hierarchies("0::/user.slice/x.scope\n", V2_MOUNTINFO)
    assert (h.version, h.mount) == (2, "/sys/fs/cgroup")
    found = cgroup.hierarchies(HYBRID_CGROUP, HYBRID_MOUNTINFO)
    assert [(h.controllers, h.mount) for h in found] == [
        ("memory", "/sys/fs/cgroup/memory"),
        ("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
        ("pids", "/sys/fs/cgroup/pids"),
        ("", "/sys/fs/cgroup/unified"),
    ]


def test_a_later_cgroup2_mount_covers_an_earlier_one():
    # A private cgroup2 over a hybrid layout (as crun needs here): the hidden one is not used.
    covered = HYBRID_MOUNTINFO + "99 20 0:99 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
    found = cgroup.hierarchies(HYBRID_CGROUP, covered)
    assert [(h.version, h.mount) for h in found] == [(2, "/sys/fs/cgroup")]  # the v1 ones are under it too
    # A later mount elsewhere covers nothing; a mount on / does not count as covering.
    elsewhere = HYBRID_MOUNTINFO + "98 1 0:98 / /sys/fs/cgroupx rw - tmpfs tmpfs rw\n99 1 0:99 / / rw - tmpfs tmpfs rw\n"
    assert len(cgroup.hierarchies(HYBRID_CGROUP, elsewhere)) == 4


def test_v2_plan_limits_born_in_cgroup_and_teardown():
    fake = FakeLinux(files={
        "/proc/self/cgroup": "0::/user.slice/x.scope\n", "/proc/self/mountinfo": V2_MOUNTINFO,
        "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids", "/sys/fs/cgroup/cgroup.subtree_control": "memory",
    })  # fmt: skip
    c = ctx(fake, memory="64m", pids_limit="10", cpus="0.5")
    plugin = cgroup.Cgroup()
    plugin.prepare(c)
    path = plugin.hierarchies[0].path
    assert path.startswith("/sys/fs/cgroup/demo-runtime/")
    writes = dict(fake.named("write_file"))
    assert writes["/sys/fs/cgroup/cgroup.subtree_control"] == "+cpu +pids"
    assert writes["/sys/fs/cgroup/demo-runtime/cgroup.subtree_control"] == "+cpu +memory +pids"
    assert writes[f"{path}/memory.max"] == str(64 << 20)
    assert writes[f"{path}/pids.max"] == "10"
    assert writes[f"{path}/cpu.max"] == "50000 100000"
    assert c.cgroup_fd is not None  # clone3(CLONE_INTO_CGROUP)
    c.pid = 4242
    fake.files["/proc/4242/cgroup"] = "0::" + path.removeprefix("/sys/fs/cgroup") + "\n"
    plugin.setup_parent(c)
    assert f"{path}/cgroup.procs" not in dict(fake.named("write_file"))  # born there: no migration
    plugin.setup_child(c)
    assert ("unshare", linux.CLONE_NEWCGROUP) in fake.calls
    assert ("/sys/fs/cgroup", "cgroup2") in [(m[0], m[2]) for m in fake.named("mount_in_root")]
    plugin.teardown(c)
    assert fake.named("rmdir") == [(path,), ("/sys/fs/cgroup/demo-runtime",)]


def test_hybrid_without_limits_uses_the_unified_and_the_pids_hierarchy():
    # The default pids limit is a v1 limit here: the only v1 hierarchy joined by default.
    fake = FakeLinux(files={"/proc/self/cgroup": HYBRID_CGROUP, "/proc/self/mountinfo": HYBRID_MOUNTINFO})
    plugin = cgroup.Cgroup()
    plugin.prepare(ctx(fake))
    assert [(h.version, h.controllers) for h in plugin.hierarchies] == [(1, "pids"), (2, "")]
    pids = plugin.hierarchies[0]
    assert fake.named("write_file") == [(f"{pids.path}/pids.max", "2048")]


@pytest.mark.parametrize("lifted", ["0", "unlimited", "-1"])
def test_hybrid_without_a_pids_limit_uses_only_the_unified_hierarchy(lifted):
    fake = FakeLinux(files={"/proc/self/cgroup": HYBRID_CGROUP, "/proc/self/mountinfo": HYBRID_MOUNTINFO})
    plugin = cgroup.Cgroup()
    plugin.prepare(ctx(fake, pids_limit=lifted))
    assert [h.version for h in plugin.hierarchies] == [2]
    assert not fake.named("write_file")


def test_v2_default_pids_limit_only_where_the_controller_is():
    files = {"/proc/self/cgroup": "0::/x\n", "/proc/self/mountinfo": V2_MOUNTINFO}
    with_pids = FakeLinux(files={**files, "/sys/fs/cgroup/cgroup.controllers": "memory pids"})
    plugin = cgroup.Cgroup()
    plugin.prepare(ctx(with_pids))
    assert (f"{plugin.hierarchies[0].path}/pids.max", "2048") in with_pids.named("write_file")
    without = FakeLinux(files={**files, "/sys/fs/cgroup/cgroup.controllers": "memory"})
    cgroup.Cgroup().prepare(ctx(without))  # no pids controller: no default, and no failure
    assert not [w for w in without.named("write_file") if "pids" in w[0] or "pids" in w[1]]
    with pytest.raises(ContainerError, match="pids cgroup controller is not available"):
        cgroup.Cgroup().prepare(ctx(FakeLinux(files=dict(without.files)), pids_limit="10"))


def test_memory_limits_the_kernel_cannot_hold_are_refused():
    assert cgroup.parse_size("8589934591g") == 8589934591 << 30  # the largest whole g that fits
    for too_big in ("99999999999g", "8589934592g", str(1 << 63)):
        with pytest.raises(ContainerError, match="above the kernel's largest limit"):
            cgroup.parse_size(too_big)


def test_hybrid_memory_limit_goes_to_v1_nested_under_our_cgroup():
    fake = FakeLinux(files={"/proc/self/cgroup": HYBRID_CGROUP, "/proc/self/mountinfo": HYBRID_MOUNTINFO})
    c = ctx(fake, memory="1g")
    plugin = cgroup.Cgroup()
    plugin.prepare(c)
    memory = next(h for h in plugin.hierarchies if h.version == 1)
    assert memory.path.startswith("/sys/fs/cgroup/memory/user.slice/demo-runtime/")
    assert (f"{memory.path}/memory.limit_in_bytes", str(1 << 30)) in fake.named("write_file")
    c.pid = 4242
    plugin.setup_parent(c)
    assert (f"{memory.path}/cgroup.procs", "4242") in fake.named("write_file")


@pytest.mark.parametrize("bad", [dict(memory="lots"), dict(memory="1k"), dict(pids_limit="-2"), dict(pids_limit="many"), dict(cpus="-1"), dict(cgroupns="shared")])
def test_bad_cgroup_options(bad):
    fake = FakeLinux(files={"/proc/self/cgroup": "0::/\n", "/proc/self/mountinfo": V2_MOUNTINFO})
    with pytest.raises(ContainerError):
        cgroup.Cgroup().prepare(ctx(fake, **bad))


def test_mask_paths_must_be_absolute():
    from types import SimpleNamespace

    from runtime.errors import ContainerError
    from runtime.plugins import masked_paths

    with pytest.raises(ContainerError, match="not an absolute path"):
        masked_paths.plan(SimpleNamespace(privileged=False, mask=["proc/kcore"], unmask=[]))
