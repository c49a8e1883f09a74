"""The network plugin's modes and options, and the address leases (no root needed)."""

import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from runtime import cli, linux, plugins
from runtime.plugins.net import netconf
from runtime.errors import USAGE, ContainerError
from runtime.linux import Linux
from runtime.plugins.net.leases import BridgeState, Exhausted
from runtime.plugin import Context
from runtime.plugins.net import NetNamespace, hosts_file, parse_mode, valid_ifname

from .fake_linux import FakeLinux


def context(fake=None, **values):
    options = SimpleNamespace(**{"disable": [], "plugin": [], "net": "none", "subnet": None, "nat": False, "rw": False})
    for key, value in values.items():
        setattr(options, key, value)
    return Context("/images/web.img", ["/bin/sh"], options, fake or FakeLinux())


# -- modes and options ------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("none", ("none", None)),
        ("host", ("host", None)),
        ("bridge", ("bridge", "dr0")),
        ("bridge=br-lab", ("bridge", "br-lab")),
        (None, ("none", None)),
    ],
)
def test_modes(value, expected):
    assert parse_mode(value) == expected


@pytest.mark.parametrize(
    "value", ["bridged", "none=x", "host=eth0", "bridge=", "bridge=a/b", "bridge=" + "x" * 16, "container:web"]
)
def test_bad_modes_are_usage_errors(value):
    with pytest.raises(ContainerError) as raised:
        parse_mode(value)
    assert raised.value.code == USAGE


def test_interface_names():
    assert valid_ifname("dr0") and valid_ifname("x" * 15)
    assert not valid_ifname("") and not valid_ifname("x" * 16) and not valid_ifname("a b") and not valid_ifname("..")


def test_command_line_options_reach_the_plugin():
    table = cli.CORE_OPTIONS + tuple(o for cls in plugins.ORDER for o in cls.options)
    options, rest = cli.parse(["--net=bridge=br1", "--subnet", "10.1.0.0/24", "--nat", "img"], table)
    assert (options.net, options.subnet, options.nat, rest) == ("bridge=br1", "10.1.0.0/24", True, ["img"])
    defaults, _ = cli.parse(["img"], table)
    assert (defaults.net, defaults.subnet, defaults.nat) == ("none", None, False)


def binds(fake):
    return [(m[1], m[0]) for m in fake.named("mount_in_root") if m[3] == linux.MS_BIND]


def test_none_is_a_namespace_with_lo_up_and_its_own_hosts_file():
    fake = FakeLinux()
    ctx = context(fake)
    plugin = NetNamespace()
    plugin.prepare(ctx)
    assert plugin.clone_flags(ctx) == linux.CLONE_NEWNET
    assert not plugin.teardown_after_sigkill
    plugin.setup_child(ctx)
    assert fake.calls[0] == ("set_link_up", "lo")
    # /etc/hosts names localhost and the hostname; resolv.conf stays the image's.
    assert binds(fake) == [("/tmp/hosts", "/etc/hosts")]
    hosts = dict(fake.named("write_file"))["/tmp/hosts"]
    assert hosts.startswith("127.0.0.1\tlocalhost\n") and f"127.0.1.1\t{os.uname().nodename}\n" in hosts
    assert ("write_file", "/proc/sys/net/ipv4/ping_group_range", "0 2147483647") in fake.calls


@pytest.mark.parametrize("kernel_has_ipv6", [True, False])
def test_bridge_mode_turns_ipv6_off_in_the_container(kernel_has_ipv6):
    fake = FakeLinux()
    ctx = context(fake, net="bridge")
    plugin = NetNamespace()
    plugin.mode, plugin.network, plugin.kernel_has_ipv6 = "bridge", SimpleNamespace(address="10.88.0.2"), kernel_has_ipv6
    plugin.setup_child(ctx)
    off = [(path, "1") for path in ("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6")]
    written = fake.named("write_file")
    assert written[0] == ("/proc/sys/net/ipv4/ping_group_range", "0 2147483647")
    assert [w for w in written if "ipv6" in w[0]] == (off if kernel_has_ipv6 else [])


