"""Without CAP_NET_RAW (podman's default): ping through ICMP sockets, no raw or packet
sockets, and so no ARP spoofing of a bridge's neighbour table."""

import pytest

from ..netns import wait_for
from .conftest import Verdict, blocked, breached

pytestmark = pytest.mark.property("caps")

NET_RAW = ("--cap-add", "NET_RAW")


def netns_probe(netns, *args, options):
    return Verdict(netns.runtime.run("/usr/local/bin/probe", *args, options=options))


def test_ping_works_without_net_raw(probe):
    # An ICMP socket, as iputils' ping opens without CAP_NET_RAW: ping_group_range allows it.
    assert breached(probe("ping", "127.0.0.1"))


def test_ping_is_refused_where_ping_group_range_is_the_kernels_default(netns):
    # The control: --net host in a fresh namespace keeps its default range ("1 0", no
    # group), which the runtime does not touch there.
    assert netns.check("sysctl -n net.ipv4.ping_group_range").split() == ["1", "0"]
    v = netns_probe(netns, "ping", "127.0.0.1", options=("--net", "host"))
    assert blocked(v) and "EACCES" in v.line, v


@pytest.mark.parametrize("kind", ["inet", "packet"])
def test_raw_sockets_are_refused(probe, kind):
    v = probe("raw-socket", kind)
    assert blocked(v) and "EPERM" in v.line, v


@pytest.mark.parametrize("kind", ["inet", "packet"])
def test_raw_sockets_open_with_cap_net_raw(probe, kind):
    assert breached(probe("raw-socket", kind, options=NET_RAW))


CLAIMED = "10.88.0.200"  # an address no container has: the spoofed one


def arp_spoof(netns, options):
    # First a ping to the bridge: a new port forwards only once the kernel has seen its
    # carrier (the link watcher may take a moment), and ping retries until then.
    script = f"/usr/local/bin/probe ping 10.88.0.1 >&2 && exec /usr/local/bin/probe arp-spoof eth0 {CLAIMED} 10.88.0.1"
    return Verdict(netns.runtime.sh(script, options=options))


def neighbour(netns):
    return netns.check(f"ip neigh show {CLAIMED} dev br-held").strip()


def test_arp_spoofing_the_bridge_fails(netns, held_bridge):
    v = arp_spoof(netns, held_bridge)
    assert blocked(v) and "EPERM" in v.line, v
    assert neighbour(netns) == ""  # no packet socket, so no frame was sent


def test_arp_spoofing_the_bridge_works_with_cap_net_raw(netns, held_bridge):
    v = arp_spoof(netns, (*held_bridge, *NET_RAW))
    assert breached(v), v
    mac = v.line.split()[-1]
    # The bridge side now sends what is meant for CLAIMED to the container's MAC.
    wait_for(lambda: f"lladdr {mac}" in neighbour(netns), f"{CLAIMED} at {mac} in the bridge's neighbour table")
