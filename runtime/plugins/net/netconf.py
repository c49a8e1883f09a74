"""What --net bridge computes without the kernel: the subnet and its addresses, and the
container's /etc/resolv.conf. Only the standard library (no pyroute2),
so it is unit-tested anywhere.
"""

import ipaddress

from ... import errors
from ...errors import ContainerError

DEFAULT_SUBNET = "10.88.0.0/16"


def parse_subnet(text):
    """`10.88.0.0/16` -> IPv4Network; room for a gateway and at least one container."""
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as e:
        raise ContainerError(errors.USAGE, f"invalid --subnet {text!r}: {e}") from None
    if net.prefixlen > 30:
        raise ContainerError(errors.USAGE, f"--subnet {text} is too small: use a prefix of /30 or shorter")
    return net


def gateway_of(net):
    """The bridge's own address: the subnet's first host."""
    return net.network_address + 1


def candidates(net):
    """Container addresses, in order: every host of the subnet but the gateway."""
    gateway = gateway_of(net)
    return (a for a in net.hosts() if a != gateway)


def resolv_conf(text):
    """The host's resolv.conf for a container: loopback resolvers cannot be reached from it."""
    kept, dropped = [], False
    for line in (text or "").splitlines():
        words = line.split()
        if words[:1] == ["nameserver"] and len(words) > 1:
            try:
                if ipaddress.ip_address(words[1].split("%")[0]).is_loopback:
                    dropped = True
                    continue
            except ValueError:
                continue
        if words and words[0] in ("nameserver", "search", "domain", "options"):
            kept.append(" ".join(words))
    if not any(line.startswith("nameserver") for line in kept):
        why = "the host's resolvers are on its loopback, out of reach" if dropped else "the host has none"
        kept.insert(0, f"# written by demo-runtime: no nameserver ({why})")
    return "\n".join(kept) + "\n"
