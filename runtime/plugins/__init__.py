"""The built-in plugins and the one order they run in.

Filesystem first: the root is assembled, then the namespace plugins fill it (uts reads
/etc/hostname, net writes /etc/hosts), masks go over /proc and /sys, and only then is
it entered (clean-mounts does pivot_root). Plugins from other packages register under
the entry-point group ENTRY_POINT_GROUP and run after the built-ins when named with
--plugin.
"""

from .caps import NAMES, Capabilities, capabilities
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
from .ports import Ports
from .process import Process
from .proc import Proc
from .rlimits import Rlimits
from .rootfs import RootfsDirectory
from .seccomp import Seccomp
from .sys import Sys
from .sysctl import Sysctl
from .timens import TimeNamespace
from .userns import UserNamespace
from .uts import UtsNamespace
from .volumes import Volumes

ORDER = (
    MountNamespace,
    MountImage,
    RootfsDirectory,
    Proc,
    Sys,
    Dev,
    Volumes,
    PidNamespace,
    IpcNamespace,
    UtsNamespace,
    NetNamespace,
    Ports,
    Sysctl,  # in the namespaces above, before masked-paths makes /proc/sys read-only
    MaskedPaths,
    Cgroup,
    # Every path the plugins above mount on or write is resolved inside the root while
    # the host's /proc still gives /proc/self/fd to mount through. Then the root is
    # entered, and the process locks itself down (issue 4): userns is unshared after
    # every mount (ext4 cannot be mounted in a user namespace); seccomp is loaded while
    # caps still holds CAP_SYS_ADMIN (no_new_privs is not needed for it); the user
    # changes while CAP_SETUID/CAP_SETGID are still there, keeping the capabilities for
    # caps, which comes last; the console attach and execve that follow need none.
    CleanMounts,
    NoDev,
    TimeNamespace,
    # Before userns and caps: raising a hard limit, lowering the OOM score need CAP_SYS_RESOURCE.
    Rlimits,
    UserNamespace,
    NoNewPrivs,
    Seccomp,
    # The user changes after every plugin that may need root, before caps (as runc).
    Process,
    Capabilities,
)
# --privileged turns these off; this is the one place that knows what a privileged run is.
PRIVILEGED_OFF = ("nodev", "masked-paths", "no-new-privs", "seccomp", "caps")
PRIVILEGED_WARNING = (
    "warning: --privileged: every capability, no seccomp filter, no no_new_privs, unmasked /proc "
    "and /sys, usable device nodes: root in this container can take over the host"
)


def privileged(options):
    """Whether this run is --privileged (the core's exec check asks too)."""
    return getattr(options, "privileged", False)


ENTRY_POINT_GROUP = "demo_runtime.plugins"
BUILTIN = {cls.name: cls for cls in ORDER}


class PluginError(Exception):
    pass


def run_in_caller(chosen):
    """Whether a run of these plugins may be the Python API's caller's own work: only the
    built-ins, none of which changes the runtime's process for good."""
    return all(BUILTIN.get(cls.name) is cls and not cls.changes_runtime_process for cls in chosen)


