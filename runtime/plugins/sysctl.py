"""--sysctl KEY=VALUE: kernel settings of the container's own namespaces, as docker
allows them: IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) in its IPC
namespace, net.* in its network namespace, kernel.domainname in its UTS namespace.
Anything else is the host's whole kernel and is refused, as it is where the namespace
is the host's (--net host, --disable ipc...).

Written by the child through /proc/sys before pivot_root, from inside its namespaces
(/proc/sys/net and the IPC settings are those of the writer's namespace), and before
masked-paths makes the container's /proc/sys read-only.
"""

from ..errors import RUNTIME_FAILURE, USAGE, ContainerError
from ..plugin import Option, Plugin
from .net import NetNamespace

IPC = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax")
IPC += ("kernel.shmmni", "kernel.shm_rmid_forced")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")


def namespace_of(key):
    """The namespace plugin a sysctl belongs to, or None (the host's kernel)."""
    if key in IPC or key.startswith("fs.mqueue."):
        return "ipc"
    if key.startswith("net."):
        return "net"
    if key == "kernel.domainname":
        return "uts"
    return None


def parse_sysctls(specs, options):
    """`KEY=VALUE` items -> [(key, value)], each checked against the namespaces this
    container has of its own. KEY may use / for . (sysctl(8) takes both)."""
    settings = []
    disabled = set(getattr(options, "disable", ()))
    for spec in specs:
        key, has_value, value = spec.partition("=")
        key = key.strip().replace("/", ".")
        if not has_value or not key or not set(key) <= _KEY_CHARS or "" in key.split(".") or "\n" in value:
            raise ContainerError(USAGE, f"invalid --sysctl {spec!r}: use KEY=VALUE, e.g. net.ipv4.ip_forward=1")
        owner = namespace_of(key)
        if owner is None:
            hint = " (use --hostname)" if key == "kernel.hostname" else ""
            raise ContainerError(USAGE, f"--sysctl {key}: not a setting of the container's own namespaces: it would change the host's kernel{hint}")
        if owner in disabled or (owner == "net" and not NetNamespace.isolates(options)):
            raise ContainerError(USAGE, f"--sysctl {key}: the container shares the host's {owner} namespace, so this is the host's setting")
        settings.append((key, value.strip()))
    return settings


class Sysctl(Plugin):
    name = "sysctl"
    help = "--sysctl KEY=VALUE for the container's own namespaces (IPC, net.*, kernel.domainname); the rest refused"
    does = "writes /proc/sys/KEY from inside the container's namespaces: settings of its own IPC, network and UTS namespaces"
    lost = "--sysctl is refused: the container's namespaces keep the kernel's defaults"
    options = (Option("--sysctl", "KEY=VALUE", "a kernel setting of the container's own IPC, network or UTS namespace (repeatable)", repeat=True),)

    def __init__(self):
        self.settings = []

    def prepare(self, ctx):
        self.settings = parse_sysctls(getattr(ctx.options, "sysctl", ()), ctx.options)

    def setup_child(self, ctx):
        for key, value in self.settings:
            path = "/proc/sys/" + key.replace(".", "/")
            try:
                ctx.linux.write_file(path, value)
            except OSError as e:
                raise ContainerError(RUNTIME_FAILURE, f"--sysctl {key}={value}: write {path}: {e.strerror}") from None

    def explain(self, ctx):
        given = ", ".join(f"{key}={value}" for key, value in self.settings)
        return f"{self.does}: {given}" if given else "no --sysctl: the namespaces keep the kernel's defaults"
