"""Which cgroup hierarchies the runtime is in, and a container's cgroup in one of them.

`Group` holds what v1 (runtime.plugins.cgroup.v1) and v2 (.v2) share: making the
directory under the shared demo-runtime parent, and removing both again.
"""

import time

GROUP = "demo-runtime"
_SIGKILL = 9


def move_self(linux, directory):
    """Move the calling process, single-threaded, into the cgroup at directory. v1's
    `tasks` takes a thread, and a thread moving itself needs no cgroup_threadgroup_rwsem,
    whose write side waits for an RCU grace period (about 10 ms a move here); v2 has no
    `tasks` outside threaded subtrees: cgroup.procs."""
    try:
        linux.write_file(f"{directory}/tasks", "0")
    except FileNotFoundError:
        linux.write_file(f"{directory}/cgroup.procs", "0")


class Hierarchy:
    """One mounted cgroup hierarchy the runtime belongs to."""

    def __init__(self, controllers, own, mount, version):
        self.controllers = controllers  # "memory", "cpu,cpuacct", "name=systemd"; "" for v2
        self.own = own  # the runtime's cgroup in it, e.g. "/user.slice/x.scope"
        self.mount = mount  # where the hierarchy's root is mounted
        self.version = version

    def __repr__(self):
        return f"Hierarchy({self.controllers!r}, {self.own!r}, {self.mount!r}, v{self.version})"


def unified_cgroup(linux, pid):
    """The process's cgroup v2 path, as /proc/PID/cgroup's `0::` line names it (None: none)."""
    for line in (linux.read_file(f"/proc/{pid}/cgroup", 65536) or "").splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


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


class Group:
    """The container's cgroup in one hierarchy, at `location` under the hierarchy's root.

    Under demo-runtime's own parent (`shared`, made by the first container in and removed
    by the last one out), or at a path the user named (--cgroup-path): then the
    directories above it that make() created are removed again, if empty; those that
    existed are someone else's (podman's /libpod_parent, a kubelet's pod cgroup)."""

    version = 0

    def __init__(self, hierarchy, location, shared=None):
        self.hierarchy = hierarchy
        self.location = location  # "/demo-runtime/<id>", "/user.slice/demo-runtime/<id>", "/libpod_parent/libpod-<ID>"
        self.path = f"{hierarchy.mount}{location}"
        self.shared = shared  # demo-runtime's parent, if the cgroup is in it
        self.made = []  # what make() created, outermost first, the cgroup itself last

    def above(self):
        """The directories make() makes before the cgroup, outermost first."""
        if self.shared:
            return [self.shared]
        parts = self.location.strip("/").split("/")[:-1]
        return [f"{self.hierarchy.mount}/{'/'.join(parts[: i + 1])}" for i in range(len(parts))]

    def make(self, linux):
        """Makes the directories and the cgroup, which must be new (FileExistsError)."""
        for attempt in range(10):  # another container's teardown may remove a parent meanwhile
            try:
                for directory in self.above():
                    self._claim(linux, directory)
                self.prepare_parent(linux)
                linux.mkdir(self.path, exist_ok=False)
                self.made.append(self.path)
                return
            except FileNotFoundError:
                if attempt == 9:
                    raise

    def _claim(self, linux, directory):
        try:
            linux.mkdir(directory, exist_ok=False)
        except FileExistsError:
            return
        if directory not in self.made:
            self.made.append(directory)

    def prepare_parent(self, linux):
        """What the parents need before a child cgroup can be used (per version)."""

    def write_limits(self, linux, wanted):
        for knob, text in self.limit_files(wanted):
            linux.write_file(f"{self.path}/{knob}", text)

    def join(self, linux, pid):
        """The runtime moves the init in, after clone and before the init goes on."""
        linux.write_file(f"{self.path}/cgroup.procs", str(pid))

    def enter(self, linux):
        """The init moves itself in, in its setup: nothing where join() did it."""

    def remove(self, linux, deadline):
        """rmdir, killing what is left in it until it empties (only a cgroup make() made)."""
        if self.path not in self.made:
            return
        while True:
            try:
                linux.rmdir(self.path)
                break
            except FileNotFoundError:
                break
            except OSError:  # EBUSY: processes left, or still exiting
                if time.monotonic() > deadline:
                    raise
                self.kill_all(linux)
                time.sleep(0.005)
        self.made.remove(self.path)

    def remove_parent(self, linux):
        """The directories above that make() made, and the shared parent: if now empty."""
        for directory in reversed(self.made + [d for d in [self.shared] if d and d not in self.made]):
            try:
                linux.rmdir(directory)  # the last container out removes the shared parent
            except OSError:
                pass  # another container's cgroup is in it

    def kill_all(self, linux):
        for pid in (linux.read_file(f"{self.path}/cgroup.procs", 1 << 20) or "").split():
            try:
                linux.kill(int(pid), _SIGKILL)
            except ProcessLookupError:
                pass
