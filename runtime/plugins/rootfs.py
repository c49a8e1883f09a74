"""A directory as the root (`demo-runtime run DIR`, an OCI bundle's rootfs).

The directory is taken in the parent before clone as a detached copy of its mount
(open_tree), so any host path works, /tmp included (which the staging tmpfs covers in
the container's namespace); the child attaches it (move_mount) at the staging point and
from there on the root is assembled as an image's is: read-only under a tmpfs overlay,
or itself with --rw (exclusive, as for an image). Every path inside it is then resolved
inside the root by the plugins that follow, as for an image. Not recursive: mounts
below the directory are not carried along.

options.rootfs names the directory (the command line sets it when IMAGE is one).
"""

import os

from .. import errors
from ..errors import USAGE, ContainerError
from ..linux import MS_RDONLY
from ..plugin import Plugin
from .mount_image import RW, STAGING, lock_root, stage_root


class RootfsDirectory(Plugin):
    name = "rootfs"
    help = "IMAGE is a directory: it is the root, read-only under a tmpfs overlay unless --rw (instead of mount-image)"
    does = "open_tree(OPEN_TREE_CLONE) of the directory, attached (move_mount) read-only under an overlay whose writes go to a tmpfs"
    lost = "no root filesystem from the directory: the container has nothing of its own to run in"
    options = (RW,)
    requires = ("mount",)
    provides = ("root",)
    default = False

    @classmethod
    def wanted(cls, options):
        return getattr(options, "rootfs", None) is not None

    def __init__(self):
        self.directory_fd = None  # holds the --rw lock (or a reader's)
        self.tree = None  # the detached copy of the directory's mount

    def prepare(self, ctx):
        path, linux = getattr(ctx.options, "rootfs", None), ctx.linux
        if path is None:
            raise ContainerError(USAGE, "the rootfs plugin runs when IMAGE is a directory")
        try:
            self.directory_fd = linux.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise ContainerError(errors.IMAGE_MISSING, f"image {path}: {e.strerror}") from None
        lock_root(linux, self.directory_fd, ctx.options.rw, path)
        try:
            self.tree = linux.detach_tree(path)
        except OSError as e:
            raise ContainerError(errors.RUNTIME_FAILURE, f"image {path}: {e.strerror}") from None

    def setup_child(self, ctx):
        linux, rw = ctx.linux, ctx.options.rw

        def attach(target):
            linux.attach_tree_in_root(self.tree, STAGING, target[len(STAGING) :])
            if not rw:
                linux.restrict_mount(target, MS_RDONLY)

        ctx.rootfs = stage_root(linux, rw, os.path.basename(ctx.options.rootfs.rstrip("/")) or "rootfs", attach)

    def teardown(self, ctx):
        for fd in (self.tree, self.directory_fd):
            if fd is not None:
                ctx.linux.close(fd)
        self.tree = self.directory_fd = None

    def explain(self, ctx):
        how = "read-write (--rw): writes go into the directory" if ctx.options.rw else (
            "bound read-only, under an overlay: writes go to a tmpfs and are gone at exit")
        return f"the directory {ctx.options.rootfs} is the root, {how}"
