from ..linux import MNT_DETACH
from ..plugin import Plugin


class CleanMounts(Plugin):
    name = "clean-mounts"
    help = "pivot_root into the image and detach every host mount (no chroot to escape)"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        linux = ctx.linux
        # pivot_root(".", ".") stacks the old root under the new one at "/"; detaching
        # "." then drops it, so no directory inside the image is needed for it.
        linux.chdir(ctx.rootfs)
        linux.pivot_root(".", ".")
        linux.umount(".", MNT_DETACH)
        linux.chdir("/")
