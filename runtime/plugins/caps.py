"""Capabilities: keep podman's default 11, drop the rest from every set.

Podman's 11 are Docker's 14 less NET_RAW (raw and packet sockets: ARP spoofing on a
bridge), MKNOD and AUDIT_WRITE. `ping` keeps working without NET_RAW through ICMP
sockets, which the net plugin allows (net.ipv4.ping_group_range). --cap-add brings
any of them back.
"""

from ..errors import USAGE, ContainerError
from ..plugin import Option, Plugin

# Index = capability number (linux/capability.h).
NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)  # fmt: skip
NUMBER = {name: i for i, name in enumerate(NAMES)}
DEFAULT = frozenset(
    ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID")
    + ("SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL")
)



def _names(values, flag):
    """`--cap-add a,CAP_B --cap-add c` -> {"A", "B", "C"} (ALL stays ALL)."""
    names = set()
    for value in values:
        for item in value.split(","):
            name = item.strip().upper()
            name = name[4:] if name.startswith("CAP_") else name
            if name != "ALL" and name not in NUMBER:
                raise ContainerError(USAGE, f"{flag}: unknown capability {item!r}")
            if name:
                names.add(name)
    return names


def capabilities(options):
    """The names of the capabilities the container keeps, after --cap-add/--cap-drop."""
    add = _names(getattr(options, "cap_add", ()), "--cap-add")
    drop = _names(getattr(options, "cap_drop", ()), "--cap-drop")
    kept = set(NAMES) if "ALL" in add else set(DEFAULT)
    if "ALL" in drop:
        kept = set()
    kept |= add - {"ALL"}
    kept -= drop
    return frozenset(kept)


def mask(names):
    bits = 0
    for name in names:
        bits |= 1 << NUMBER[name]
    return bits


class Capabilities(Plugin):
    name = "caps"
    help = "keep podman's 11 default capabilities; drop the rest from every set, clear ambient"
    does = "prctl(PR_CAPBSET_DROP) and capset(2): bounding, permitted and effective sets reduced, ambient cleared"
    lost = "root in the container keeps every capability: mount, load kernel modules, raw I/O, reboot..."
    options = (
        Option("--cap-add", "CAP", "keep a capability too (repeatable, comma-separated; ALL)", repeat=True),
        Option("--cap-drop", "CAP", "drop a capability (repeatable, comma-separated; ALL)", repeat=True),
    )

    def prepare(self, ctx):
        self.kept = capabilities(ctx.options)  # validates the names before anything starts

    def setup_child(self, ctx):
        linux = ctx.linux
        # Nothing we do not have ourselves (the runtime may run with a reduced set).
        keep = mask(self.kept) & linux.get_caps()[1]
        # Beyond NAMES too: a newer kernel may know capabilities we have no name for.
        cap = 0
        while cap < 64 and (keep >> cap & 1 or linux.drop_bounding_cap(cap)):
            cap += 1
        linux.clear_ambient_caps()
        # Inheritable stays empty (as in Docker since the CVE-2022-24769 fix): exec as
        # root then gives permitted = effective = the bounding set, nothing more.
        linux.set_caps(keep, keep, 0)

    def explain(self, ctx):
        permitted = ctx.linux.get_caps()[1]
        kept = [name for number, name in enumerate(NAMES) if permitted >> number & 1]
        return f"keeps {len(kept)} of {len(NAMES)} capabilities: {' '.join(kept) or 'none'}"
