"""-p publishes a container port: inside a network namespace the test creates, traffic
to an address of that namespace reaches the container; the DNAT table is gone after a
normal exit and after a SIGKILL of the runtime (the netns fixture compares rulesets)."""

import shlex

import pytest

from runtime import errors

from .netns import BRIDGE, HANG, LONG, wait_for

pytestmark = pytest.mark.property("ports")

UPLINK = "192.0.2.1"  # TEST-NET-1, on a veth inside the test's own namespace
SERVE_ONCE = ("/bin/sh", "-c", "echo hello-from-the-container | nc -l -p 80")


@pytest.fixture
def uplink(netns):
    netns.check(f"ip link add up0 type veth peer name up0p && ip addr add {UPLINK}/24 dev up0 && ip link set up0 up && ip link set up0p up")
    yield netns
    netns.run("ip link del up0")


def fetch(netns, port):
    """Connect from the namespace until the container answers; its line."""
    script = (
        "import socket,time\n"
        f"deadline=time.monotonic()+{HANG}\n"
        "while time.monotonic()<deadline:\n"
        f"    try: s=socket.create_connection(({UPLINK!r},{port}),timeout=5)\n"
        "    except OSError: time.sleep(0.05); continue\n"
        "    data=s.recv(100)\n"
        "    if data: print(data.decode().strip()); break\n"
    )
    return netns.check(f"python3 -c {shlex.quote(script)}").strip()


def tables(netns):
    return netns.check("nft list tables")


@pytest.mark.parametrize("publish", [f"{UPLINK}:8080:80", "8080:80/tcp"])
def test_a_published_port_reaches_the_container(uplink, workdir, publish):
    pid = uplink.start(*SERVE_ONCE, options=(*BRIDGE, "-p", publish), out=f"{workdir}/c.out")
    assert fetch(uplink, 8080) == "hello-from-the-container"
    uplink.wait_exit(pid)
    assert "demo-runtime-ports" not in tables(uplink)


def test_the_rules_go_when_the_runtime_is_killed(uplink, workdir, host):
    pid = uplink.start(*LONG, options=(*BRIDGE, "-p", "8081:80", "-p", "5353:53/udp"), out=f"{workdir}/c.out")
    table = f"demo-runtime-ports-{pid}"
    wait_for(lambda: table in tables(uplink), "the ports table")
    rules = uplink.check(f"nft list table ip {table}")
    assert "tcp dport 8081 dnat to 10.88." in rules and "udp dport 5353 dnat to 10.88." in rules
    host.check_output("kill -KILL %s", str(pid))
    uplink.wait_exit(pid)
    wait_for(lambda: table not in tables(uplink), "the janitor to delete the table")


def test_a_port_in_use_is_refused(uplink, workdir):
    port = uplink.listen(UPLINK, "taken", workdir)
    result = uplink.runtime.run("true", options=(*BRIDGE, "-p", f"{UPLINK}:{port}:80"))
    assert result.rc == errors.PORT_ERROR
    assert result.stderr.strip().splitlines() == [
        f"demo-runtime: --publish {UPLINK}:{port}:80: host port {port}/tcp: Address already in use"
    ]


@pytest.mark.parametrize("publish, code", [("70000:80", errors.PORT_ERROR), ("80:0", errors.PORT_ERROR), ("x:80", errors.USAGE)])
def test_bad_ports(netns, publish, code):
    # (no uplink: a refused port reaches none)
    result = netns.runtime.run("true", options=(*BRIDGE, "-p", publish))
    assert result.rc == code
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("demo-runtime: ")
