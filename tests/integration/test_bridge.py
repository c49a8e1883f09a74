"""--net bridge and --net host, each test inside a network namespace it creates and deletes.

Everything with a private address (the bridge, the veths, the containers, a dummy
"uplink" for NAT) lives in that namespace: `ip netns exec NS demo-runtime ...` makes
the namespace the runtime's "host". Nothing is addressed outside the machine's own
namespaces, and the machine's own interfaces and firewall are only read, never changed.
"""

import re
import shlex

import pytest

from .netns import BRIDGE, Netns, wait_for  # the netns fixture comes from conftest.py

pytestmark = pytest.mark.property("net")

ADDRESS = re.compile(r"inet (10\.88\.\d+\.\d+)/16")


def addresses(text):
    return ADDRESS.findall(text)


# -- bridge mode -----------------------------------------------------------------


def test_eth0_has_its_address_and_a_default_route(netns):
    inside = netns.runtime.container(*BRIDGE)
    assert inside.check_output("ls /sys/class/net").split() == ["eth0", "lo"]
    out = inside.check_output("ip -o -4 addr show eth0; ip route")
    assert addresses(out) == ["10.88.0.2"]  # the first host after the bridge's 10.88.0.1
    assert "default via 10.88.0.1 dev eth0" in out


def test_the_bridge_exists_while_a_container_uses_it(netns, workdir):
    pid = netns.start_long(out=f"{workdir}/c.out")
    wait_for(lambda: f"drv{pid}" in netns.run("ip -o link").stdout, "the veth", netns.ended(pid))
    links = netns.check("ip -o link; ip -o -4 addr show dr0")
    assert f"drv{pid}@" in links and "master dr0" in links
    assert "inet 10.88.0.1/16" in links
    netns.host.check_output(f"kill {pid}")  # forwarded to the container; then the teardown
    netns.wait_exit(pid)


def test_subnet_option(netns):
    out = netns.runtime.sh("ip -o -4 addr show eth0; ip route", options=(*BRIDGE, "--subnet", "172.30.5.0/24"))
    assert out.rc == 0, out.stderr
    assert "inet 172.30.5.2/24" in out.stdout and "default via 172.30.5.1" in out.stdout


def test_hosts_and_resolv_conf_are_the_containers_not_the_images(netns, variant_image, host):
    image = variant_image("rw-net.img")
    before = host.check_output("debugfs -R %s %s 2>/dev/null | md5sum", "cat /etc/hosts", image)
    out = netns.runtime.sh(
        "cat /etc/hosts; echo ==; cat /etc/resolv.conf; echo ==; echo appended >> /etc/hosts && echo ok",
        options=(*BRIDGE, "--rw"),
        image=image,
    )
    assert out.rc == 0, out.stderr
    hosts, resolv, appended = out.stdout.split("==\n")
    assert re.search(r"^10\.88\.0\.2\s", hosts, re.M) and "127.0.0.1\tlocalhost" in hosts
    assert "nameserver 127." not in resolv
    assert appended.strip() == "ok"
    # Even written through (--rw), the image keeps its own /etc/hosts.
    assert host.check_output("debugfs -R %s %s 2>/dev/null | md5sum", "cat /etc/hosts", image) == before


def test_two_containers_on_one_bridge_talk_over_tcp(netns, workdir):
    server = netns.start(
        "/bin/sh", "-c", "ip -o -4 addr show eth0; nc -l -p 7000 -e echo hello-from-a", out=f"{workdir}/a.out"
    )
    wait_for(lambda: addresses(netns.read(f"{workdir}/a.out")), "the first container's address", netns.ended(server, f"{workdir}/a.out"))
    (a,) = addresses(netns.read(f"{workdir}/a.out"))
    inside = netns.runtime.container(*BRIDGE)
    out = inside.run(f"ip -o -4 addr show eth0; for i in $(seq 3000); do nc -w 2 {a} 7000 && break; sleep 0.1; done")  # (a hang bound)
    (b,) = addresses(out.stdout)
    assert b != a
    assert "hello-from-a" in out.stdout
    netns.wait_exit(server)


