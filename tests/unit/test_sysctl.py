"""--sysctl: the container's own namespaces' settings only, as docker allows them."""

from types import SimpleNamespace

import pytest

from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.sysctl import Sysctl, parse_sysctls

from .fake_linux import FakeLinux


def options(**values):
    return SimpleNamespace(**{"disable": [], "net": "none", "sysctl": [], **values})


def test_namespaced_settings_are_taken():
    given = ["kernel.shmmax=4096", "fs.mqueue.msg_max=20", "net/ipv4/ip_forward=1", "kernel.domainname=example"]
    assert parse_sysctls(given, options()) == [
        ("kernel.shmmax", "4096"), ("fs.mqueue.msg_max", "20"), ("net.ipv4.ip_forward", "1"), ("kernel.domainname", "example"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "spec, values, message",
    [
        ("kernel.panic=1", {}, "not a setting of the container's own namespaces"),
        ("vm.swappiness=1", {}, "would change the host's kernel"),
        ("kernel.hostname=x", {}, "use --hostname"),
        ("net.ipv4.ip_forward=1", {"net": "host"}, "shares the host's net namespace"),
        ("kernel.sem=1 2 3 4", {"disable": ["ipc"]}, "shares the host's ipc namespace"),
        ("kernel.domainname=x", {"disable": ["uts"]}, "shares the host's uts namespace"),
        ("net..x=1", {}, "use KEY=VALUE"),
        ("net.ipv4.ip_forward", {}, "use KEY=VALUE"),
        ("NET.x=1", {}, "use KEY=VALUE"),
    ],
)
def test_the_rest_is_refused(spec, values, message):
    with pytest.raises(ContainerError, match=message) as refused:
        parse_sysctls([spec], options(**values))
    assert refused.value.code == 64


def test_written_in_the_child_through_proc_sys():
    fake = FakeLinux()
    ctx = Context("/i.img", ["/bin/sh"], options(sysctl=["net.ipv4.ip_forward=1", "kernel.shmmni=99"]), fake)
    plugin = Sysctl()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    assert fake.named("write_file") == [("/proc/sys/net/ipv4/ip_forward", "1"), ("/proc/sys/kernel/shmmni", "99")]


def test_a_setting_this_kernel_lacks_names_it():
    fake = FakeLinux(fail={"write_file": FileNotFoundError(2, "No such file or directory")})
    ctx = Context("/i.img", ["/bin/sh"], options(sysctl=["net.core.rmem_max=1"]), fake)
    plugin = Sysctl()
    plugin.prepare(ctx)
    with pytest.raises(ContainerError, match="--sysctl net.core.rmem_max=1: write /proc/sys/net/core/rmem_max: No such file"):
        plugin.setup_child(ctx)
