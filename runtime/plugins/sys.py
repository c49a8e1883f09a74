from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY
from ..plugin import Plugin


class Sys(Plugin):
    name = "sys"
    help = "/sys, read-only"
    does = "mount(\"sysfs\") at /sys, read-only (MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC)"
    lost = "/sys is the image's empty directory: no devices, no kernel objects"
    requires = ("root",)

    def setup_child(self, ctx):
        flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        ctx.linux.mount_in_root(ctx.rootfs, "/sys", "sysfs", "sysfs", flags, make="dir", real=True)
