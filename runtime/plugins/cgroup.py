"""cgroup: the container's own cgroup, its limits, and a cgroup namespace rooted there.

Where the cgroup goes, per hierarchy the runtime is in (/proc/self/cgroup):
  cgroup v2 (unified)  ROOT/demo-runtime/<id>, always: v2 lets only a cgroup without
                       processes have children with controllers, so not under our own
                       cgroup. The init is born in it (clone3 CLONE_INTO_CGROUP).
  cgroup v1            OWN/demo-runtime/<id>, OWN being the runtime's cgroup there
                       (nested: whatever limits we run under, the container does too),
                       only in the hierarchies of the controllers a limit needs.
Why v1 only on demand: moving a process between cgroups (a write to cgroup.procs)
waits for an RCU grace period, 5-15 ms here; v1 has no CLONE_INTO_CGROUP to avoid it.
The default pids limit is such a demand: where pids is a v1 controller, every start
pays that move (bench/README.md has the numbers); a fork bomb is worth it.

prepare() makes them and writes the limits (so the janitor knows them); setup_parent()
moves the init in where it was not born in; setup_child() unshares the cgroup namespace
and mounts, read-only at /sys/fs/cgroup, the hierarchies the container has a cgroup in
(the others would show the host's tree). teardown() kills whatever is left in the
cgroup and removes it, retrying while it empties.
"""

import os
import sys
import time

from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWCGROUP, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT
from ..plugin import Option, Plugin

MOUNT_POINT = "/sys/fs/cgroup"
GROUP = "demo-runtime"
_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC
_CPU_PERIOD = 100000
_SIGKILL = 9
# podman's default; `--pids-limit 0` (or unlimited, or -1 as in Docker) lifts it.
DEFAULT_PIDS_LIMIT = 2048
_NO_PIDS_LIMIT = ("0", "-1", "unlimited")
# The kernel counts memory in pages, at most LONG_MAX bytes' worth (larger values
# would wrap around, or be taken as no limit).
_MEMORY_MAX = sys.maxsize // os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PAGE_SIZE")


def parse_size(text):
    """`512m` -> 536870912 (k, m, g binary units; bytes without a unit)."""
    value = text.strip().lower().removesuffix("b")
    factor = 1
    if value[-1:] in ("k", "m", "g"):
        factor = 1024 ** ("kmg".index(value[-1]) + 1)
        value = value[:-1]
    try:
        number = int(value) * factor
    except ValueError:
        raise ContainerError(USAGE, f"--memory: {text!r} is not a size such as 256m or 1g") from None
    if number < 6 * 1024 * 1024:
        raise ContainerError(USAGE, f"--memory: {text!r} is below the minimum of 6m")
    if number > _MEMORY_MAX:
        raise ContainerError(USAGE, f"--memory: {text!r} is above the kernel's largest limit, {_MEMORY_MAX >> 30}g")
    return number


def limits(options):
    """{'memory': bytes, 'pids': n, 'cpus': quota per 100 ms period} for the options given."""
    wanted = {}
    if options.memory is not None:
        wanted["memory"] = parse_size(options.memory)
    pids = options.pids_limit
    if pids is None:
        wanted["pids"] = DEFAULT_PIDS_LIMIT
    elif pids.strip().lower() not in _NO_PIDS_LIMIT:
        try:
            wanted["pids"] = int(pids)
        except ValueError:
            raise ContainerError(USAGE, f"--pids-limit: {pids!r} is not a number (0 or unlimited: no limit)") from None
        if wanted["pids"] < 1:
            raise ContainerError(USAGE, "--pids-limit must be at least 1 (0 or unlimited: no limit)")
    if options.cpus is not None:
        try:
            cpus = float(options.cpus)
        except ValueError:
            cpus = 0
        if not 0.01 <= cpus <= os.cpu_count():
            raise ContainerError(USAGE, f"--cpus: {options.cpus!r} is not a number from 0.01 to {os.cpu_count()}")
        wanted["cpus"] = round(cpus * _CPU_PERIOD)
    return wanted


