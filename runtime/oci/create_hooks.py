"""The hooks of create (config.md, POSIX-platform hooks), while the init waits with its
root assembled but not yet entered, as runc runs them:

  prestart, createRuntime  by the runtime (meet_child), in its own namespaces, with the
                           init's host pid in the state
  createContainer          by the init (setup_child), in the container's namespaces before
                           pivot_root, as root with every capability, its cwd the
                           assembled root (runc's: the rootfs), the pid as the init sees
                           itself; the path resolves in the mount namespace the init copied
                           from the runtime's (the same tree, but /tmp: the staging tmpfs)

A failure of any fails create: the runtime's hooks' ends the init, the init's is its report.
Placed in the plugin chain just before clean-mounts (pivot_root).
"""

from .. import errors
from ..errors import ContainerError
from ..plugin import Plugin
from .hooks import run_hooks

RUNTIME_HOOKS = ("prestart", "createRuntime")
CREATE_HOOKS = RUNTIME_HOOKS + ("createContainer",)


class CreateHooks(Plugin):
    name = "oci-create-hooks"

    def __init__(self, hooks, state):
        self.hooks = hooks  # the config's
        self.state = state  # the spec's state, status creating
        self.fds = {}  # the pipes' ends: "at point" (init -> runtime: b"h"), "go on" (b"0")

    def prepare(self, ctx):
        self.fds["point_read"], self.fds["point_write"] = ctx.linux.pipe()
        self.fds["go_on_read"], self.fds["go_on_write"] = ctx.linux.pipe()

    def setup_parent(self, ctx):
        self._close(ctx.linux, "point_write", "go_on_read")  # the init's: EOF once it is gone

    def setup_child(self, ctx):
        linux = ctx.linux
        self._close(linux, "point_read", "go_on_write")
        linux.write(self.fds["point_write"], b"h")
        passed = linux.read(self.fds["go_on_read"], 1) == b"0"  # else the runtime failed, and kills us
        self._close(linux, "point_write", "go_on_read")
        if not passed:
            raise ContainerError(errors.RUNTIME_FAILURE, "the runtime's create hooks failed")
        linux.chdir(ctx.rootfs)
        run_hooks(linux, self.hooks, "createContainer", dict(self.state, pid=linux.getpid()))

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

    def _close(self, linux, *ends):
        for end in ends:
            fd = self.fds.pop(end, None)
            if fd is not None:
                linux.close(fd)
