from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY
from ..plugin import Plugin


class Sys(Plugin):
    name = "sys"
    help = "/sys, read-only"
    does = "mount(\"sysfs\") at /sys, read-only (MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC)"
    lost = "/sys is the image's empty directory: no devices, no place for the cgroup tree"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        target = f"{ctx.rootfs}/sys"
        ctx.linux.mkdir(target, 0o555)
        ctx.linux.mount("sysfs", target, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