class Hierarchy:
    """One mounted cgroup hierarchy the runtime belongs to."""

    def __init__(self, controllers, own, mount, version):
        self.controllers = controllers  # "memory", "cpu,cpuacct", "name=systemd"; "" for v2
        self.own = own  # the runtime's cgroup in it, e.g. "/user.slice/x.scope"
        self.mount = mount  # where the hierarchy's root is mounted
        self.version = version
        self.path = None  # the container's cgroup directory
        self.parent = None  # its demo-runtime directory

    def __repr__(self):
        return f"Hierarchy({self.controllers!r}, {self.own!r}, {self.mount!r}, v{self.version})"


def hierarchies(proc_cgroup, mountinfo):
    """The hierarchies of /proc/self/cgroup that are mounted, from mountinfo's text."""
    # ("v1", option set) or ("v2",) -> mount point of the hierarchy's root. The last such
    # mount wins: a later mount can cover an earlier one (a private cgroup2 over a hybrid
    # layout, say), never the other way round. So, read from the last line up, a cgroup
    # mount under a later mount point (other than /) is covered, out of reach.
    mounts = {}
    later = set()
    for line in reversed(mountinfo.splitlines()):
        fields = line.split()
        if " - " not in line:
            continue
        point = fields[4]
        covered = any(point == p or point.startswith(p + "/") for p in later)
        if point != "/":
            later.add(point)
        if covered or fields[3] != "/":
            continue
        fstype, _, super_opts = line.split(" - ", 1)[1].split()[:3]
        if fstype == "cgroup2":
            mounts.setdefault(("v2",), point)
        elif fstype == "cgroup":
            mounts.setdefault(("v1", frozenset(super_opts.split(","))), point)
    found = []
    for line in proc_cgroup.splitlines():
        number, controllers, own = line.split(":", 2)
        if number == "0" and not controllers:
            key, version = ("v2",), 2
        else:
            key, version = ("v1", frozenset(controllers.split(","))), 1
            match = [k for k in mounts if k[0] == "v1" and key[1] <= k[1]]
            key = match[0] if match else key
        if key in mounts:
            found.append(Hierarchy(controllers, own, mounts[key], version))
    return found


def _has_pids_controller(linux, found, unified_only):
    if unified_only:
        return "pids" in (linux.read_file(f"{found[0].mount}/cgroup.controllers") or "").split()
    return any("pids" in h.controllers.split(",") for h in found if h.version == 1)


