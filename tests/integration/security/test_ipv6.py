"""A bridged container has no IPv6: a service on the bridge's link-local address is out
of its reach (the README said IPv6 was not done while link-local went through)."""

import re

import pytest

from ..netns import wait_for
from .conftest import Verdict, blocked, breached

pytestmark = pytest.mark.property("net")

# The protection undone from inside: IPv6 back on eth0 (no duplicate address detection,
# so its link-local address is usable at once). /proc/sys is read-only otherwise.
IPV6_BACK_ON = "echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad && echo 0 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6"


@pytest.fixture
def service(netns, held_bridge, workdir):
    """(link-local address of the bridge, port of a TCP service on [::] beside it)."""
    found = []

    def link_local():
        found[:] = re.findall(r"inet6 (fe80::[0-9a-f:]+)/64", netns.check("ip -6 addr show dev br-held scope link"))
        return found

    wait_for(link_local, "the bridge's link-local address")
    return found[0], str(netns.listen("::", "v6-service", workdir))


def test_ipv6_link_local_does_not_reach_the_bridge(netns, held_bridge, service):
    address, port = service
    script = f"cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; exec /usr/local/bin/probe connect-tcp6 {address} eth0 {port}"
    out = netns.runtime.sh(script, options=held_bridge)
    v = Verdict(out)
    assert out.stdout.split()[0] == "1" and blocked(v) and "ENETUNREACH" in v.line, v


def test_ipv6_link_local_reaches_the_bridge_when_turned_back_on(netns, held_bridge, service):
    address, port = service
    script = f"{IPV6_BACK_ON} && exec /usr/local/bin/probe connect-tcp6 {address} eth0 {port}"
    out = netns.runtime.sh(script, options=(*held_bridge, "--cap-add", "NET_ADMIN", "--unmask", "/proc/sys"))
    assert breached(Verdict(out)), (out.stdout, out.stderr)
