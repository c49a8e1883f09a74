"""-p parsing and the nft script (the traffic itself: tests/integration/test_ports.py)."""

from types import SimpleNamespace

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.net import NetNamespace
from runtime.plugins.ports import Ports, nft_rules, parse_publish

from .fake_linux import FakeLinux


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("8080:80", (None, 8080, 80, "tcp")),
        ("127.0.0.1:53:5353/udp", ("127.0.0.1", 53, 5353, "udp")),
        ("10.0.0.7:1:65535/tcp", ("10.0.0.7", 1, 65535, "tcp")),
    ],
)
def test_parse(spec, parsed):
    assert parse_publish(spec) == parsed


@pytest.mark.parametrize(
    "spec, code",
    [
        ("0:80", errors.PORT_ERROR),
        ("8080:65536", errors.PORT_ERROR),
        ("8080", errors.USAGE),
        ("a:b", errors.USAGE),
        ("1.2.3:80:80", errors.USAGE),
        ("80:80/sctp", errors.USAGE),
        ("1:2:3:4", errors.USAGE),
    ],
)
def test_bad_specs(spec, code):
    with pytest.raises(ContainerError) as caught:
        parse_publish(spec)
    assert caught.value.code == code


def test_the_script_replaces_a_stale_table_in_one_transaction():
    script = nft_rules("demo-runtime-ports-7", "10.88.0.2", [("192.0.2.1", 8080, 80, "tcp"), (None, 53, 53, "udp")])
    lines = script.splitlines()
    assert lines[:3] == ["table ip demo-runtime-ports-7 {}", "delete table ip demo-runtime-ports-7", "table ip demo-runtime-ports-7 {"]
    assert script.count("ip daddr 192.0.2.1 tcp dport 8080 dnat to 10.88.0.2:80") == 2  # prerouting and output
    assert script.count("fib daddr type local ip daddr != 127.0.0.0/8 udp dport 53 dnat to 10.88.0.2:53") == 2


def test_publish_needs_a_bridge_address():
    ctx = Context("img", ["true"], SimpleNamespace(publish=["8080:80"]), FakeLinux())
    with pytest.raises(ContainerError) as caught:
        Ports().prepare(ctx)
    assert caught.value.code == errors.USAGE and "--net bridge" in str(caught.value)


def test_no_publish_costs_nothing():
    plugin = Ports()
    plugin.prepare(Context("img", ["true"], SimpleNamespace(publish=[]), FakeLinux()))
    assert not plugin.teardown_after_sigkill and plugin.table is None


def test_the_rules_send_traffic_to_the_address_the_net_plugin_leased():
    net = NetNamespace()
    net.network = SimpleNamespace(address="10.88.0.9")  # what its prepare() leased
    fake = FakeLinux()
    ctx = Context("img", ["true"], SimpleNamespace(publish=["8080:80", "127.0.0.1:53:53/udp"]), fake)
    ctx.plugins = (net, Ports())
    ctx.plugins[1].prepare(ctx)
    assert fake.named("hold_port") == [("0.0.0.0", 8080, "tcp"), ("127.0.0.1", 53, "udp")]
    (script,) = fake.named("nft")
    assert "dnat to 10.88.0.9:80" in script[0] and "table ip demo-runtime-ports-4000 {" in script[0]
    ctx.plugins[1].teardown(ctx)
    assert fake.named("nft")[-1] == ("delete table ip demo-runtime-ports-4000\n",)


def test_a_host_port_in_use_is_refused_with_its_own_code():
    net = NetNamespace()
    net.network = SimpleNamespace(address="10.88.0.9")
    fake = FakeLinux(fail={"hold_port": OSError(98, "Address already in use")})
    ctx = Context("img", ["true"], SimpleNamespace(publish=["8080:80"]), fake)
    ctx.plugins = (net,)
    with pytest.raises(ContainerError) as caught:
        Ports().prepare(ctx)
    assert caught.value.code == errors.PORT_ERROR and "8080/tcp: Address already in use" in str(caught.value)
    assert fake.named("nft") == []
