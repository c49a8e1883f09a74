from ..linux import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Plugin

# Bound from the host, not created with mknod, so this also works where mknod is not
# allowed (user namespaces). The tmpfs under them is nodev: nothing else opens.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
LINKS = (
    ("pts/ptmx", "ptmx"),
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
)


class Dev(Plugin):
    name = "dev"
    help = "a minimal /dev on tmpfs: null zero full random urandom tty, private devpts, shm"
    does = "tmpfs at /dev with bind mounts of null zero full random urandom tty, a private devpts (newinstance) and /dev/shm"
    lost = "/dev is the image's own directory: no /dev/null, no ptys, no /dev/shm"
    requires = ("mount-image",)

    def setup_child(self, ctx):
        linux = ctx.linux
        dev = f"{ctx.rootfs}/dev"
        linux.mkdir(dev)
        linux.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=0755,size=64k")
        for name in DEVICES:
            linux.create_file(f"{dev}/{name}", 0o666)
            linux.mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
        linux.mkdir(f"{dev}/pts")
        linux.mount("devpts", f"{dev}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")
        linux.mkdir(f"{dev}/shm", 0o1777)
        linux.mount("shm", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")
        for target, name in LINKS:
            linux.symlink(target, f"{dev}/{name}")
