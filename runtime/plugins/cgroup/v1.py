"""cgroup v1: one hierarchy per controller (or group of them), nested under our own cgroup.

Nested: whatever limits the runtime runs under, the container does too. v1 has no
CLONE_INTO_CGROUP, so the init moves itself in after clone(), before anything of the
image runs (through `tasks`: a write by the runtime to cgroup.procs would wait for an RCU
grace period, 5-15 ms). v1 is used only for a limit.
"""

import os

from ...linux import MS_RDONLY
from .hierarchy import GROUP, Group, move_self
from .limits import CONTROLLER, CPU_PERIOD

_FILES = {
    "memory": lambda value: [("memory.limit_in_bytes", str(value))],
    "pids": lambda value: [("pids.max", str(value))],
    "cpus": lambda value: [("cpu.cfs_period_us", str(CPU_PERIOD)), ("cpu.cfs_quota_us", str(value))],
    "cpu_shares": lambda value: [("cpu.shares", str(value))],
}


class V1Group(Group):
    version = 1

    def __init__(self, hierarchy, name, location=None):
        """Nested under our own cgroup, or at `location` from the hierarchy's root."""
        shared = f"{hierarchy.own.rstrip('/')}/{GROUP}"
        super().__init__(hierarchy, location or f"{shared}/{name}", None if location else hierarchy.mount + shared)
        self.controllers = set(hierarchy.controllers.split(","))

    def make(self, linux):
        super().make(linux)
        if "cpuset" in self.controllers:
            # v1 starts a cpuset empty, and no task can join an empty one.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                for directory in self.above() + [self.path]:
                    if not (linux.read_file(f"{directory}/{knob}") or "").strip():
                        above = os.path.dirname(directory)
                        linux.write_file(f"{directory}/{knob}", linux.read_file(f"{above}/{knob}") or "\n")

    def join(self, linux, pid):
        """Nothing: the init moves itself in (enter)."""

    def enter(self, linux):
        move_self(linux, self.path)

    def limit_files(self, wanted):
        for what, value in wanted.items():
            if CONTROLLER[what] in self.controllers:
                yield from _FILES[what](value)

    def names(self):
        """Directory names under /sys/fs/cgroup: `cpu,cpuacct`, and a link per controller."""
        names = [c.removeprefix("name=") for c in self.hierarchy.controllers.split(",")]
        return ",".join(names), names if len(names) > 1 else []

    def mount(self, linux, root, target, flags):
        linux.mount_in_root(root, target, "cgroup", "cgroup", MS_RDONLY | flags, self.hierarchy.controllers, make="dir")