def test_host_shares_the_namespace_and_warns(capfd):
    fake = FakeLinux(files={"/etc/resolv.conf": "nameserver 192.0.2.1\n"})
    ctx = context(fake, net="host")
    plugin = NetNamespace()
    plugin.prepare(ctx)
    assert plugin.clone_flags(ctx) == 0
    plugin.setup_child(ctx)
    assert not fake.named("set_link_up")
    assert not [w for w in fake.named("write_file") if w[0].startswith("/proc/sys")]  # the host's settings stay
    assert binds(fake) == [("/tmp/hosts", "/etc/hosts"), ("/tmp/resolv.conf", "/etc/resolv.conf")]
    assert dict(fake.named("write_file"))["/tmp/resolv.conf"] == "nameserver 192.0.2.1\n"
    assert "no isolation" in capfd.readouterr().err


@pytest.mark.parametrize("extra", [{"nat": True}, {"subnet": "10.1.0.0/24"}])
def test_bridge_options_need_bridge_mode(extra):
    with pytest.raises(ContainerError, match="need --net bridge"):
        NetNamespace().prepare(context(**extra))


def test_default_path_does_not_import_pyroute2():
    # The default start must stay cheap: pyroute2 costs ~10 container starts to import.
    code = (
        "import sys; from runtime import cli, plugins; from runtime.plugins.net import NetNamespace;"
        "from runtime.plugin import Context; from types import SimpleNamespace as S;"
        "p = NetNamespace(); p.prepare(Context('i', ['x'], S(net='none'), None));"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'ipaddress', 'subprocess')"
        " or m in ('runtime.plugins.net.bridge', 'runtime.plugins.net.leases', 'runtime.plugins.net.netconf')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=_repo(), check=True)
    assert out.stdout.strip() == "[]"


def _repo():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Attached:
    address = "10.88.0.2"


def test_bridge_name_files_are_bound_from_the_staging_tmpfs():
    fake = FakeLinux()
    ctx = context(fake, net="bridge")
    plugin = NetNamespace()
    plugin.mode, plugin.network, plugin.resolv_conf = "bridge", Attached(), "nameserver 192.0.2.53\n"
    plugin.setup_child(ctx)
    written = dict(fake.named("write_file"))
    assert written["/tmp/hosts"].endswith(f"10.88.0.2\t{os.uname().nodename}\n")
    assert written["/tmp/resolv.conf"] == "nameserver 192.0.2.53\n"
    # Resolved inside the root (a missing file is made in the overlay's upper layer).
    assert binds(fake) == [("/tmp/hosts", "/etc/hosts"), ("/tmp/resolv.conf", "/etc/resolv.conf")]
    assert not fake.named("mount")


def test_with_rw_a_file_missing_from_the_image_is_not_created(capfd):
    fake = FakeLinux(files={"/etc/hosts": ""})
    ctx = context(fake, net="bridge", rw=True)
    plugin = NetNamespace()
    plugin.mode, plugin.network, plugin.resolv_conf = "bridge", Attached(), "r\n"
    plugin.setup_child(ctx)
    assert binds(fake) == [("/tmp/hosts", "/etc/hosts")]
    assert "/etc/resolv.conf not written" in capfd.readouterr().err


# -- subnets and name files (netconf: no pyroute2) ---------------------------


def test_subnets():
    net = netconf.parse_subnet("10.88.0.0/16")
    assert str(netconf.gateway_of(net)) == "10.88.0.1"
    hosts = netconf.candidates(netconf.parse_subnet("10.9.0.0/29"))
    assert [str(a) for a in hosts] == [f"10.9.0.{i}" for i in range(2, 7)]
    for bad in ("10.88.0.1/16", "10.88.0.0/31", "nonsense", "fd00::/64"):
        with pytest.raises(ContainerError) as raised:
            netconf.parse_subnet(bad)
        assert raised.value.code == USAGE


def test_resolv_conf_drops_loopback_resolvers():
    host = "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lab.example\noptions edns0\n"
    assert netconf.resolv_conf(host) == "nameserver 192.0.2.1\nsearch lab.example\noptions edns0\n"
    only_loopback = netconf.resolv_conf("nameserver 127.0.0.53\nnameserver ::1\n")
    assert "nameserver" not in only_loopback.replace("no nameserver", "") and "loopback" in only_loopback
    assert netconf.resolv_conf(None).startswith("# written by demo-runtime")


def test_hosts_file():
    assert hosts_file("10.88.0.7", "web").splitlines()[-1] == "10.88.0.7\tweb"
    assert hosts_file(None, "web").splitlines()[-1] == "127.0.1.1\tweb"


