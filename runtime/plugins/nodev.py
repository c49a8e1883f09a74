from ..linux import MS_NODEV
from ..plugin import Plugin


class NoDev(Plugin):
    name = "nodev"
    help = "the root is nodev: device nodes made in the container (mknod) cannot be opened"
    does = "remount / with MS_NODEV: a device node made with mknod(2) in the container cannot be opened"
    lost = "with --cap-add MKNOD, a device node made in the container opens the host's device: a host disk reads raw"
    requires = ("clean-mounts",)

    # The default capabilities lack CAP_MKNOD: this is the layer behind them.
    # Docker keeps CAP_MKNOD and stops the use of such nodes with the devices cgroup
    # (v1) or a BPF device program (v2). A nodev root does the same on both cgroup
    # versions: /dev's own nodes are bind mounts, which keep working; every other
    # writable mount (/dev, /dev/shm) is nodev already, and nothing new can be mounted.
    def setup_child(self, ctx):
        ctx.linux.restrict_mount("/", MS_NODEV)  # keeping the others (--read-only)
