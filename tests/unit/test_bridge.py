"""--net bridge against the double's model of host links and nftables: who makes and who
removes the bridge, the lease, NAT and forwarding (the real thing: tests/integration/test_bridge.py)."""

import errno
import os

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.plugins.net.bridge import BridgeNetwork

from .fake_linux import FakeLinux


def network(fake, tmp_path, **kw):
    return BridgeNetwork(fake, "dr0", state_dir=str(tmp_path / "net"), **kw)


def test_the_first_container_makes_the_bridge_and_the_last_removes_it(tmp_path):
    fake = FakeLinux(host=tmp_path)
    first, second = network(fake, tmp_path), network(fake, tmp_path)
    first.prepare()
    assert fake.links["dr0"][1:] == ("bridge", "10.88.0.1/16")
    second.prepare()
    assert fake.named("add_bridge") == [("dr0",)]  # the second finds ours
    assert (first.address, second.address) == ("10.88.0.2", "10.88.0.3")
    first.attach(4242)
    assert fake.named("configure_in_netns") == [(4242, "eth0", "10.88.0.2", 16, "10.88.0.1")]
    first.teardown()
    assert "dr0" in fake.links  # still in use
    second.teardown()
    assert "dr0" not in fake.links and not os.path.exists(tmp_path / "net")


def test_a_bridge_someone_else_made_is_used_with_its_subnet_and_never_removed(tmp_path):
    fake = FakeLinux(host=tmp_path)
    fake.links["br-lab"] = (7, "bridge", "192.0.2.1/24")
    mine = BridgeNetwork(fake, "br-lab", state_dir=str(tmp_path))
    mine.prepare()
    assert mine.address == "192.0.2.2"
    mine.teardown()
    assert "br-lab" in fake.links and fake.named("add_bridge") == []


@pytest.mark.parametrize("link, words", [((7, "veth", None), "is not a bridge"), ((7, "bridge", None), "no IPv4 address")])
def test_a_name_taken_by_something_else_is_refused(tmp_path, link, words):
    fake = FakeLinux(host=tmp_path)
    fake.links["dr0"] = link
    with pytest.raises(ContainerError, match=words) as raised:
        network(fake, tmp_path).prepare()
    assert raised.value.code == errors.USAGE


def test_nat_comes_with_the_first_nat_container_and_forwarding_stays_on(tmp_path):
    fake = FakeLinux(host=tmp_path)
    plain, nat = network(fake, tmp_path), network(fake, tmp_path, nat=True)
    plain.prepare()
    nat.prepare()
    assert fake.tables == {"demo-runtime-dr0"}
    assert fake.named("write_file") == [("/proc/sys/net/ipv4/ip_forward", "1")]
    nat.teardown()
    assert fake.tables == set() and "dr0" in fake.links  # the NAT goes with the last NAT container
    plain.teardown()
    assert fake.named("write_file") == [("/proc/sys/net/ipv4/ip_forward", "1")]  # never switched off


def test_a_netlink_failure_is_one_line_and_teardown_still_removes_the_bridge(tmp_path):
    fake = FakeLinux(host=tmp_path, fail={"configure_bridge": OSError(errno.EPERM, "cannot set up bridge dr0: Operation not permitted")})
    net = network(fake, tmp_path)
    with pytest.raises(ContainerError, match="network: cannot set up bridge dr0: Operation not permitted") as raised:
        net.prepare()
    assert raised.value.code == errors.RUNTIME_FAILURE
    net.teardown()
    assert "dr0" not in fake.links
