from ..linux import MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Plugin


class Proc(Plugin):
    name = "proc"
    help = "/proc of the container's own PID namespace"
    does = "mount(\"proc\") at /proc: the processes of the container's own PID namespace (ps, /proc/self)"
    lost = "/proc is the image's empty directory: ps and anything reading /proc/self fail"
    requires = ("root",)

    def setup_child(self, ctx):
        # real=True: an image whose /proc is a symlink would send procfs elsewhere and
        # leave the masks over /proc/sys & co. to a directory of the image's choosing.
        ctx.linux.mount_in_root(ctx.rootfs, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, make="dir", real=True)
