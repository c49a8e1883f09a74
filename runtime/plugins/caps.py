"""Capabilities: keep podman's default 11, drop the rest from every set.

Podman's 11 are Docker's 14 less NET_RAW (raw and packet sockets: ARP spoofing on a
bridge), MKNOD and AUDIT_WRITE. `ping` keeps working without NET_RAW through ICMP
sockets, which the net plugin allows (net.ipv4.ping_group_range). --cap-add brings
any of them back.

--cap-set SET=CAPS gives the five sets explicitly instead (an OCI config's
process.capabilities): bounding, effective, permitted, inheritable, ambient; a set not
given is empty. At execve the kernel makes root's effective set all of its permitted
one (capabilities(7): root's file capabilities are all of them), as under runc; the
permitted set stays as given only under no_new_privs (a default: else it becomes
bounding | inheritable). Ambient capabilities survive execve, for a non-root user too
(whose permitted and effective sets execve otherwise empties, as under runc).
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


SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def explicit_sets(options):
    """--cap-set SET=CAP[,CAP...] items -> {set: names}, every set not given empty; None
    without --cap-set. Checked as the kernel would refuse them, in one clear line."""
    items = getattr(options, "cap_set", ())
    if not items:
        return None
    if getattr(options, "cap_add", ()) or getattr(options, "cap_drop", ()):
        raise ContainerError(USAGE, "--cap-set gives every set: it excludes --cap-add and --cap-drop")
    sets = dict.fromkeys(SETS, frozenset())
    given = set()
    for item in items:
        which, has_caps, caps = item.partition("=")
        which = which.strip().lower()
        if not has_caps or which not in SETS:
            raise ContainerError(USAGE, f"invalid --cap-set {item!r}: use SET=CAP[,CAP...], SET one of {', '.join(SETS)}")
        if which in given:
            raise ContainerError(USAGE, f"--cap-set: the {which} set is given twice")
        given.add(which)
        names = _names([caps], f"--cap-set {which}")
        sets[which] = frozenset(NAMES) if "ALL" in names else frozenset(names)
    for inner, outer, why in (
        ("effective", "permitted", "an effective capability must be permitted"),
        ("inheritable", "bounding", "an inheritable capability must be in the bounding set"),
        ("ambient", "permitted", "an ambient capability must be permitted"),
        ("ambient", "inheritable", "an ambient capability must be inheritable"),
    ):
        extra = sorted(sets[inner] - sets[outer])
        if extra:
            raise ContainerError(USAGE, f"--cap-set: {why}: {', '.join(extra)} in {inner}, not in {outer}")
    return sets


def capabilities(options):
    """The names of the capabilities the container keeps (its bounding set), after
    --cap-add/--cap-drop, or as --cap-set gives them."""
    sets = explicit_sets(options)
    if sets is not None:
        return sets["bounding"]
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
        Option("--cap-set", "SET=CAP[,CAP...]", "a capability set given whole: bounding, effective, permitted, inheritable, ambient (repeatable; sets not given are empty)", repeat=True),
    )

    def __init__(self):
        self.kept = frozenset()
        self.sets = None  # --cap-set's, or None

    def prepare(self, ctx):
        # Checked before anything starts.
        self.sets = explicit_sets(ctx.options)
        self.kept = capabilities(ctx.options)

    def setup_child(self, ctx):
        linux = ctx.linux
        # Nothing we do not have ourselves (the runtime may run with a reduced set).
        keep = mask(self.kept) & linux.get_caps()[1]
        # Beyond NAMES too: a newer kernel may know capabilities we have no name for.
        cap = 0
        while cap < 64 and (keep >> cap & 1 or linux.drop_bounding_cap(cap)):
            cap += 1
        linux.clear_ambient_caps()
        if self.sets is None:
            # Inheritable stays empty (as in Docker since the CVE-2022-24769 fix): exec as
            # root then gives permitted = effective = the bounding set, nothing more.
            linux.set_caps(keep, keep, 0)
            return
        have = linux.get_caps()[1]
        linux.set_caps(*(mask(self.sets[s]) & have for s in ("effective", "permitted", "inheritable")))
        for name in sorted(self.sets["ambient"], key=NUMBER.get):
            linux.raise_ambient_cap(NUMBER[name])

    def explain(self, ctx):
        permitted = ctx.linux.get_caps()[1]
        kept = [name for number, name in enumerate(NAMES) if permitted >> number & 1]
        text = f"keeps {len(kept)} of {len(NAMES)} capabilities: {' '.join(kept) or 'none'}"
        if self.sets:
            given = "; ".join(f"{s} {' '.join(sorted(self.sets[s], key=NUMBER.get)) or 'none'}" for s in SETS)
            text += f"\nas --cap-set gives them: {given}"
        return text
