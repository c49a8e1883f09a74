"""The hooks of create (config.md, POSIX-platform hooks), while the init waits with its
root assembled but not yet entered, as runc runs them:

  prestart, createRuntime  by the runtime (meet_child), in its own namespaces, with the
                           init's host pid in the state
  createContainer          by the init (setup_child), in the container's namespaces before
                           pivot_root, as root with every capability, its cwd the
                           assembled root (runc's: the rootfs), the pid as the init sees
                           itself; the path resolved in the runtime's namespace (opened
                           before clone: the init's copy of the tree has the staging tmpfs
                           over /tmp)

A failing hook fails create: one of the runtime's, and it kills the init; the init's, and
the init reports it. Placed in the plugin chain just before clean-mounts (pivot_root).
"""

import os

from .. import errors
from ..errors import ContainerError
from ..plugin import Plugin
from .hooks import describe, run_hooks

RUNTIME_HOOKS = ("prestart", "createRuntime")
CREATE_HOOKS = RUNTIME_HOOKS + ("createContainer",)


class CreateHooks(Plugin):
    name = "oci-create-hooks"

    def __init__(self, hooks, state):
        self.hooks = hooks  # the config's
        self.state = state  # the spec's state, status creating
        self.fds = {}  # the pipes' ends: "at point" (init -> runtime: b"h"), "go on" (b"0")
        self.programs = []  # the createContainer hooks' programs, opened in the runtime's namespace

    def prepare(self, ctx):
        linux = ctx.linux
        for i, hook in enumerate(self.hooks.get("createContainer", ())):
            try:
                self.programs.append(linux.open(hook["path"], os.O_PATH | os.O_CLOEXEC))
            except OSError as e:
                raise ContainerError(errors.RUNTIME_FAILURE, f"{describe('createContainer', i, hook)}: {e.strerror}") from None
        self.fds["point_read"], self.fds["point_write"] = linux.pipe()
        self.fds["go_on_read"], self.fds["go_on_write"] = linux.pipe()

    def setup_parent(self, ctx):
        self._close(ctx.linux, "point_write", "go_on_read")  # the init's: EOF once it is gone
        self._close_programs(ctx.linux)  # the init has them

    def setup_child(self, ctx):
        linux = ctx.linux
        self._close(linux, "point_read", "go_on_write")
        linux.write(self.fds["point_write"], b"h")
        passed = linux.read(self.fds["go_on_read"], 1) == b"0"  # else the runtime failed, and kills us
        self._close(linux, "point_write", "go_on_read")
        if not passed:
            raise ContainerError(errors.RUNTIME_FAILURE, "the runtime's create hooks failed")
        linux.chdir(ctx.rootfs)
        run_hooks(linux, self.hooks, "createContainer", dict(self.state, pid=linux.getpid()), self.programs)

    def meet_child(self, ctx):
        linux = ctx.linux
        try:
            if linux.read(self.fds["point_read"], 1) != b"h":
                return  # the init failed before the point: its report says why
            for name in RUNTIME_HOOKS:
                run_hooks(linux, self.hooks, name, dict(self.state, pid=ctx.pid))
            linux.write(self.fds["go_on_write"], b"0")
        finally:
            self._close(linux, "point_read", "go_on_write")

    def teardown(self, ctx):
        self._close(ctx.linux, *list(self.fds))
        self._close_programs(ctx.linux)

    def _close(self, linux, *ends):
        for end in ends:
            fd = self.fds.pop(end, None)
            if fd is not None:
                linux.close(fd)

    def _close_programs(self, linux):
        for fd in self.programs:
            linux.close(fd)
        self.programs = []