# -- leases -------------------------------------------------------------------

ADDRESSES = [f"10.0.0.{i}" for i in range(2, 12)]


def test_claims_take_the_first_free_address_and_release_frees_it(tmp_path):
    state = BridgeState(Linux(), str(tmp_path / "net"), "1-dr0")
    with state:
        a, fd_a = state.claim(ADDRESSES)
        b, fd_b = state.claim(ADDRESSES, "nat")
        assert (a, b) == ("10.0.0.2", "10.0.0.3")
        assert state.live() == {"10.0.0.2": "", "10.0.0.3": "nat"}
        state.release(a, fd_a)
        assert state.claim(ADDRESSES)[0] == "10.0.0.2"


def test_a_dead_holders_lease_is_free_and_swept(tmp_path):
    root = str(tmp_path / "net")
    code = (
        "import sys; from runtime.linux import Linux; from runtime.plugins.net.leases import BridgeState; s = BridgeState(Linux(), sys.argv[1], '1-dr0');"
        "s.__enter__(); print(s.claim(['10.0.0.2'])[0]); s.__exit__()"  # exits holding the lease: like SIGKILL
    )
    out = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True, cwd=_repo(), check=True)
    assert out.stdout.strip() == "10.0.0.2"
    assert os.listdir(f"{root}/1-dr0") == ["ip-10.0.0.2"]
    state = BridgeState(Linux(), root, "1-dr0")
    with state:
        assert state.live() == {}
        assert os.listdir(state.path) == []
        assert state.claim(["10.0.0.2"])[0] == "10.0.0.2"


def test_exhaustion(tmp_path):
    with BridgeState(Linux(), str(tmp_path), "k") as state:
        state.claim(ADDRESSES[:1])
        with pytest.raises(Exhausted):
            state.claim(ADDRESSES[:1])


def test_parallel_claims_are_distinct(tmp_path):
    root, got, fds = str(tmp_path / "net"), [], []

    def claim():
        with BridgeState(Linux(), root, "1-dr0") as state:
            address, fd = state.claim(ADDRESSES + [f"10.0.1.{i}" for i in range(1, 30)])
            got.append(address)
            fds.append(fd)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 20 and len(set(got)) == 20


def test_the_last_user_removes_the_directory_and_empty_parents(tmp_path):
    base = tmp_path / "demo-runtime"
    state = BridgeState(Linux(), str(base / "net"), "1-dr0")
    with state:
        address, fd = state.claim(ADDRESSES)
        state.write("bridge", "10.0.0.0/24")
        assert state.read("bridge") == "10.0.0.0/24"
        state.release(address, fd)
        assert state.live() == {}
        state.remove_directory()
    assert not base.exists()
    # And a waiter that held the removed directory's lock starts over in a new one.
    with BridgeState(Linux(), str(base / "net"), "1-dr0") as again:
        assert os.path.isdir(again.path)


def test_a_waiter_whose_directory_was_removed_meanwhile_starts_over_in_a_new_one(tmp_path):
    # The lock is granted on the directory the last container just removed: its inode is
    # no longer the path's, so the waiter must not claim in it.
    class RemovedWhileWaiting(FakeLinux):
        def flock(self, fd, operation):
            super().flock(fd, operation)
            if self.named("flock") == [(fd, operation)]:  # the first lock: the directory goes now
                os.rmdir(state.path)

    fake = RemovedWhileWaiting(host=tmp_path)
    state = BridgeState(fake, str(tmp_path / "net"), "1-dr0")
    with state:
        assert state.claim(ADDRESSES)[0] == "10.0.0.2"
        assert os.listdir(state.path) == ["ip-10.0.0.2"]  # in the directory made again
    assert [name for name, *_ in fake.calls].count("open_directory") == 2


def test_a_lease_that_cannot_be_written_is_an_error_not_a_silent_claim(tmp_path):
    fake = FakeLinux(host=tmp_path, fail={"overwrite": OSError(28, "No space left on device")})
    with BridgeState(fake, str(tmp_path / "net"), "1-dr0") as state:
        with pytest.raises(OSError, match="No space"):
            state.claim(ADDRESSES)
        assert state.live() == {}  # nobody holds it: swept
        assert BridgeState(Linux(), state.root, "1-dr0").claim(ADDRESSES)[0] == "10.0.0.2"
