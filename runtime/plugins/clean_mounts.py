from ..errors import USAGE, ContainerError
from ..linux import MNT_DETACH, MS_RDONLY
from ..plugin import Option, Plugin


class CleanMounts(Plugin):
    name = "clean-mounts"
    help = "pivot_root into the image and detach every host mount (no chroot to escape)"
    does = "pivot_root(2) into the image, then umount2(MNT_DETACH) of the old root: no path leads back to the host's tree"
    lost = "the command runs in the host's root filesystem, not in the image"
    requires = ("root",)
    options = (
        Option("--chroot", None, "enter the image with chroot() instead (escapable, host mounts stay: for the escape suite)"),
        Option("--read-only", None, "the root read-only, once everything in it is mounted (as docker's; /dev, /tmpfs mounts stay writable)"),
    )

    def prepare(self, ctx):
        if getattr(ctx.options, "read_only", False) and getattr(ctx.options, "rw", False):
            raise ContainerError(USAGE, "--read-only and --rw exclude each other")

    def setup_child(self, ctx):
        linux = ctx.linux
        linux.chdir(ctx.rootfs)
        if getattr(ctx.options, "chroot", False):
            linux.chroot(".")
        else:
            # pivot_root(".", ".") stacks the old root under the new one at "/"; detaching
            # "." then drops it, so no directory inside the image is needed for it.
            linux.pivot_root(".", ".")
            linux.umount(".", MNT_DETACH)
        linux.chdir("/")
        if getattr(ctx.options, "read_only", False):
            # Last, so the mount points made in it (/proc, /dev...) could still be made.
            linux.restrict_mount("/", MS_RDONLY)

    def explain(self, ctx):
        if getattr(ctx.options, "chroot", False):
            return "chroot(2) into the image (--chroot): the host's tree stays mounted around it, and root can climb out"
        return self.does + ("\nthen / remounted read-only (--read-only)" if getattr(ctx.options, "read_only", False) else "")