def third_party():
    """Plugins installed by other packages: {name: entry point}. Slow; called only on demand."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(name, entry):
    try:
        cls = entry.load()
    except Exception as e:  # the plugin's package is broken: say which one
        raise PluginError(f"plugin {name!r} ({entry.value}) cannot be loaded: {type(e).__name__}: {e}") from None
    cls.name = cls.name or name
    return cls


def installed():
    """Every third-party plugin class, loaded (for their options and --help)."""
    return [_load(name, entry) for name, entry in sorted(third_party().items())]


def _named(name):
    entry = third_party().get(name)
    if entry is None:
        known = ", ".join(BUILTIN)
        raise PluginError(f"unknown plugin {name!r} (built-in: {known})")
    return _load(name, entry)


def select(options):
    """The plugin classes to run, in order: wanted built-ins, then --plugin extras, minus
    --disable, minus the hardening with --privileged."""
    disabled = set(options.disable)
    for name in disabled - set(BUILTIN) - set(options.plugin):
        raise PluginError(f"cannot disable unknown plugin {name!r}")
    added = [n for n in options.plugin if n not in BUILTIN]
    wanted = [c for c in ORDER if c.name in options.plugin or c.wanted(options)]
    wanted += [_named(n) for n in added]
    if privileged(options):
        if any(c.name == "userns" for c in wanted):
            raise PluginError("--userns and --privileged exclude each other")
        disabled |= set(PRIVILEGED_OFF)
    _refuse_lone_disable(wanted, disabled)
    chosen = [c for c in wanted if c.name not in disabled]
    names = {c.name for c in chosen} | {role for c in chosen for role in c.provides}
    for cls in chosen:
        for needed in cls.requires:
            if needed not in names:
                either = " or ".join(c.name for c in ORDER if needed in c.provides) or needed
                raise PluginError(f"plugin {cls.name!r} needs plugin {either!r}, which is off (--plugin {either})")
    _refuse_options_of_off_plugins(options, names, disabled, ORDER + tuple(c for c in wanted if c not in ORDER))
    return chosen


def _refuse_lone_disable(wanted, disabled):
    """One refusal that names every plugin needing a disabled one, and the flag that works."""
    gone = set(disabled)
    needs = {}
    for cls in wanted:  # ORDER puts every plugin after those it needs, and after a role's fillers
        missing = []
        for needed in cls.requires:
            fillers = [c.name for c in wanted if needed in c.provides]  # of a role ("root")
            if needed in gone or (fillers and set(fillers) <= gone):
                missing.append(" or ".join(fillers) or needed)
        if missing and cls.name not in gone:
            needs[cls.name] = missing
            gone.add(cls.name)
    if needs:
        why = "; ".join(f"{name} needs {' and '.join(missing)}" for name, missing in needs.items())
        every = [c.name for c in wanted if c.name in gone] + sorted(gone - {c.name for c in wanted})
        raise PluginError(f"--disable {','.join(sorted(disabled))}: {why}; to turn them all off: --disable {','.join(every)}")


def _refuse_options_of_off_plugins(options, on, disabled, classes):
    """An option given for a plugin that does not run is an error, not silently ignored
    (unless a plugin that runs takes it too: --rw, of either root)."""
    taken = {option.dest for cls in classes if cls.name in on for option in cls.options}
    for cls in classes:
        if cls.name in on:
            continue
        for option in cls.options:
            if option.dest in taken:
                continue
            unset = [] if option.repeat else False if option.metavar is None else option.default
            if getattr(options, option.dest, unset) != unset:
                flag = option.flag + (f" ({option.short})" if option.short else "")
                state = "disabled" if cls.name in disabled else f"off (--plugin {cls.name})"
                raise PluginError(f"{flag} needs the {cls.name} plugin, which is {state}")


def notes(options, chosen):
    """What stderr should say before the start: a line per disabled plugin on what is lost,
    and a warning where a capability the container keeps acts on a host namespace."""
    lines = []
    on_by_default = [c for c in ORDER if c.name in options.plugin or c.wanted(options)]
    for cls in on_by_default:
        if cls not in chosen and cls.lost:
            lines.append(f"{cls.name} disabled: {cls.lost}")
    names = {c.name for c in chosen}
    # In a user namespace, capabilities count only in the namespaces it owns.
    if "userns" not in names:
        kept = capabilities(options) if "caps" in names else frozenset(NAMES)
        for cls in ORDER:
            if cls.host_power and cls.host_power[0] in kept and (cls not in chosen or not cls.isolates(options)):
                cap, allows = cls.host_power
                lines.append(f"warning: {cls.name} is off and the container keeps CAP_{cap}: root in it can {allows}")
    return lines
