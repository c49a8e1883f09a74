"""The network plugin: isolated by default, connected on request.

  --net none            own namespace, `lo` up, nothing else (the default)
  --net bridge[=NAME]   own namespace plus eth0: a veth pair whose host end is on bridge
                        NAME (default dr0), an address leased from --subnet, a default
                        route via the bridge, /etc/hosts and /etc/resolv.conf; --nat adds
                        outbound NAT to whatever the host routes through
  --net host            the host's namespace: no network isolation at all (warns)

`none` stays as cheap as a namespace and one ioctl: runtime.bridge, and pyroute2 with
it, are imported only for bridge mode.
"""

import os

from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWNET, MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Option, Plugin

MODES = ("none", "bridge", "host")
DEFAULT_BRIDGE = "dr0"
_IFNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Where the child mounts a scratch tmpfs for a moment (the first that exists): it covers
# that directory only while /etc/hosts and /etc/resolv.conf are bound from it.
_SCRATCH = ("/dev", "/proc", "/tmp", "/mnt", "/root")
_NAME_FILES = ("hosts", "resolv.conf")


def valid_ifname(name):
    return 0 < len(name) <= 15 and set(name) <= _IFNAME_CHARS and name not in (".", "..")


def parse_mode(value):
    """`--net` value -> (mode, bridge name or None)."""
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
    raise ContainerError(USAGE, f"invalid --net {value!r}: use none, bridge[=NAME] or host")


class NetNamespace(Plugin):
    name = "net"
    help = "network: own namespace with only lo (default), a bridge with --net bridge, or the host's"
    does = "clone(CLONE_NEWNET): a network stack of its own with only lo, up (--net bridge adds a veth pair)"
    lost = "the container shares the host's network: its interfaces, ports and services on 127.0.0.1"
    host_power = ("NET_ADMIN", "reconfigure the host's interfaces, routes and firewall")
    options = (
        Option(
            "--net", "MODE", "none (default: only lo), bridge[=NAME] (veth on bridge NAME, default dr0), host", default="none"
        ),
        Option("--subnet", "CIDR", "bridge mode: the bridge's subnet when it is created (default 10.88.0.0/16)"),
        Option("--nat", None, "bridge mode: masquerade the containers' outbound traffic (nftables)"),
    )

    def __init__(self):
        self.mode = "none"
        self.network = None  # runtime.bridge.BridgeNetwork in bridge mode
        self.files = {}  # /etc name -> contents, written by the child (bridge mode)

    def prepare(self, ctx):
        options = ctx.options
        self.mode, bridge = parse_mode(getattr(options, "net", "none"))
        subnet, nat = getattr(options, "subnet", None), getattr(options, "nat", False)
        if self.mode != "bridge" and (subnet or nat):
            raise ContainerError(USAGE, "--subnet and --nat need --net bridge")
        if self.mode == "host":
            os.write(2, b"demo-runtime: warning: --net host: the container shares the host's network (no isolation)\n")
        elif self.mode == "bridge":
            from .. import bridge as bridge_module

            self.teardown_after_sigkill = True  # the bridge, its lease and NAT outlive a SIGKILL
            self.network = bridge_module.BridgeNetwork(bridge, subnet, nat)
            self.network.prepare()
            ctx.address = self.network.address
            self.files["resolv.conf"] = bridge_module.resolv_conf(ctx.linux.read_file("/etc/resolv.conf", 65536))
            self.files["hosts"] = bridge_module.hosts_file(self.network.address, "{hostname}")

    def clone_flags(self, ctx):
        return 0 if self.mode == "host" else CLONE_NEWNET

    def setup_parent(self, ctx):
        if self.network:
            self.network.attach(ctx.linux, ctx.pid)

    def setup_child(self, ctx):
        if self.mode == "host":
            return
        ctx.linux.set_link_up("lo")
        if self.files:
            self._name_files(ctx)

    def _name_files(self, ctx):
        """/etc/hosts and /etc/resolv.conf, bound from a private tmpfs: the container sees
        (and may edit) them, the image never gets them, not even with --rw.

        In the child after pivot_root: no imports from here on."""
        linux = ctx.linux
        scratch = None
        for path in _SCRATCH:
            try:
                linux.mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k")
            except FileNotFoundError:
                continue
            scratch = path
            break
        if scratch is None:
            raise ContainerError(USAGE, "--net bridge needs one of /dev /proc /tmp /mnt /root in the image")
        try:
            rw = getattr(ctx.options, "rw", False)
            for name in _NAME_FILES:
                target = f"/etc/{name}"
                text = self.files[name].replace("{hostname}", os.uname().nodename)
                if linux.read_file(target) is None:
                    try:
                        if rw:  # the image is the writable layer: leave it unchanged
                            raise OSError("the image is written through with --rw")
                        linux.mkdir("/etc")
                        linux.create_file(target)  # into the overlay's upper layer
                    except OSError as e:  # e.g. a dangling symlink
                        os.write(2, f"demo-runtime: warning: no {target} in the image, not written: {e}\n".encode())
                        continue
                linux.create_file(f"{scratch}/{name}")
                linux.write_file(f"{scratch}/{name}", text)
                linux.mount(f"{scratch}/{name}", target, None, MS_BIND)
        finally:
            # The bind mounts keep the tmpfs alive; the scratch directory is itself again.
            linux.umount(scratch, MNT_DETACH)

    def teardown(self, ctx):
        if self.network:
            self.network.teardown()

    @classmethod
    def isolates(cls, options):
        return parse_mode(getattr(options, "net", "none"))[0] != "host"

    def explain(self, ctx):
        if self.mode == "host":
            return "--net host: the host's own network namespace, no isolation"
        if self.network:
            return f"{self.does}\neth0 {self.network.address} on bridge {self.network.bridge}, default route via the bridge"
        return self.does
