from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Plugin


class Proc(Plugin):
    name = "proc"
    help = "/proc of the container's own PID namespace"
    does = "mount(\"proc\") at /proc: the processes of the container's own PID namespace (ps, /proc/self)"
    lost = "/proc is the image's empty directory: ps and anything reading /proc/self fail"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        target = f"{ctx.rootfs}/proc"
        ctx.linux.mkdir(target, 0o555)
        ctx.linux.mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
