"""cgroup: the container's own cgroup, its limits, and a cgroup namespace rooted there.

As nsjail splits cgroup.cc and cgroup2.cc, each version is its own module:
  limits.py     the options as numbers, and which controller each limit needs
  hierarchy.py  the hierarchies we are in (/proc/self/cgroup + mountinfo); what both share
  v2.py         ROOT/demo-runtime/<id> in the unified hierarchy, always; the init is born
                in it (clone3 CLONE_INTO_CGROUP)
  v1.py         OWN/demo-runtime/<id>, only in the hierarchies of a limit's controllers
--cgroup-path P (an OCI config's linux.cgroupsPath) puts it at ROOT/P instead, in each of
those hierarchies, as runc does with an absolute path.
This module decides where each limit's controller is: on a v1 hierarchy if one has it,
else in the unified hierarchy if it offers it there (a hybrid host), else the limit is
refused. Why v1 only on demand: v1 has no CLONE_INTO_CGROUP, so the init must move in
(itself, through `tasks`: a move by another process waits for an RCU grace period,
5-15 ms here). The default pids limit is such a demand where pids is a v1 controller; a
fork bomb is worth it. Where no hierarchy has pids, the default is dropped (as in
podman); an explicit limit is refused.

prepare() makes the cgroups and writes the limits (so the janitor knows them);
setup_parent() moves the init into a v2 cgroup it was not born in (kernels before 5.7);
setup_child() has the init move itself into its v1 cgroups, unshares the cgroup
namespace and mounts, read-only at /sys/fs/cgroup, the hierarchies the container
has a cgroup in (the others would show the host's tree). teardown() kills whatever is
left in the cgroups and removes them, retrying while they empty.
"""

import time

from ...errors import NAME_IN_USE, USAGE, ContainerError
from ...linux import CLONE_NEWCGROUP, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT
from ...plugin import Option, Plugin
from . import v2
from .hierarchy import hierarchies
from .limits import CONTROLLER, DEFAULT_PIDS_LIMIT, limits
from .v1 import V1Group
from .v2 import V2Group

MOUNT_POINT = "/sys/fs/cgroup"
_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


def check_path(text):
    """A --cgroup-path as given, if it is one (None: none given)."""
    if text is None:
        return None
    names = text.split("/")
    if not text.startswith("/") or text == "/" or {"", ".", ".."} & set(names[1:]):
        # A relative path (runc: under its own cgroup) has no place in v2, whose own
        # cgroup holds the runtime's process and so can have no children with controllers.
        raise ContainerError(USAGE, f"--cgroup-path {text!r}: an absolute path from the cgroup root, with no '.', '..' or empty names")
    return text


def place(found, controllers, offered):
    """(v1 hierarchies, controllers for v2) for the controllers the limits need.

    `offered(h)` is the set of controllers unified hierarchy h offers."""
    unified = next((h for h in found if h.version == 2), None)
    on_v1 = {c: h for h in found if h.version == 1 for c in h.controllers.split(",")}
    v1 = [h for h in found if h.version == 1 and controllers & set(h.controllers.split(","))]
    rest = controllers - set(on_v1)
    missing = rest - (offered(unified) if unified and rest else set())
    if missing:
        raise ContainerError(USAGE, f"no cgroup hierarchy here has the {', '.join(sorted(missing))} controller")
    return v1, unified, rest


def has_controller(found, controller, offered):
    """Whether a v1 hierarchy has the controller, or the unified one offers it."""
    if any(h.version == 1 and controller in h.controllers.split(",") for h in found):
        return True
    return any(h.version == 2 and controller in offered(h) for h in found)


