"""Published ports: -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp] with --net bridge.

Traffic to a host port is sent on to the container's address by DNAT in a per-run
nftables table, `ip demo-runtime-ports-<runtime pid>`, made in prepare (so the
janitor removes it after a SIGKILL) and deleted on every exit path. The host port is
held by a bound socket for the container's life: the check that it is free is not a
guess, and nothing else takes it meanwhile. There is no userland proxy, so a port is
not reached through 127.0.0.1; from other machines it needs forwarding (--nat).
"""

from .. import errors
from ..errors import USAGE, ContainerError
from ..plugin import Option, Plugin

PROTOCOLS = ("tcp", "udp")


def _port_error(message):
    return ContainerError(errors.PORT_ERROR, message)


def _port(text, spec):
    if not text.isdigit():
        raise ContainerError(USAGE, f"invalid --publish {spec!r}: {text!r} is not a port number")
    number = int(text)
    if not 1 <= number <= 65535:
        raise _port_error(f"--publish {spec}: port {number} is out of range (1-65535)")
    return number


def _ipv4(text, spec):
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise ContainerError(USAGE, f"invalid --publish {spec!r}: {text!r} is not an IPv4 address")
    return ".".join(str(int(p)) for p in parts)


def parse_publish(spec):
    """-> (host address or None, host port, container port, protocol)."""
    ports, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise ContainerError(USAGE, f"invalid --publish {spec!r}: the protocol is tcp or udp")
    fields = ports.split(":")
    if len(fields) not in (2, 3):
        raise ContainerError(USAGE, f"invalid --publish {spec!r}: use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]")
    address = _ipv4(fields[0], spec) if len(fields) == 3 else None
    return address, _port(fields[-2], spec), _port(fields[-1], spec), protocol


def nft_rules(table, container_address, published):
    """The nft script that (re)creates the table: any rule left under that name by a
    runtime whose janitor could not run is replaced, in the same transaction."""
    rules = []
    for address, host_port, container_port, protocol in published:
        match = f"ip daddr {address}" if address else "fib daddr type local ip daddr != 127.0.0.0/8"
        rules.append(f"  {match} {protocol} dport {host_port} dnat to {container_address}:{container_port}\n")
    # priority -100: dstnat's value (nft 1.0.6 takes the name only for prerouting)
    chains = "".join(
        f" chain {hook} {{\n  type nat hook {hook} priority -100; policy accept;\n{''.join(rules)} }}\n"
        for hook in ("prerouting", "output")
    )
    return f"table ip {table} {{}}\ndelete table ip {table}\ntable ip {table} {{\n{chains}}}\n"


class Ports(Plugin):
    name = "ports"
    help = "-p publishes a container port on the host (nftables DNAT, --net bridge)"
    does = "nftables DNAT from a host port to the container's bridge address (-p), the host port held by a bound socket"
    lost = "no container port can be published on the host (-p is refused)"
    options = (
        Option(
            "--publish",
            "[HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]",
            "publish a container port on the host (--net bridge; repeatable)",
            short="-p",
            repeat=True,
        ),
    )

    def __init__(self):
        self.table = None
        self.held = []  # sockets keeping the host ports ours

    def prepare(self, ctx):
        specs = getattr(ctx.options, "publish", ())
        if not specs:
            return
        published = [parse_publish(spec) for spec in specs]
        net = ctx.plugin("net")
        address = net and net.address
        if address is None:
            raise ContainerError(USAGE, "--publish needs --net bridge")
        for (host_address, host_port, _, protocol), spec in zip(published, specs):
            try:
                self.held.append(ctx.linux.hold_port(host_address or "0.0.0.0", host_port, protocol))
            except OSError as e:
                raise _port_error(f"--publish {spec}: host port {host_port}/{protocol}: {e.strerror}") from None
        from .net.bridge import nft

        self.teardown_after_sigkill = True
        self.table = f"demo-runtime-ports-{ctx.linux.getpid()}"
        nft(ctx.linux, nft_rules(self.table, address, published))

    def teardown(self, ctx):
        for held in self.held:
            held.close()
        self.held = []
        if self.table:
            from .net.bridge import nft

            if ctx.linux.nft_has_table(self.table):
                nft(ctx.linux, f"delete table ip {self.table}\n")
            self.table = None