def test_container_reaches_the_bridge_address(netns, workdir):
    port = netns.listen("0.0.0.0", "host-side", workdir)
    out = netns.runtime.container(*BRIDGE).run(f"nc -w 2 10.88.0.1 {port} </dev/null")
    assert out.stdout.split()[:2] == ["host-side", "10.88.0.2"]  # and the host sees the container's own address


def test_loopback_services_stay_unreachable_from_a_bridged_container(netns, workdir, host, listener):
    port = netns.listen("127.0.0.1", "loopback-only", workdir)
    # The controls: both services answer where they run.
    probe = f"import socket; print(socket.create_connection(('127.0.0.1', {port}), 2).recv(100))"
    assert "loopback-only" in netns.check(f"python3 -c {shlex.quote(probe)}")
    assert host.run("python3 -c %s", f"import socket; socket.create_connection(('127.0.0.1', {listener}), 2)").rc == 0
    # All four from one container: what it reaches is its network namespace's doing.
    targets = (f"127.0.0.1:{port}", f"10.88.0.1:{port}", f"127.0.0.1:{listener}", f"10.88.0.1:{listener}")
    out = netns.runtime.sh(f"for t in {' '.join(targets)}; do nc -w 2 ${{t%:*}} ${{t#*:}} </dev/null && echo connected $t; echo tried $t; done", options=BRIDGE)
    assert out.stdout.split() == [w for t in targets for w in ("tried", t)], out.stdout + out.stderr


def test_parallel_starts_get_distinct_addresses(netns, workdir):
    # Ten, not twenty: the property is that starts at once never get one address twice;
    # ten forked one right after another race for the leases' lock as twenty do, five
    # times what the VM's two vCPUs run at once (twenty bridged starts took 127 s of the
    # in-VM suite's 697 s under TCG).
    count = 10
    # Every container keeps its address until all have one: each waits for the end of
    # its stdin, a FIFO whose only writer the test ends once all addresses are in.
    # (Otherwise an early container could exit and its address be reused, rightly.)
    gate = f"{workdir}/gate"
    outs = [f"{workdir}/p{i}.out" for i in range(count)]
    writer = netns.host.check_output(f"rm -f {gate} && mkfifo {gate} && (sleep 300 3<>{gate} >/dev/null 2>&1 & echo $!)")
    try:
        started = [
            netns.runtime.spawn("/bin/sh", "-c", "ip -o -4 addr show eth0; cat >/dev/null", options=BRIDGE, stdin=gate, out=out)
            for out in outs
        ]
        wait_for(
            lambda: all("inet" in netns.read(out) for out in outs),
            "every container to have an address",
            lambda: any(s.status() is not None for s in started) and "a runtime ended before all had an address",
        )
    finally:
        netns.host.run(f"kill {writer}")
    wait_for(lambda: all(s.status() is not None for s in started), "every runtime to exit")
    outputs = [netns.read(out) for out in outs]
    netns.host.run(f"rm -f {gate} {workdir}/p*.out {workdir}/p*.out.rc")
    assert [s.status() for s in started] == [0] * count, outputs
    found = [a for out in outputs for a in addresses(out)]
    assert len(found) == count and len(set(found)) == count, sorted(found)


def test_addresses_are_freed_on_exit(netns):
    for _ in range(3):
        out = netns.runtime.sh("ip -o -4 addr show eth0", options=BRIDGE)
        assert addresses(out.stdout) == ["10.88.0.2"]


def _uplink(netns):
    """A second namespace behind a veth, standing in for the world: NAT is tested towards it."""
    outside = f"{netns.name}-out"
    netns.host.check_output(
        f"ip netns add {outside} && ip -n {netns.name} link add uplink0 type veth peer name world0 netns {outside}"
        f" && ip -n {netns.name} addr add 10.99.0.1/24 dev uplink0 && ip -n {netns.name} link set uplink0 up"
        f" && ip -n {outside} addr add 10.99.0.2/24 dev world0 && ip -n {outside} link set world0 up"
        f" && ip -n {outside} link set lo up"
    )
    netns.before = netns.snapshot()
    return outside