class Cgroup(Plugin):
    name = "cgroup"
    help = f"own cgroup (v2; v1 for limits) with --memory/--pids-limit (default {DEFAULT_PIDS_LIMIT})/--cpus, in its own cgroup namespace"
    does = "its own cgroup (v2: clone3 CLONE_INTO_CGROUP) with limits in its files; unshare(CLONE_NEWCGROUP); cgroupfs read-only at /sys/fs/cgroup"
    lost = "no limits (memory, processes: not even the default 2048, so a fork bomb takes the host's PIDs; CPU), and /proc/self/cgroup shows the host's cgroup path"
    requires = ("root",)  # it mounts the cgroup filesystem into the image's root
    options = (
        Option("--memory", "SIZE", "memory limit, e.g. 256m or 1g"),
        Option("--pids-limit", "N", f"at most N processes and threads (default {DEFAULT_PIDS_LIMIT}; 0 or unlimited: none)"),
        Option("--cpus", "N", "CPU time, in CPUs (e.g. 0.5)"),
        Option("--cpu-shares", "N", "CPU weight against other cgroups, 2-262144 (v1 cpu.shares; v2 cpu.weight, converted as runc does)"),
        Option("--cgroupns", "MODE", "private (default): the container's cgroup is its / ; host: the host's view, nothing mounted"),
        Option("--cgroup-path", "PATH", "the container's cgroup at PATH from each hierarchy's root (absolute, new; made and removed), not demo-runtime/<id>"),
    )
    teardown_after_sigkill = True

    def __init__(self):
        self.groups = []  # the container's cgroups, one per hierarchy
        self.fd = None  # its v2 cgroup, for CLONE_INTO_CGROUP

    def prepare(self, ctx):
        mode = ctx.options.cgroupns or "private"
        if mode not in ("private", "host"):
            raise ContainerError(USAGE, f"--cgroupns: {mode!r}: use private or host")
        linux = ctx.linux
        wanted = limits(ctx.options, linux.cpu_count())
        found = hierarchies(linux.read_file("/proc/self/cgroup", 65536) or "", linux.read_file("/proc/self/mountinfo", 1 << 20) or "")

        def offered(h):
            return v2.available(linux, h)

        if ctx.options.pids_limit is None and not has_controller(found, "pids", offered):
            del wanted["pids"]  # the default only where it can be had, as in podman
        v1, unified, v2_controllers = place(found, {CONTROLLER[w] for w in wanted}, offered)
        name = f"{linux.getpid()}-{time.monotonic_ns() % 1000000:06d}"
        location = check_path(ctx.options.cgroup_path)
        groups = ([V2Group(unified, name, v2_controllers, location)] if unified else []) + [V1Group(h, name, location) for h in v1]
        for group in groups:
            self.groups.append(group)  # before mkdir: teardown copes with half-made state
            try:
                group.make(linux)
            except FileExistsError:  # someone else's: teardown leaves it alone
                given = f"--cgroup-path {location}: " if location else "the cgroup "
                raise ContainerError(NAME_IN_USE, f"{given}{group.path} exists already (another cgroup's)") from None
        for group in groups:
            group.write_limits(linux, {w: value for w, value in wanted.items() if CONTROLLER[w] in group.controllers})
        if unified:
            self.fd = linux.open_directory(groups[0].path)

    def __getstate__(self):
        # Pickled for an OCI delete in another process, where the fd means nothing.
        return dict(vars(self), fd=None)

    def clone_args(self, ctx):
        return {} if self.fd is None else {"cgroup": self.fd}

    def setup_parent(self, ctx):
        if self.fd is not None:  # only clone3 needed it: the init is born
            ctx.linux.close(self.fd)
            self.fd = None
        for group in self.groups:
            group.join(ctx.linux, ctx.pid)

    def setup_child(self, ctx):
        linux = ctx.linux
        for group in self.groups:  # before the namespace, whose root is where we are
            group.enter(linux)
        if (ctx.options.cgroupns or "private") != "private":
            return
        linux.unshare(CLONE_NEWCGROUP)
        if not self.groups:
            return
        # Into the root before pivot_root, resolved inside it. The mounts show the
        # namespace's root, i.e. the container's own cgroup, read-only.
        root = ctx.rootfs
        if len(self.groups) == 1 and self.groups[0].version == 2 and self.groups[0].hierarchy.mount == MOUNT_POINT:
            self.groups[0].mount(linux, root, MOUNT_POINT, _FLAGS)
            return
        linux.mount_in_root(root, MOUNT_POINT, "cgroup", "tmpfs", _FLAGS, "mode=0755,size=64k", make="dir")
        links = []
        for group in self.groups:
            directory, aliases = group.names()
            group.mount(linux, root, f"{MOUNT_POINT}/{directory}", _FLAGS)
            links += [(directory, f"{MOUNT_POINT}/{alias}") for alias in aliases]
        for target, path in links:
            linux.symlink_in_root(root, target, path)
        linux.mount_in_root(root, MOUNT_POINT, None, None, MS_REMOUNT | MS_RDONLY | _FLAGS, "mode=0755,size=64k")

    def teardown(self, ctx):
        if self.fd is not None:
            ctx.linux.close(self.fd)
            self.fd = None
        deadline = time.monotonic() + 2
        for group in self.groups:
            group.remove(ctx.linux, deadline)
        for group in self.groups:
            group.remove_parent(ctx.linux)
        self.groups = []

    def explain(self, ctx):
        where = ", ".join(f"{g.path} (v{g.version})" for g in self.groups) or "none: no hierarchy mounted"
        wanted = ", ".join(f"{what} {value}" for what, value in limits(ctx.options, ctx.linux.cpu_count()).items()) or "no limits"
        view = "its cgroup is the / of its cgroup namespace, mounted read-only at /sys/fs/cgroup"
        if (ctx.options.cgroupns or "private") != "private":
            view = "--cgroupns host: it sees the host's cgroup paths"
        return f"cgroup {where}; {wanted}\n{view}"
