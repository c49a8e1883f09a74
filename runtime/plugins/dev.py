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
    requires = ("root",)

    def setup_child(self, ctx):
        # Everything below /dev is on the fresh tmpfs, so nothing the image put there
        # (a symlinked /dev/pts or /dev/shm) is seen; /dev itself must be a directory.
        linux, root = ctx.linux, ctx.rootfs
        locked = MS_NOSUID | MS_NOEXEC | MS_NODEV
        linux.mount_in_root(root, "/dev", "tmpfs", "tmpfs", locked, "mode=0755,size=64k", make="dir", real=True)
        for name in DEVICES:
            linux.mount_in_root(root, f"/dev/{name}", f"/dev/{name}", None, MS_BIND, make="file")
        pts = "newinstance,ptmxmode=0666,mode=0620,gid=5"
        linux.mount_in_root(root, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, pts, make="dir")
        linux.mount_in_root(root, "/dev/shm", "shm", "tmpfs", locked, "mode=1777,size=65536k", make="dir")
        for target, name in LINKS:
            linux.symlink_in_root(root, target, f"/dev/{name}")