def test_nat_masquerades_towards_the_uplink_and_goes_with_the_last_container(netns, workdir):
    outside = _uplink(netns)
    try:
        world = Netns(netns.host, netns.runtime, outside)
        port = world.listen("10.99.0.2", "world", workdir)
        netns.pids += world.pids
        pid = netns.start_long((*BRIDGE, "--nat"), out=f"{workdir}/nat.out")
        wait_for(lambda: netns.run("nft list table ip demo-runtime-dr0").rc == 0, "the NAT table", netns.ended(pid))
        rules = netns.check("nft list table ip demo-runtime-dr0; sysctl -n net.ipv4.ip_forward")
        assert "ip saddr 10.88.0.0/16" in rules and "masquerade" in rules and rules.split()[-1] == "1"
        # A second container reaches the outside namespace, which sees the uplink's address.
        out = netns.runtime.sh(f"nc -w 2 10.99.0.2 {port} </dev/null", options=(*BRIDGE, "--nat"))
        assert out.stdout.split() == ["world", "10.99.0.1"], out.stderr
        netns.host.check_output(f"kill {pid}")
        netns.wait_exit(pid)
        assert netns.run("nft list table ip demo-runtime-dr0").rc != 0
        # Forwarding stays on, as with Docker and podman: someone else may need it by now.
        assert netns.check("sysctl -n net.ipv4.ip_forward").strip() == "1"
    finally:
        netns.host.run(f"ip netns del {outside}")


def test_nat_is_only_for_the_containers_that_ask(netns, workdir):
    pid = netns.start_long(out=f"{workdir}/plain.out")
    wait_for(lambda: f"drv{pid}" in netns.run("ip -o link").stdout, "the veth", netns.ended(pid))
    assert netns.runtime.sh("true", options=(*BRIDGE, "--nat")).rc == 0
    # The --nat container is gone: its table too, though the bridge is still in use.
    assert netns.run("nft list table ip demo-runtime-dr0").rc != 0
    assert "dr0" in netns.check("ip -o link")
    netns.host.check_output(f"kill {pid}")
    netns.wait_exit(pid)


def test_sigkill_of_the_runtime_leaves_nothing(netns, workdir):
    netns.check("ip link add uplink0 type veth peer name uplink0p && ip link set uplink0 up")
    netns.before = netns.snapshot()
    pid = netns.start_long((*BRIDGE, "--nat"), out=f"{workdir}/k.out")
    wait_for(lambda: f"drv{pid}" in netns.run("ip -o link").stdout, "the veth", netns.ended(pid))
    assert netns.run("nft list table ip demo-runtime-dr0").rc == 0
    during = netns.snapshot()
    assert "dr0" in during and "masquerade" in during and "/run/demo-runtime/net/" in during
    netns.host.check_output(f"kill -KILL {pid}")
    netns.wait_exit(pid)
    # The janitor tears down: veth, lease, NAT table, bridge, state directory (fixture checks).


def test_bad_network_options_are_usage_errors(netns):
    for options in (("--net", "bridged"), ("--nat",), ("--net", "bridge", "--subnet", "10.88.0.1/16")):
        out = netns.runtime.run("true", options=options)
        assert out.rc == 64, (options, out.stderr)


# -- host mode -------------------------------------------------------------------


def test_host_mode_shares_the_namespace_and_says_so(netns):
    netns.check("ip link add probe0 type veth peer name probe0p")
    netns.before = netns.snapshot()
    out = netns.runtime.run("ls", "/sys/class/net", options=("--net", "host"))
    assert out.rc == 0
    assert "probe0" in out.stdout.split()
    assert "warning" in out.stderr and "--net host" in out.stderr


def test_an_existing_bridge_is_used_as_it_is_and_kept(netns):
    netns.check(
        "ip link add br-user type bridge && ip addr add 192.168.77.1/24 dev br-user && ip link set br-user up"
    )
    netns.before = netns.snapshot()
    out = netns.runtime.sh("ip -o -4 addr show eth0; ip route", options=("--net", "bridge=br-user"))
    assert out.rc == 0, out.stderr
    assert "inet 192.168.77.2/24" in out.stdout and "default via 192.168.77.1" in out.stdout
    # A --subnet that is not the bridge's is refused. (The fixture checks br-user is still there.)
    refused = netns.runtime.run("true", options=("--net", "bridge=br-user", "--subnet", "10.1.0.0/24"))
    assert refused.rc == 64 and "uses 192.168.77.0/24" in refused.stderr
