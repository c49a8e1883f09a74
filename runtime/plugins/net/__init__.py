"""The network plugin: isolated by default, connected on request.

  --net none            own namespace, `lo` up, nothing else (the default)
  --net bridge[=NAME]   own namespace plus eth0: a veth pair whose host end is on bridge
                        NAME (default dr0), an address leased from --subnet, a default
                        route via the bridge, the host's /etc/resolv.conf; --nat adds
                        outbound NAT to whatever the host routes through
  --net host            the host's namespace: no network isolation at all (warns)
  --net ns:PATH         that namespace joined (a pod's, podman's form), as it is: nothing
                        set up in it (lo, sysctls); only /etc/hosts is the container's

In every mode /etc/hosts names localhost and the hostname. In its own namespace the
container may ping without CAP_NET_RAW (ICMP sockets for every group:
net.ipv4.ping_group_range), and bridged containers have no IPv6 (none is routed, and a
link-local address would reach the bridge's neighbours).
`none` stays as cheap as a namespace and one ioctl: runtime.plugins.net.bridge, and pyroute2 with
it, are imported only for bridge mode.
"""


from ...errors import USAGE, ContainerError
from ...linux import CLONE_NEWNET, MS_BIND
from ...plugin import Option
from ..join import NamespacePlugin, parse_join
from ..mount_image import STAGING

DEFAULT_BRIDGE = "dr0"
_IFNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Per network namespace: written by the child, in its own namespace, through the host's
# /proc (before pivot_root). 2147483647 is the kernel's largest gid there.
_PING_GROUPS = "/proc/sys/net/ipv4/ping_group_range"
_NO_IPV6 = ("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6")


def hosts_file(address, hostname):
    """/etc/hosts: localhost, and the hostname at the container's address (127.0.1.1
    without one, as Debian does)."""
    return f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address or '127.0.1.1'}\t{hostname}\n"


def valid_ifname(name):
    return 0 < len(name) <= 15 and set(name) <= _IFNAME_CHARS and name not in (".", "..")


def parse_mode(value):
    """`--net` value -> (mode, bridge name or None); `ns:PATH` is ("ns", PATH)."""
    path = parse_join(value, "--net")
    if path is not None:
        return "ns", path
    mode, has_name, name = (value or "none").partition("=")
    if mode == "bridge":
        name = name if has_name else DEFAULT_BRIDGE
        if not valid_ifname(name):
            raise ContainerError(USAGE, f"invalid bridge name {name!r}: 1-15 letters, digits, '-', '_' and '.'")
        return mode, name
    if mode in ("none", "host") and not has_name:
        return mode, None
    if mode.startswith("container"):
        raise ContainerError(USAGE, "--net container:NAME is not supported (yet)")
    raise ContainerError(USAGE, f"invalid --net {value!r}: use none, bridge[=NAME], host or ns:PATH")


