from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY
from ..plugin import Plugin


class Sys(Plugin):
    name = "sys"
    help = "/sys, read-only"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        target = f"{ctx.rootfs}/sys"
        ctx.linux.mkdir(target, 0o555)
        ctx.linux.mount("sysfs", target, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
