"""The built-in plugins and the one order they run in.

Filesystem first: the root is assembled and entered (clean-mounts does pivot_root)
before the namespace plugins whose child setup reads it, such as uts reading
/etc/hostname. Plugins from other packages register under the entry-point group
ENTRY_POINT_GROUP and run after the built-ins when named with --plugin.
"""

from .caps import Capabilities
from .cgroup import Cgroup
from .clean_mounts import CleanMounts
from .dev import Dev
from .ipc import IpcNamespace
from .masked_paths import MaskedPaths
from .mount import MountNamespace
from .mount_image import MountImage
from .net import NetNamespace
from .no_new_privs import NoNewPrivs
from .nodev import NoDev
from .pid import PidNamespace
from .process import Process
from .proc import Proc
from .seccomp import Seccomp
from .sys import Sys
from .timens import TimeNamespace
from .userns import UserNamespace
from .uts import UtsNamespace

ORDER = (
    MountNamespace,
    MountImage,
    Proc,
    Sys,
    Dev,
    CleanMounts,
    PidNamespace,
    IpcNamespace,
    UtsNamespace,
    NetNamespace,
    # Hardening (issue 4). After clean-mounts: they work on the container's own /proc,
    # /sys and /dev. userns is unshared after every mount (ext4 cannot be mounted in a
    # user namespace). Then the process locks itself down: seccomp is loaded while
    # caps still holds CAP_SYS_ADMIN (no_new_privs is not needed for it), and caps
    # comes last; the console attach and execve that follow need no capability.
    NoDev,
    MaskedPaths,
    Cgroup,
    TimeNamespace,
    UserNamespace,
    NoNewPrivs,
    Seccomp,
    Capabilities,
    # The user changes last: every plugin before it may need root.
    Process,
)
ENTRY_POINT_GROUP = "demo_runtime.plugins"
BUILTIN = {cls.name: cls for cls in ORDER}


class PluginError(Exception):
    pass


def third_party():
    """Plugins installed by other packages: {name: entry point}. Slow; called only on demand."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(name):
    entry = third_party().get(name)
    if entry is None:
        known = ", ".join(BUILTIN)
        raise PluginError(f"unknown plugin {name!r} (built-in: {known})")
    cls = entry.load()
    cls.name = cls.name or name
    return cls


def select(options):
    """The plugin classes to run, in order: wanted built-ins, then --plugin extras, minus --disable."""
    disabled = set(options.disable)
    for name in disabled - set(BUILTIN) - set(options.plugin):
        raise PluginError(f"cannot disable unknown plugin {name!r}")
    added = [n for n in options.plugin if n not in BUILTIN]
    chosen = [c for c in ORDER if c.name in options.plugin or c.wanted(options)]
    chosen += [_load(n) for n in added]
    chosen = [c for c in chosen if c.name not in disabled]
    names = {c.name for c in chosen}
    for cls in chosen:
        for needed in cls.requires:
            if needed not in names:
                raise PluginError(f"plugin {cls.name!r} needs plugin {needed!r}, which is disabled")
    return chosen
