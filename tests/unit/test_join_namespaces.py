"""ns:PATH joins a namespace: no clone flag, setns() just around clone(), no fresh setup."""

from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins import IpcNamespace, NetNamespace, PidNamespace, UtsNamespace
from runtime.plugins.join import parse_join

from .fake_linux import FakeLinux


def context(fake, **values):
    base = dict(net="none", ipc=None, uts=None, pid=None, hostname=None, subnet=None, nat=False, rw=False)
    base.update(values)
    return Context("/images/web.img", ["/bin/sh"], SimpleNamespace(**base), fake)


def test_parse_join():
    assert parse_join("ns:/run/netns/pod", "--net") == "/run/netns/pod"
    assert parse_join("bridge", "--net") is None and parse_join(None, "--ipc") is None
    with pytest.raises(ContainerError, match="must be absolute"):
        parse_join("ns:pod", "--net")


@pytest.mark.parametrize(
    "cls, option, flag, kind",
    [
        (IpcNamespace, "ipc", linux.CLONE_NEWIPC, "ipc"),
        (UtsNamespace, "uts", linux.CLONE_NEWUTS, "uts"),
        (PidNamespace, "pid", linux.CLONE_NEWPID, "pid"),
        (NetNamespace, "net", linux.CLONE_NEWNET, "net"),
    ],
)
def test_joined_instead_of_new(tmp_path, cls, option, flag, kind):
    target = tmp_path / "ns"
    target.write_text("")
    fake = FakeLinux()
    ctx = context(fake, **{option: f"ns:{target}"})
    plugin = cls()
    plugin.prepare(ctx)
    assert plugin.clone_flags(ctx) == 0
    assert [c[1] for c in fake.calls if c[0] == "open"] == [str(target), f"/proc/self/ns/{kind}"]
    plugin.clone_args(ctx)
    entered = fake.named("setns")
    assert entered == [(plugin.joined.fd, flag)]
    plugin.setup_parent(ctx)
    assert fake.named("setns")[1] == (plugin.joined.own, flag)  # back to the runtime's own
    plugin.teardown(ctx)
    assert len(fake.named("setns")) == 2 and plugin.joined is None
    new = cls()
    new.prepare(context(FakeLinux()))
    assert new.clone_flags(ctx) == flag


def test_a_failed_start_goes_back_to_the_runtimes_own(tmp_path):
    (tmp_path / "ns").write_text("")
    fake = FakeLinux()
    ctx = context(fake, pid=f"ns:{tmp_path / 'ns'}")
    plugin = PidNamespace()
    plugin.prepare(ctx)
    plugin.clone_args(ctx)
    plugin.teardown(ctx)  # clone failed: no setup_parent
    assert [c[1] for c in fake.named("setns")] == [linux.CLONE_NEWPID, linux.CLONE_NEWPID]


def test_a_path_that_is_no_namespace_of_that_kind(tmp_path):
    (tmp_path / "ns").write_text("")
    fake = FakeLinux(fail={"setns": OSError(22, "Invalid argument")})
    ctx = context(fake, ipc=f"ns:{tmp_path / 'ns'}")
    plugin = IpcNamespace()
    plugin.prepare(ctx)
    with pytest.raises(ContainerError, match="setns: Invalid argument \\(is it a ipc namespace\\?\\)") as refused:
        plugin.clone_args(ctx)
    assert refused.value.code == 64
    plugin.teardown(ctx)


def test_a_missing_path_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(ContainerError, match="No such file") as refused:
        UtsNamespace().prepare(context(FakeLinux(), uts=f"ns:{tmp_path / 'none'}"))
    assert refused.value.code == 64


def test_a_joined_netns_is_left_as_it_is(tmp_path):
    (tmp_path / "ns").write_text("")
    fake = FakeLinux()
    ctx = context(fake, net=f"ns:{tmp_path / 'ns'}")
    ctx.rootfs = "/r"
    plugin = NetNamespace()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    assert not fake.named("set_link_up") and not [w for w in fake.named("write_file") if w[0].startswith("/proc/sys")]
    assert [m[0] for m in fake.named("mount_in_root")] == ["/etc/hosts"]
    plugin.teardown(ctx)


def test_a_joined_uts_namespace_keeps_its_hostname_unless_given(tmp_path):
    (tmp_path / "ns").write_text("")
    for hostname, set_to in ((None, []), ("web", [("web",)])):
        fake = FakeLinux()
        ctx = context(fake, uts=f"ns:{tmp_path / 'ns'}", hostname=hostname)
        ctx.rootfs = "/r"
        plugin = UtsNamespace()
        plugin.prepare(ctx)
        plugin.setup_child(ctx)
        assert fake.named("sethostname") == set_to
        plugin.teardown(ctx)


@pytest.mark.parametrize("option, value", [("ipc", "host"), ("pid", "private"), ("uts", "ns")])
def test_other_values_are_refused(option, value):
    with pytest.raises(ContainerError, match=f"invalid --{option} '{value}': use ns:PATH"):
        {"ipc": IpcNamespace, "pid": PidNamespace, "uts": UtsNamespace}[option]().prepare(context(FakeLinux(), **{option: value}))
