"""Plugins explain themselves: --explain, what --disable loses, complete refusals."""

from types import SimpleNamespace

import pytest

from runtime import plugins
from runtime.plugin import Context, explanations
from runtime.plugins.uts import choose_hostname

from .fake_linux import FakeLinux


def options(**overrides):
    values = dict(disable=[], plugin=[], hostname=None, rw=False, cgroupns=None, cgroup_path=None, cpu_shares=None, memory=None, pids_limit=None, cpus=None)
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("cls", plugins.ORDER, ids=lambda c: c.name)
def test_every_builtin_says_what_it_does_and_what_is_lost(cls):
    assert cls.does and "\n" not in cls.does
    assert cls.lost and "\n" not in cls.lost


def test_disabling_a_needed_plugin_names_every_dependent_and_the_flag():
    with pytest.raises(plugins.PluginError) as refused:
        plugins.select(options(disable=["mount-image"]))
    message = str(refused.value)
    for dependent in ("proc", "sys", "dev", "volumes", "net", "masked-paths", "cgroup", "clean-mounts", "nodev"):
        assert f"{dependent} needs" in message
    flag = message.rsplit("--disable ", 1)[1]
    assert flag == "mount-image,proc,sys,dev,volumes,net,masked-paths,cgroup,clean-mounts,nodev"
    names = {c.name for c in plugins.select(options(disable=flag.split(",")))}
    assert names.isdisjoint(flag.split(","))


def test_cgroup_does_not_need_sys():
    """It makes its own mount point in the root: --disable sys keeps the cgroup."""
    assert plugins.Cgroup in plugins.select(options(disable=["sys"]))


@pytest.mark.parametrize(
    "disable, given, message",
    [
        ("uts", dict(hostname="web"), r"--hostname \(-H\) needs the uts plugin, which is disabled"),
        ("time", dict(time_offset="5"), "--time-offset needs the time plugin, which is disabled"),
        ("cgroup", dict(memory="64m"), "--memory needs the cgroup plugin, which is disabled"),
        ("net", dict(net="host"), "--net needs the net plugin, which is disabled"),
        ("caps", dict(cap_add=["SYS_ADMIN"]), "--cap-add needs the caps plugin, which is disabled"),
    ],
)
def test_an_option_of_a_disabled_plugin_is_refused(disable, given, message):
    plugins.select(options(**given))  # fine with the plugin on
    with pytest.raises(plugins.PluginError, match=message):
        plugins.select(options(disable=[disable], **given))


def test_an_option_of_an_opt_in_plugin_that_is_off_says_how_to_turn_it_on():
    with pytest.raises(plugins.PluginError, match=r"--userns-base needs the userns plugin, which is off \(--plugin userns\)"):
        plugins.select(options(userns_base="200000"))
    assert plugins.UserNamespace in plugins.select(options(userns=True, userns_base="200000"))


def test_the_default_value_of_an_option_is_no_use_of_it():
    assert plugins.NetNamespace not in plugins.select(options(disable=["net"], net="none"))


def notes_for(**given):
    opts = options(**given)
    return plugins.notes(opts, plugins.select(opts))


def test_defaults_say_nothing():
    assert notes_for() == []


def test_each_disabled_plugin_says_once_what_is_lost():
    assert notes_for(disable=["pid", "ipc", "pid"]) == [
        f"pid disabled: {plugins.PidNamespace.lost}",
        f"ipc disabled: {plugins.IpcNamespace.lost}",
    ]


def test_disabling_an_opt_in_plugin_that_is_off_loses_nothing():
    assert notes_for(disable=["time"]) == []


@pytest.mark.parametrize(
    "given, warned",
    [
        (dict(disable=["caps", "uts"]), ["uts"]),
        (dict(disable=["caps", "net", "ipc"]), ["ipc", "net"]),
        (dict(disable=["caps"], net="host"), ["net"]),
        (dict(disable=["uts"], cap_add=["SYS_ADMIN"]), ["uts"]),
        (dict(disable=["uts", "net"]), []),  # the default capabilities act on neither
        (dict(disable=["caps"]), []),  # every namespace is the container's own
        (dict(disable=["caps", "uts"], userns=True), []),  # capabilities only in its user namespace
    ],
)
def test_capabilities_in_a_host_namespace_warn(given, warned):
    warnings = [line for line in notes_for(**given) if line.startswith("warning:")]
    assert [line.split()[1] for line in warnings] == warned
    for line in warnings:
        cap = {c.name: c for c in plugins.ORDER}[line.split()[1]].host_power[0]
        assert f"keeps CAP_{cap}: root in it can" in line


@pytest.mark.parametrize(
    "requested, etc_hostname, expected, source",
    [
        ("given", "fromimage\n", "given", "from --hostname"),
        (None, "fromimage\nsecond line\n", "fromimage", "from the image's /etc/hostname"),
        (None, None, "web", "no usable /etc/hostname"),
        (None, "not a valid name!\n", "web", "no usable /etc/hostname"),
        (None, "buildhost\n", "web", "its /etc/hostname is this host's own name, buildhost"),
    ],
)
def test_hostname_and_where_it_came_from(requested, etc_hostname, expected, source):
    name, why = choose_hostname(requested, etc_hostname, "buildhost", "/images/web.img")
    assert name == expected
    assert source in why


def test_explain_reports_each_plugin_with_the_facts_of_this_run():
    fake = FakeLinux(files={"/etc/hostname": "fromimage\n"})
    fake.get_caps = lambda: (0, 1 << 0 | 1 << 5, 0)  # CHOWN and KILL kept
    ctx = Context("/images/web.img", ["/bin/sh"], options(), fake)
    chosen = [cls() for cls in plugins.select(ctx.options) if cls.name in ("mount-image", "uts", "caps")]
    chosen[0].loop_device = "/dev/loop7"  # what mount-image's prepare() attached
    chosen[-1].prepare(ctx)  # caps: which capabilities to keep
    for plugin in chosen:
        plugin.setup_child(ctx)
    lines = explanations(ctx, chosen).splitlines()
    assert lines[0] == "demo-runtime: what each plugin did (--explain):"
    assert lines[1].startswith("  mount-image: /dev/loop7 <- /images/web.img, read-only")
    assert lines[2].startswith(" " * len("  mount-image: ")) and "LO_FLAGS_AUTOCLEAR" in lines[2]
    assert lines[3] == f"  uts: {plugins.UtsNamespace.does}"
    assert lines[4].strip() == "hostname fromimage, from the image's /etc/hostname"
    assert lines[5] == "  caps: keeps 2 of 41 capabilities: CHOWN KILL"
