"""cgroup v2: one unified hierarchy; the container's cgroup is ROOT/demo-runtime/<id>
(or a --cgroup-path from ROOT).

Not under our own cgroup: v2 lets only a cgroup without processes have children with
controllers. The init is born in it (clone3 CLONE_INTO_CGROUP), with no migration.
A controller is usable in a cgroup once its parent lists it in cgroup.subtree_control,
so the limits' controllers are enabled on the root and on demo-runtime first.
"""

from ...linux import MS_RDONLY
from .hierarchy import GROUP, Group, unified_cgroup
from .limits import CPU_PERIOD, cpu_weight

_FILES = {
    "memory": lambda value: [("memory.max", str(value)), ("memory.swap.max", "0")],
    "pids": lambda value: [("pids.max", str(value))],
    "cpus": lambda value: [("cpu.max", f"{value} {CPU_PERIOD}")],
    "cpu_shares": lambda value: [("cpu.weight", str(cpu_weight(value)))],
}
_OPTIONAL = ("memory.swap.max",)  # absent without swap accounting: no swap to limit


def available(linux, hierarchy):
    """The controllers the unified hierarchy offers (those bound to no v1 hierarchy)."""
    return set((linux.read_file(f"{hierarchy.mount}/cgroup.controllers") or "").split())


class V2Group(Group):
    version = 2

    def __init__(self, hierarchy, name, controllers, location=None):
        """At ROOT/demo-runtime/<name>, or at `location` from the root."""
        shared = None if location else f"{hierarchy.mount}/{GROUP}"
        super().__init__(hierarchy, location or f"/{GROUP}/{name}", shared)
        self.controllers = set(controllers)  # to enable for the container's cgroup

    def prepare_parent(self, linux):
        # Each directory from the root down enables them for the next one.
        for directory in [self.hierarchy.mount] + self.above():
            enabled = set((linux.read_file(f"{directory}/cgroup.subtree_control") or "").split())
            if self.controllers - enabled:
                text = " ".join(f"+{c}" for c in sorted(self.controllers - enabled))
                linux.write_file(f"{directory}/cgroup.subtree_control", text)

    def limit_files(self, wanted):
        for what, value in wanted.items():
            yield from _FILES[what](value)

    def write_limits(self, linux, wanted):
        for knob, text in self.limit_files(wanted):
            try:
                linux.write_file(f"{self.path}/{knob}", text)
            except FileNotFoundError:
                if knob not in _OPTIONAL:
                    raise

    def join(self, linux, pid):
        if not self._born_in(linux, pid):  # kernels before 5.7 have no clone3
            super().join(linux, pid)

    def _born_in(self, linux, pid):
        return (unified_cgroup(linux, pid) or "").endswith(self.location)

    def kill_all(self, linux):
        try:
            linux.write_file(f"{self.path}/cgroup.kill", "1")  # kernel >= 5.14
        except OSError:
            super().kill_all(linux)

    def names(self):
        return "unified", []

    def mount(self, linux, root, target, flags):
        linux.mount_in_root(root, target, "cgroup2", "cgroup2", MS_RDONLY | flags, make="dir")