class Cgroup(Plugin):
    name = "cgroup"
    help = f"own cgroup (v2; v1 for limits) with --memory/--pids-limit (default {DEFAULT_PIDS_LIMIT})/--cpus, in its own cgroup namespace"
    does = "its own cgroup (v2: clone3 CLONE_INTO_CGROUP) with limits in its files; unshare(CLONE_NEWCGROUP); cgroupfs read-only at /sys/fs/cgroup"
    lost = "no limits (memory, processes: not even the default 2048, so a fork bomb takes the host's PIDs; CPU), and /proc/self/cgroup shows the host's cgroup path"
    requires = ("mount-image",)  # it mounts the cgroup filesystem into the image's root
    options = (
        Option("--memory", "SIZE", "memory limit, e.g. 256m or 1g"),
        Option("--pids-limit", "N", f"at most N processes and threads (default {DEFAULT_PIDS_LIMIT}; 0 or unlimited: none)"),
        Option("--cpus", "N", "CPU time, in CPUs (e.g. 0.5)"),
        Option("--cgroupns", "MODE", "private (default): the container's cgroup is its / ; host: the host's view, nothing mounted"),
    )
    teardown_after_sigkill = True

    def __init__(self):
        self.hierarchies = []  # those the container gets a cgroup in
        self.name_ = None

    def prepare(self, ctx):
        mode = ctx.options.cgroupns or "private"
        if mode not in ("private", "host"):
            raise ContainerError(USAGE, f"--cgroupns: {mode!r}: use private or host")
        wanted = limits(ctx.options)
        linux = ctx.linux
        found = hierarchies(linux.read_file("/proc/self/cgroup", 65536) or "", linux.read_file("/proc/self/mountinfo", 1 << 20) or "")
        unified_only = bool(found) and all(h.version == 2 for h in found)
        if ctx.options.pids_limit is None and not _has_pids_controller(linux, found, unified_only):
            del wanted["pids"]  # the default only where it can be had, as in podman
        needed = {"memory": "memory", "pids": "pids", "cpus": "cpu"}
        controllers = {needed[w] for w in wanted}
        chosen = []
        for h in found:
            if h.version == 2 or (not unified_only and controllers & set(h.controllers.split(","))):
                chosen.append(h)
        missing = controllers - {c for h in chosen if h.version == 1 for c in h.controllers.split(",")}
        if missing and not unified_only:
            v2 = any(h.version == 2 for h in chosen)
            if not v2:
                raise ContainerError(USAGE, f"no cgroup hierarchy with the {', '.join(sorted(missing))} controller is mounted")
        self.name_ = f"{os.getpid()}-{time.monotonic_ns() % 1000000:06d}"
        for h in chosen:
            self._make(linux, h, controllers if unified_only else set())
        self._write_limits(linux, wanted)
        v2 = next((h for h in self.hierarchies if h.version == 2), None)
        if v2 is not None:
            ctx.cgroup_fd = linux.open_directory(v2.path)
            self.fd = ctx.cgroup_fd

    def _make(self, linux, h, v2_controllers):
        base = "" if h.version == 2 else h.own.rstrip("/")
        h.parent = f"{h.mount}{base}/{GROUP}"
        h.path = f"{h.parent}/{self.name_}"
        self.hierarchies.append(h)  # before mkdir: teardown copes with half-made state
        for attempt in range(10):  # another container's teardown may remove the parent meanwhile
            linux.mkdir(h.parent)
            if v2_controllers:
                self._enable_v2_controllers(linux, h.mount, h.parent, v2_controllers)
            try:
                linux.mkdir(h.path)
                break
            except FileNotFoundError:
                if attempt == 9:
                    raise
        if "cpuset" in h.controllers.split(","):
            # v1 starts a cpuset empty, and no task can join an empty one.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                for directory in (h.parent, h.path):
                    if not (linux.read_file(f"{directory}/{knob}") or "").strip():
                        above = os.path.dirname(directory)
                        linux.write_file(f"{directory}/{knob}", linux.read_file(f"{above}/{knob}") or "\n")

    def _enable_v2_controllers(self, linux, root, parent, wanted):
        available = set((linux.read_file(f"{root}/cgroup.controllers") or "").split())
        if wanted - available:
            missing = ", ".join(sorted(wanted - available))
            raise ContainerError(USAGE, f"the {missing} cgroup controller is not available here")
        for directory in (root, parent):
            enabled = set((linux.read_file(f"{directory}/cgroup.subtree_control") or "").split())
            if wanted - enabled:
                linux.write_file(f"{directory}/cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted - enabled)))

    def _write_limits(self, linux, wanted):
        v1 = {c: h for h in self.hierarchies if h.version == 1 for c in h.controllers.split(",")}
        v2 = next((h for h in self.hierarchies if h.version == 2), None)
        for what, value in wanted.items():
            controller = {"memory": "memory", "pids": "pids", "cpus": "cpu"}[what]
            h = v1.get(controller)
            if h is not None:
                files = {
                    "memory": [("memory.limit_in_bytes", str(value))],
                    "pids": [("pids.max", str(value))],
                    "cpus": [("cpu.cfs_period_us", str(_CPU_PERIOD)), ("cpu.cfs_quota_us", str(value))],
                }[what]
            else:
                h = v2
                files = {
                    "memory": [("memory.max", str(value)), ("memory.swap.max", "0")],
                    "pids": [("pids.max", str(value))],
                    "cpus": [("cpu.max", f"{value} {_CPU_PERIOD}")],
                }[what]
            for knob, text in files:
                try:
                    linux.write_file(f"{h.path}/{knob}", text)
                except FileNotFoundError:
                    if knob != "memory.swap.max":  # no swap accounting: no swap to limit
                        raise

    def setup_parent(self, ctx):
        for h in self.hierarchies:
            if h.version == 2 and self._born_in(ctx, h):
                continue
            ctx.linux.write_file(f"{h.path}/cgroup.procs", str(ctx.pid))

    def _born_in(self, ctx, h):
        for line in (ctx.linux.read_file(f"/proc/{ctx.pid}/cgroup", 65536) or "").splitlines():
            if line.startswith("0::"):
                return line.endswith(f"/{GROUP}/{self.name_}")
        return False

    def setup_child(self, ctx):
        if (ctx.options.cgroupns or "private") != "private":
            return
        linux = ctx.linux
        linux.unshare(CLONE_NEWCGROUP)
        if not self.hierarchies:
            return
        # Into the root before pivot_root, resolved inside it. The mounts show the
        # namespace's root, i.e. the container's own cgroup, read-only.
        root = ctx.rootfs
        if all(h.version == 2 for h in self.hierarchies) and self.hierarchies[0].mount == MOUNT_POINT:
            linux.mount_in_root(root, MOUNT_POINT, "cgroup2", "cgroup2", MS_RDONLY | _FLAGS, make="dir")
            return
        linux.mount_in_root(root, MOUNT_POINT, "cgroup", "tmpfs", _FLAGS, "mode=0755,size=64k", make="dir")
        links = []
        for h in self.hierarchies:
            if h.version == 2:
                target, fstype, data = f"{MOUNT_POINT}/unified", "cgroup2", None
            else:
                names = [c.removeprefix("name=") for c in h.controllers.split(",")]
                target, fstype, data = f"{MOUNT_POINT}/{','.join(names)}", "cgroup", h.controllers
                if len(names) > 1:
                    links += [(",".join(names), f"{MOUNT_POINT}/{n}") for n in names]
            linux.mount_in_root(root, target, "cgroup", fstype, MS_RDONLY | _FLAGS, data, make="dir")
        for target, path in links:
            linux.symlink_in_root(root, target, path)
        linux.mount_in_root(root, MOUNT_POINT, None, None, MS_REMOUNT | MS_RDONLY | _FLAGS, "mode=0755,size=64k")

    def teardown(self, ctx):
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
            self.fd = ctx.cgroup_fd = None
        linux = ctx.linux
        deadline = time.monotonic() + 2
        for h in self.hierarchies:
            while True:
                try:
                    linux.rmdir(h.path)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: processes left, or still exiting
                    if time.monotonic() > deadline:
                        raise
                    self._kill_all(linux, h)
                    time.sleep(0.005)
        for h in self.hierarchies:
            try:
                linux.rmdir(h.parent)  # the last container out removes the shared parent
            except OSError:
                pass
        self.hierarchies = []

    def _kill_all(self, linux, h):
        if h.version == 2:
            try:
                linux.write_file(f"{h.path}/cgroup.kill", "1")  # kernel >= 5.14
                return
            except OSError:
                pass
        for pid in (linux.read_file(f"{h.path}/cgroup.procs", 1 << 20) or "").split():
            try:
                linux.kill(int(pid), _SIGKILL)
            except ProcessLookupError:
                pass

    def explain(self, ctx):
        where = ", ".join(f"{h.path} (v{h.version})" for h in self.hierarchies) or "none: no hierarchy mounted"
        wanted = ", ".join(f"{what} {value}" for what, value in limits(ctx.options).items()) or "no limits"
        view = "its cgroup is the / of its cgroup namespace, mounted read-only at /sys/fs/cgroup"
        if (ctx.options.cgroupns or "private") != "private":
            view = "--cgroupns host: it sees the host's cgroup paths"
        return f"cgroup {where}; {wanted}\n{view}"
