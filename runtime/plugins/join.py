"""Joining an existing namespace by path (`--net ns:PATH`, podman's form; --ipc, --uts,
--pid likewise), as podman pods and Kubernetes sandboxes share one.

The runtime enters the namespace just before clone() (from the plugin's clone_args)
and goes back to its own right after (setup_parent): the container's init is born in
it as it would be born in a new one with the clone flag, so everything the child does
from its first instruction (sysfs, procfs mounted for that namespace) sees it. For a
PID namespace, setns() changes only where the runtime's next child is born.
"""

import os

from ..errors import USAGE, ContainerError
from ..plugin import Plugin


def parse_join(value, flag):
    """`ns:PATH` -> PATH; None for anything else."""
    kind, has_path, path = (value or "").partition(":")
    if kind != "ns" or not has_path:
        return None
    if not path.startswith("/"):
        raise ContainerError(USAGE, f"{flag} {value}: the namespace path must be absolute (e.g. /run/netns/NAME)")
    return path


class JoinedNamespace:
    def __init__(self, flag, kind, nstype, path):
        self.flag = flag  # the option, for messages
        self.kind = kind  # its name in /proc/self/ns: net, ipc, uts, pid
        self.nstype = nstype  # CLONE_NEW*
        self.path = path
        self.fd = None
        self.own = None  # the runtime's own namespace, to go back to
        self.entered = False

    def prepare(self, linux):
        try:
            self.fd = linux.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise ContainerError(USAGE, f"{self.flag} ns:{self.path}: {e.strerror}") from None
        self.own = linux.open(f"/proc/self/ns/{self.kind}", os.O_RDONLY | os.O_CLOEXEC)

    def enter(self, linux):
        try:
            linux.setns(self.fd, self.nstype)
        except OSError as e:
            raise ContainerError(USAGE, f"{self.flag} ns:{self.path}: setns: {e.strerror} (is it a {self.kind} namespace?)") from None
        self.entered = True

    def leave(self, linux):
        if self.entered:
            linux.setns(self.own, self.nstype)
            self.entered = False

    def close(self, linux):
        self.leave(linux)
        for fd in (self.fd, self.own):
            if fd is not None:
                linux.close(fd)
        self.fd = self.own = None


class NamespacePlugin(Plugin):
    """A namespace plugin: a new namespace (its clone flag), or, when its option says
    `ns:PATH`, that namespace joined instead (and the plugin's setup for a new one skipped)."""

    nstype = 0  # CLONE_NEW*
    kind = ""  # the namespace's name in /proc/PID/ns
    join_flag = ""  # the option whose ns:PATH value joins

    def __init__(self):
        self.joined = None  # a JoinedNamespace, when joining

    def join_path(self, options):
        """PATH of `ns:PATH`, or None for a new namespace; the option's other values are
        the subclass's (net's modes), else refused."""
        value = getattr(options, self.join_flag.lstrip("-").replace("-", "_"), None)
        path = parse_join(value, self.join_flag)
        if value is not None and path is None:
            raise ContainerError(USAGE, f"invalid {self.join_flag} {value!r}: use ns:PATH (a namespace to join, e.g. /proc/PID/ns/{self.kind})")
        return path

    def prepare(self, ctx):
        path = self.join_path(ctx.options)
        if path is not None:
            self.joined = JoinedNamespace(self.join_flag, self.kind, self.nstype, path)
            self.joined.prepare(ctx.linux)

    def clone_flags(self, ctx):
        return 0 if self.joined else self.nstype

    def clone_args(self, ctx):
        if self.joined:
            self.joined.enter(ctx.linux)  # the last thing before clone(): the init is born in it
        return {}

    def setup_parent(self, ctx):
        if self.joined:
            self.joined.leave(ctx.linux)

    def teardown(self, ctx):
        if self.joined:
            self.joined.close(ctx.linux)
            self.joined = None

    def explain(self, ctx):
        return f"setns(2) into {self.joined.path}: the {self.kind} namespace joined, not a new one" if self.joined else self.does
