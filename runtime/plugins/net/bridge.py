"""--net bridge: the bridge, a veth pair per container, its address, route and NAT.

Imported only in bridge mode (and for -p); pyroute2, which alone costs about 200 ms to
import, ten times a whole start, is imported by the syscall layer's first netlink call.

What lives where, and who removes it:
  bridge + its address   host side, made by the first container (prepare), deleted by
                         the last one (teardown, or the janitor after a SIGKILL). A bridge
                         that existed before is used as it is and never deleted.
  NAT table (--nat)      host side, nftables table `ip demo-runtime-<bridge>`, made by
                         the first --nat container, deleted when no --nat container is
                         left. ip_forward is turned on with it and left on, as Docker
                         and podman do: libvirt or Docker may have come to need it
                         meanwhile, and nothing tells their need from ours.
  lease                  /run/demo-runtime/net/..., see leases.py.
  veth pair              made in setup_parent straight across the two namespaces
                         (host end drv<runtime pid> on the bridge, eth0 in the
                         container), so it never exists wholly on the host: the kernel
                         deletes it with the container's namespace. Teardown deletes it
                         at once anyway, since the kernel does so asynchronously.
"""

import ipaddress

from ... import errors
from ...errors import ContainerError
from .leases import STATE_DIR, BridgeState, Exhausted
from .netconf import DEFAULT_SUBNET, candidates, gateway_of, parse_subnet

_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def _network_failure(e):
    return ContainerError(errors.RUNTIME_FAILURE, f"network: {e.strerror}")


class BridgeNetwork:
    """One container's attachment to one bridge. Every method runs in the runtime (parent),
    and reaches the kernel through `linux` (runtime.linux.net: netlink, nftables)."""

    def __init__(self, linux, bridge, subnet=None, nat=False, state_dir=STATE_DIR):
        self.linux = linux
        self.bridge = bridge
        self.requested = parse_subnet(subnet) if subnet else None
        self.nat = nat
        netns = linux.stat("/proc/self/ns/net").st_ino  # a bridge name is per network namespace
        self.state = BridgeState(linux, state_dir, f"{netns}-{bridge}")
        self.veth = f"drv{linux.getpid()}"
        self.subnet = None
        self.address = None
        self.lease_fd = None

    # -- prepare: bridge, lease, NAT (the janitor knows all of these) ------
    def prepare(self):
        with self.state:
            self.subnet = self._ensure_bridge()
            try:
                self.address, self.lease_fd = self.state.claim(candidates(self.subnet), "nat" if self.nat else "")
            except Exhausted:
                raise ContainerError(
                    errors.RUNTIME_FAILURE, f"network: no free address left in {self.subnet} on bridge {self.bridge}"
                ) from None
            if self.nat and self.state.read("nat") is None:
                self._add_nat()

    def _ensure_bridge(self):
        ours = self.state.read("bridge")
        found = self.linux.link_index(self.bridge) is not None
        if found and ours is None:
            subnet = self._existing_subnet()
        elif found:
            subnet = ipaddress.IPv4Network(ours)
        else:
            subnet = self.requested or ipaddress.IPv4Network(DEFAULT_SUBNET)
            self._create_bridge(subnet)
        if self.requested and self.requested != subnet:
            raise ContainerError(errors.USAGE, f"bridge {self.bridge} uses {subnet}, not --subnet {self.requested}")
        return subnet

    def _existing_subnet(self):
        kind, address = self.linux.link_ipv4(self.bridge)
        if kind != "bridge":
            raise ContainerError(errors.USAGE, f"--net bridge={self.bridge}: {self.bridge} exists and is not a bridge")
        if address is None:
            raise ContainerError(
                errors.USAGE, f"bridge {self.bridge} exists but has no IPv4 address: give it one, or use another name"
            )
        return ipaddress.IPv4Interface(address).network

    def _create_bridge(self, subnet):
        try:
            self.linux.add_bridge(self.bridge)
            self.state.write("bridge", str(subnet))  # from here on, the last container deletes it
            self.linux.configure_bridge(self.bridge, str(gateway_of(subnet)), subnet.prefixlen)
        except OSError as e:
            raise _network_failure(e) from None

    def _add_nat(self):
        # The marker first: a failure half-way still leaves something for teardown to remove.
        self.state.write("nat", "")
        nft(
            self.linux,
            f"table ip {self._table} {{\n"
            " chain postrouting {\n"
            "  type nat hook postrouting priority srcnat; policy accept;\n"
            f'  ip saddr {self.subnet} oifname != "{self.bridge}" masquerade\n'
            " }\n"
            "}\n",
        )
        self.linux.write_file(_FORWARD, "1")

    @property
    def _table(self):
        return f"demo-runtime-{self.bridge}"

    # -- setup_parent: the veth pair and the container's side -------------
    def attach(self, pid):
        """While the container waits: veth across both namespaces, eth0 addressed, default route."""
        try:
            self.linux.add_veth_to_bridge(self.veth, self.bridge, "eth0", pid)
            self.linux.configure_in_netns(pid, "eth0", self.address, self.subnet.prefixlen, str(gateway_of(self.subnet)))
        except OSError as e:
            raise _network_failure(e) from None

    # -- teardown: in the runtime, or in the janitor after a SIGKILL -------
    def teardown(self):
        self.linux.delete_link(self.veth)
        with self.state:
            if self.address is not None:
                self.state.release(self.address, self.lease_fd)
                self.address = self.lease_fd = None
            live = self.state.live()
            if self.state.read("nat") is not None and "nat" not in live.values():
                self._remove_nat()
            if not live:
                if self.state.read("bridge") is not None:
                    self.linux.delete_link(self.bridge)
                self.state.remove_directory()

    def _remove_nat(self):
        try:
            nft(self.linux, f"delete table ip {self._table}\n")
        except ContainerError:
            if self.linux.nft_has_table(self._table):
                raise
        self.state.remove("nat")


def nft(linux, script):
    """An nftables script for the network plugins, its failure one clear line."""
    try:
        linux.nft(script)
    except FileNotFoundError:
        raise ContainerError(errors.RUNTIME_FAILURE, "network: --nat and -p need nft (apt-get install nftables)") from None
    except OSError as e:
        raise _network_failure(e) from None
