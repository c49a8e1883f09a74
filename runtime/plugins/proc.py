from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Plugin


class Proc(Plugin):
    name = "proc"
    help = "/proc of the container's own PID namespace"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        target = f"{ctx.rootfs}/proc"
        ctx.linux.mkdir(target, 0o555)
        ctx.linux.mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