class NetNamespace(NamespacePlugin):
    name = "net"
    help = "network: own namespace with only lo (default), a bridge with --net bridge, or the host's"
    does = "clone(CLONE_NEWNET): a network stack of its own with only lo, up (--net bridge adds a veth pair, without IPv6); ping through ICMP sockets (ping_group_range)"
    lost = "the container shares the host's network: its interfaces, ports and services on 127.0.0.1"
    host_power = ("NET_ADMIN", "reconfigure the host's interfaces, routes and firewall")
    requires = ("root",)  # /etc/hosts goes into the image's root
    options = (
        Option(
            "--net", "MODE", "none (default: only lo), bridge[=NAME] (veth on bridge NAME, default dr0), host, ns:PATH (join it)", default="none"
        ),
        Option("--subnet", "CIDR", "bridge mode: the bridge's subnet when it is created (default 10.88.0.0/16)"),
        Option("--nat", None, "bridge mode: masquerade the containers' outbound traffic (nftables)"),
    )

    nstype, kind, join_flag = CLONE_NEWNET, "net", "--net"

    def __init__(self):
        super().__init__()
        self.mode = "none"
        self.network = None  # .bridge.BridgeNetwork in bridge mode
        self.resolv_conf = None  # the container's /etc/resolv.conf; None: the image's
        self.kernel_has_ipv6 = False  # bridge mode: whether there is IPv6 to turn off

    def join_path(self, options):
        mode, path = parse_mode(getattr(options, "net", "none"))
        return path if mode == "ns" else None

    def prepare(self, ctx):
        super().prepare(ctx)
        options = ctx.options
        self.mode, bridge = parse_mode(getattr(options, "net", "none"))
        subnet, nat = getattr(options, "subnet", None), getattr(options, "nat", False)
        if self.mode != "bridge" and (subnet or nat):
            raise ContainerError(USAGE, "--subnet and --nat need --net bridge")
        if self.mode == "host":
            ctx.linux.write(2, b"demo-runtime: warning: --net host: the container shares the host's network (no isolation)\n")
            self.resolv_conf = ctx.linux.read_file("/etc/resolv.conf", 65536)
        elif self.mode == "bridge":
            from . import netconf
            from .bridge import BridgeNetwork

            self.teardown_after_sigkill = True  # the bridge, its lease and NAT outlive a SIGKILL
            self.network = BridgeNetwork(ctx.linux, bridge, subnet, nat)
            self.network.prepare()
            self.kernel_has_ipv6 = ctx.linux.read_file(_NO_IPV6[1]) is not None
            self.resolv_conf = netconf.resolv_conf(ctx.linux.read_file("/etc/resolv.conf", 65536))

    @property
    def address(self):
        """The container's IPv4 address on its bridge (None but in bridge mode)."""
        return self.network.address if self.network else None

    def clone_flags(self, ctx):
        return 0 if self.mode == "host" else super().clone_flags(ctx)

    def setup_parent(self, ctx):
        super().setup_parent(ctx)
        if self.network:
            self.network.attach(ctx.pid)

    def setup_child(self, ctx):
        if self.mode not in ("host", "ns"):  # a joined namespace is someone else's, as it is
            ctx.linux.set_link_up("lo")
            self._kernel_settings(ctx)
        self._bind_etc_file(ctx, "hosts", hosts_file(self.address, ctx.linux.uname().nodename))
        if self.resolv_conf is not None:
            self._bind_etc_file(ctx, "resolv.conf", self.resolv_conf)

    def _kernel_settings(self, ctx):
        """ping without CAP_NET_RAW; in bridge mode, no IPv6 on eth0 (nor on later links)."""
        ctx.linux.write_file(_PING_GROUPS, "0 2147483647")
        if self.network and self.kernel_has_ipv6:
            for path in _NO_IPV6:
                ctx.linux.write_file(path, "1")

    def _bind_etc_file(self, ctx, name, text):
        """/etc/NAME bound from the runtime's staging tmpfs, before pivot_root: the
        container sees (and may edit) it, the image never gets it, not even with --rw.
        The target is resolved inside the root, whatever symlink the image has there."""
        linux, target = ctx.linux, f"/etc/{name}"
        source = f"{STAGING}/{name}"
        linux.create_file(source)
        linux.write_file(source, text)
        rw = getattr(ctx.options, "rw", False)
        try:
            # Without --rw a missing file is made in the overlay's upper layer; with --rw
            # the image is the writable layer and stays as it is.
            make = None if rw else "file"
            if rw and linux.kind_in_root(ctx.rootfs, target) is None:
                raise FileNotFoundError(2, "not in the image, and --rw writes through to it", target)
            linux.mount_in_root(ctx.rootfs, target, source, None, MS_BIND, make=make)
        except FileNotFoundError as e:  # e.g. a dangling symlink
            if self.network:  # asked for a network: say that a name file is missing
                linux.write(2, f"demo-runtime: warning: {target} not written: {e.strerror}\n".encode())

    def teardown(self, ctx):
        super().teardown(ctx)
        if self.network:
            self.network.teardown()

    @classmethod
    def isolates(cls, options):
        return parse_mode(getattr(options, "net", "none"))[0] != "host"

    def explain(self, ctx):
        if self.mode == "host":
            return "--net host: the host's own network namespace, no isolation"
        if self.joined:
            return super().explain(ctx)
        if self.network:
            return f"{self.does}\neth0 {self.network.address} on bridge {self.network.bridge}, default route via the bridge"
        return self.does
