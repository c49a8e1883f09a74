"""--net bridge: the bridge, a veth pair per container, its address, route and NAT.

Imported only in bridge mode: pyroute2 alone costs about 200 ms to import, ten times
a whole container start with --net none.

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
import os

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ... import errors
from ...errors import ContainerError
from .leases import STATE_DIR, BridgeState, Exhausted
from .netconf import DEFAULT_SUBNET, candidates, gateway_of, parse_subnet

_ENODEV = 19
_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def _netlink_failure(what, e):
    return ContainerError(errors.RUNTIME_FAILURE, f"network: {what}: {e.args[-1] if e.args else e}")


class BridgeNetwork:
    """One container's attachment to one bridge. Every method runs in the runtime (parent)."""

    def __init__(self, bridge, subnet=None, nat=False, state_dir=STATE_DIR):
        self.bridge = bridge
        self.requested = parse_subnet(subnet) if subnet else None
        self.nat = nat
        netns = os.stat("/proc/self/ns/net").st_ino  # a bridge name is per network namespace
        self.state = BridgeState(state_dir, f"{netns}-{bridge}")
        self.veth = f"drv{os.getpid()}"
        self.subnet = None
        self.address = None
        self.lease_fd = None

    # -- prepare: bridge, lease, NAT (the janitor knows all of these) ------
    def prepare(self):
        with self.state, IPRoute() as ipr:
            self.subnet = self._ensure_bridge(ipr)
            try:
                self.address, self.lease_fd = self.state.claim(candidates(self.subnet), "nat" if self.nat else "")
            except Exhausted:
                raise ContainerError(
                    errors.RUNTIME_FAILURE, f"network: no free address left in {self.subnet} on bridge {self.bridge}"
                ) from None
            if self.nat and self.state.read("nat") is None:
                self._add_nat()

    def _ensure_bridge(self, ipr):
        ours = self.state.read("bridge")
        found = ipr.link_lookup(ifname=self.bridge)
        if found and ours is None:
            subnet = self._existing_subnet(ipr, found[0])
        elif found:
            subnet = ipaddress.IPv4Network(ours)
        else:
            subnet = self.requested or ipaddress.IPv4Network(DEFAULT_SUBNET)
            self._create_bridge(ipr, subnet)
        if self.requested and self.requested != subnet:
            raise ContainerError(errors.USAGE, f"bridge {self.bridge} uses {subnet}, not --subnet {self.requested}")
        return subnet

    def _existing_subnet(self, ipr, index):
        info = ipr.get_links(index)[0].get_attr("IFLA_LINKINFO")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "bridge":
            raise ContainerError(errors.USAGE, f"--net bridge={self.bridge}: {self.bridge} exists and is not a bridge")
        for addr in ipr.get_addr(family=2, index=index):
            return ipaddress.IPv4Interface(f"{addr.get_attr('IFA_ADDRESS')}/{addr['prefixlen']}").network
        raise ContainerError(
            errors.USAGE, f"bridge {self.bridge} exists but has no IPv4 address: give it one, or use another name"
        )

    def _create_bridge(self, ipr, subnet):
        try:
            ipr.link("add", ifname=self.bridge, kind="bridge")
        except NetlinkError as e:
            raise _netlink_failure(f"cannot create bridge {self.bridge}", e) from None
        self.state.write("bridge", str(subnet))  # from here on, the last container deletes it
        try:
            index = ipr.link_lookup(ifname=self.bridge)[0]
            ipr.addr("add", index=index, address=str(gateway_of(subnet)), prefixlen=subnet.prefixlen)
            ipr.link("set", index=index, state="up")
        except NetlinkError as e:
            raise _netlink_failure(f"cannot set up bridge {self.bridge}", e) from None

    def _add_nat(self):
        # The marker first: a failure half-way still leaves something for teardown to remove.
        self.state.write("nat", "")
        _nft(
            f"table ip {self._table} {{\n"
            " chain postrouting {\n"
            "  type nat hook postrouting priority srcnat; policy accept;\n"
            f'  ip saddr {self.subnet} oifname != "{self.bridge}" masquerade\n'
            " }\n"
            "}\n"
        )
        _write_forwarding("1")

    @property
    def _table(self):
        return f"demo-runtime-{self.bridge}"

    # -- setup_parent: the veth pair and the container's side -------------
    def attach(self, pid):
        """While the container waits: veth across both namespaces, eth0 addressed, default route."""
        with IPRoute() as ipr:
            try:
                bridge = ipr.link_lookup(ifname=self.bridge)[0]
                ipr.link("add", ifname=self.veth, kind="veth", peer={"ifname": "eth0", "net_ns_pid": pid})
                veth = ipr.link_lookup(ifname=self.veth)[0]
                ipr.link("set", index=veth, master=bridge, state="up")
            except (NetlinkError, IndexError) as e:
                raise _netlink_failure(f"cannot attach a veth pair to bridge {self.bridge}", e) from None
        # flags=0: the namespace exists; pyroute2 would otherwise create a missing one.
        with IPRoute(netns=f"/proc/{pid}/ns/net", flags=0) as inside:
            try:
                eth0 = inside.link_lookup(ifname="eth0")[0]
                inside.addr("add", index=eth0, address=self.address, prefixlen=self.subnet.prefixlen)
                inside.link("set", index=eth0, state="up")
                inside.route("add", gateway=str(gateway_of(self.subnet)))
            except (NetlinkError, IndexError) as e:
                raise _netlink_failure("cannot configure eth0 in the container", e) from None

    # -- teardown: in the runtime, or in the janitor after a SIGKILL -------
    def teardown(self):
        with IPRoute() as ipr:
            _delete_link(ipr, self.veth)
            with self.state:
                if self.address is not None:
                    self.state.release(self.address, self.lease_fd)
                    self.address = self.lease_fd = None
                live = self.state.live()
                if self.state.read("nat") is not None and "nat" not in live.values():
                    self._remove_nat()
                if not live:
                    if self.state.read("bridge") is not None:
                        _delete_link(ipr, self.bridge)
                    self.state.remove_directory()

    def _remove_nat(self):
        try:
            _nft(f"delete table ip {self._table}\n")
        except ContainerError:
            if _nft_has_table(self._table):
                raise
        self.state.remove("nat")


def _delete_link(ipr, name):
    try:
        for index in ipr.link_lookup(ifname=name):
            ipr.link("del", index=index)
    except NetlinkError as e:
        if e.code != _ENODEV:
            raise


def _nft(script):
    import subprocess

    try:
        done = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    except FileNotFoundError:
        raise ContainerError(errors.RUNTIME_FAILURE, "network: --nat needs nft (apt-get install nftables)") from None
    if done.returncode != 0:
        raise ContainerError(errors.RUNTIME_FAILURE, f"network: nft failed: {done.stderr.strip()}")


def _nft_has_table(table):
    import subprocess

    try:
        done = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True)
    except FileNotFoundError:
        return False
    return done.returncode == 0


def _write_forwarding(value):
    with open(_FORWARD, "w") as f:
        f.write(value)
