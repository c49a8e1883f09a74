from types import SimpleNamespace

import pytest

from runtime import linux, plugins
from runtime.plugin import Context, Plugin
from runtime.plugins.uts import hostname_from_image_path, valid_hostname

from .fake_linux import FakeLinux


def options(**overrides):
    values = dict(disable=[], plugin=[], hostname=None, rw=False)
    values.update(overrides)
    return SimpleNamespace(**values)


def run_child_setup(ctx, names=None, loop_device=None):
    for cls in plugins.select(ctx.options):
        if names is None or cls.name in names:
            plugin = cls()
            if loop_device and cls.name == "mount-image":
                plugin.loop_device = loop_device  # what its prepare() would have attached
            plugin.setup_child(ctx)


def context(fake=None, **option_values):
    return Context("/images/web.img", ["/bin/sh"], options(**option_values), fake or FakeLinux())


def test_default_selection_is_the_full_order():
    assert plugins.select(options()) == [c for c in plugins.ORDER if c.default]


def test_clone_flags_are_the_union_of_the_plugins():
    ctx = context()
    flags = 0
    for cls in plugins.select(ctx.options):
        flags |= cls().clone_flags(ctx)
    expected = linux.CLONE_NEWNS | linux.CLONE_NEWPID | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS | linux.CLONE_NEWNET
    assert flags == expected


def test_disable_removes_a_plugin_and_its_flag():
    chosen = plugins.select(options(disable=["net"]))
    assert plugins.NetNamespace not in chosen


def test_disabling_a_required_plugin_is_refused():
    with pytest.raises(plugins.PluginError, match="proc needs mount-image"):
        plugins.select(options(disable=["mount-image"]))


def test_privileged_is_the_hardening_plugins_off():
    chosen = {c.name for c in plugins.select(options(privileged=True))}
    assert chosen == {c.name for c in plugins.ORDER if c.default} - set(plugins.PRIVILEGED_OFF)
    with pytest.raises(plugins.PluginError, match="--userns and --privileged exclude each other"):
        plugins.select(options(privileged=True, userns=True))


def test_unknown_plugin_names_are_refused(monkeypatch):
    monkeypatch.setattr(plugins, "third_party", dict)
    with pytest.raises(plugins.PluginError, match="cannot disable unknown plugin"):
        plugins.select(options(disable=["warp"]))
    with pytest.raises(plugins.PluginError, match="unknown plugin 'warp'"):
        plugins.select(options(plugin=["warp"]))


def test_third_party_plugins_load_by_entry_point_and_run_last(monkeypatch):
    class Extra(Plugin):
        name = "extra"

    entry = SimpleNamespace(load=lambda: Extra, value="pkg:Extra")
    monkeypatch.setattr(plugins, "third_party", lambda: {"extra": entry})
    assert plugins.select(options(plugin=["extra"]))[-1] is Extra


def test_mount_plan_read_only_overlay_then_pivot():
    fake = FakeLinux()
    ctx = context(fake)
    run_child_setup(ctx, {"mount", "mount-image", "clean-mounts"}, loop_device="/dev/loop7")
    mounts = fake.named("mount")
    assert mounts[0] == (None, "/", None, linux.MS_REC | linux.MS_SLAVE, None)
    assert mounts[1][:3] == ("tmpfs", "/tmp", "tmpfs")
    assert mounts[2] == ("/dev/loop7", "/tmp/image-read-only", "ext4", linux.MS_RDONLY, "noload")
    layers = "lowerdir=/tmp/image-read-only,upperdir=/tmp/writes-in-memory,workdir=/tmp/overlay-work"
    assert mounts[3] == ("web.img", "/tmp/root", "overlay", 0, layers)  # the image file names the root
    tail = [c for c in fake.calls if c[0] in ("chdir", "pivot_root", "umount")]
    assert tail == [("chdir", "/tmp/root"), ("pivot_root", ".", "."), ("umount", ".", linux.MNT_DETACH), ("chdir", "/")]


def test_rw_mounts_the_image_itself_as_root():
    fake = FakeLinux()
    ctx = context(fake, rw=True)
    run_child_setup(ctx, {"mount-image"}, loop_device="/dev/loop7")
    assert fake.named("mount")[1] == ("/dev/loop7", "/tmp/root", "ext4", 0, "")
    assert ctx.rootfs == "/tmp/root"


def test_dev_binds_host_nodes_and_mounts_private_devpts():
    fake = FakeLinux()
    ctx = context(fake)
    ctx.rootfs = "/r"
    run_child_setup(ctx, {"dev"})
    mounts = fake.named("mount_in_root")  # (path in the root, source, fstype, flags, data)
    assert mounts[0][:3] == ("/dev", "tmpfs", "tmpfs")
    binds = [(m[1], m[0]) for m in mounts if m[3] == linux.MS_BIND]
    assert binds == [(f"/dev/{n}", f"/dev/{n}") for n in ("null", "zero", "full", "random", "urandom", "tty")]
    devpts = [m for m in mounts if m[2] == "devpts"]
    assert "newinstance" in devpts[0][4] and "ptmxmode=0666" in devpts[0][4]
    assert ("pts/ptmx", "/dev/ptmx") in fake.named("symlink_in_root")
    assert not fake.named("mount") and not fake.named("symlink")  # nothing by a plain path


def test_sys_is_mounted_read_only():
    fake = FakeLinux()
    ctx = context(fake)
    ctx.rootfs = "/r"
    run_child_setup(ctx, {"sys"})
    assert fake.named("mount_in_root")[0][:3] == ("/sys", "sysfs", "sysfs")
    assert fake.named("mount_in_root")[0][3] & linux.MS_RDONLY


@pytest.mark.parametrize(
    "option, files, expected",
    [
        ("given", {"/etc/hostname": "fromimage\n"}, "given"),
        (None, {"/etc/hostname": "fromimage\nsecond line\n"}, "fromimage"),
        (None, {}, "web"),
        (None, {"/etc/hostname": "not a valid name!\n"}, "web"),
    ],
)
def test_hostname_sources_in_order(option, files, expected):
    fake = FakeLinux(files=files)
    ctx = context(fake, hostname=option)
    run_child_setup(ctx, {"uts"})
    assert fake.named("sethostname") == [(expected,)]
    assert ctx.env["HOSTNAME"] == expected


@pytest.mark.parametrize(
    "path, expected",
    [("/x/web.img", "web"), ("Web_42.img", "web-42"), ("/x/.img", "container"), ("a" * 80 + ".img", "a" * 63)],
)
def test_hostname_from_image_path(path, expected):
    assert hostname_from_image_path(path) == expected
    assert valid_hostname(expected)


def test_net_brings_loopback_up():
    fake = FakeLinux()
    run_child_setup(context(fake), {"net"})
    assert fake.named("set_link_up") == [("lo",)]
