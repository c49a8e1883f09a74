from ..linux import MNT_DETACH
from ..plugin import Option, Plugin


class CleanMounts(Plugin):
    name = "clean-mounts"
    help = "pivot_root into the image and detach every host mount (no chroot to escape)"
    does = "pivot_root(2) into the image, then umount2(MNT_DETACH) of the old root: no path leads back to the host's tree"
    lost = "the command runs in the host's root filesystem, not in the image"
    requires = ("mount-image",)
    options = (Option("--chroot", None, "enter the image with chroot() instead (escapable, host mounts stay: for the escape suite)"),)

    def setup_child(self, ctx):
        linux = ctx.linux
        if getattr(ctx.options, "chroot", False):
            linux.chdir(ctx.rootfs)
            linux.chroot(".")
            linux.chdir("/")
            return
        # pivot_root(".", ".") stacks the old root under the new one at "/"; detaching
        # "." then drops it, so no directory inside the image is needed for it.
        linux.chdir(ctx.rootfs)
        linux.pivot_root(".", ".")
        linux.umount(".", MNT_DETACH)
        linux.chdir("/")

    def explain(self, ctx):
        if getattr(ctx.options, "chroot", False):
            return "chroot(2) into the image (--chroot): the host's tree stays mounted around it, and root can climb out"
        return self.does
