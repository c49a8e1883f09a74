"""Which cgroup hierarchies the runtime is in, and a container's cgroup in one of them.

`Group` holds what v1 (runtime.plugins.cgroup.v1) and v2 (.v2) share: making the
directory under the shared demo-runtime parent, and removing both again.
"""

import time

GROUP = "demo-runtime"
_SIGKILL = 9


class Hierarchy:
    """One mounted cgroup hierarchy the runtime belongs to."""

    def __init__(self, controllers, own, mount, version):
        self.controllers = controllers  # "memory", "cpu,cpuacct", "name=systemd"; "" for v2
        self.own = own  # the runtime's cgroup in it, e.g. "/user.slice/x.scope"
        self.mount = mount  # where the hierarchy's root is mounted
        self.version = version

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


class Group:
    """The container's cgroup directory in one hierarchy: parent/<name>."""

    version = 0

    def __init__(self, hierarchy, parent, name):
        self.hierarchy = hierarchy
        self.parent = f"{hierarchy.mount}{parent}/{GROUP}"
        self.path = f"{self.parent}/{name}"

    def make(self, linux):
        for attempt in range(10):  # another container's teardown may remove the parent meanwhile
            linux.mkdir(self.parent)
            self.prepare_parent(linux)
            try:
                linux.mkdir(self.path)
                return
            except FileNotFoundError:
                if attempt == 9:
                    raise

    def prepare_parent(self, linux):
        """What the parent needs before a child cgroup can be used (per version)."""

    def write_limits(self, linux, wanted):
        for knob, text in self.limit_files(wanted):
            linux.write_file(f"{self.path}/{knob}", text)

    def join(self, linux, pid):
        linux.write_file(f"{self.path}/cgroup.procs", str(pid))

    def remove(self, linux, deadline):
        """rmdir, killing what is left in it until it empties; then the shared parent if unused."""
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

    def remove_parent(self, linux):
        try:
            linux.rmdir(self.parent)  # the last container out removes the shared parent
        except OSError:
            pass

    def kill_all(self, linux):
        for pid in (linux.read_file(f"{self.path}/cgroup.procs", 1 << 20) or "").split():
            try:
                linux.kill(int(pid), _SIGKILL)
            except ProcessLookupError:
                pass
