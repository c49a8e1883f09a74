import os
import stat

from ..errors import USAGE, ContainerError
from ..linux import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID
from ..plugin import Option, Plugin
from .mount_image import STAGING

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


def parse_device(spec):
    """docker's `--device HOST[:CONTAINER][:PERMISSIONS]` -> (host, container)."""
    fields = spec.split(":")
    if len(fields) > 1 and set(fields[-1]) <= set("rwm") and not fields[-1].startswith("/"):
        permissions = fields.pop()
        if set(permissions) != set("rwm"):
            # Enforcing less than rwm takes a device cgroup rule, which demo-runtime has not
            # (its root is nodev instead): refused rather than ignored.
            raise ContainerError(USAGE, f"--device {spec}: only the permissions rwm (all) can be given: there is no device cgroup to enforce {permissions!r}")
    if len(fields) > 2 or not fields[0] or not all(f.startswith("/") for f in fields) or ".." in spec.split("/"):
        raise ContainerError(USAGE, f"invalid --device {spec!r}: use /dev/HOST[:/dev/CONTAINER][:rwm]")
    return fields[0], fields[-1]


class Dev(Plugin):
    name = "dev"
    help = "a minimal /dev on tmpfs: null zero full random urandom tty, private devpts, shm, mqueue"
    does = "tmpfs at /dev with bind mounts of null zero full random urandom tty, a private devpts (newinstance), /dev/shm and /dev/mqueue"
    lost = "/dev is the image's own directory: no /dev/null, no ptys, no /dev/shm"
    requires = ("root",)
    options = (Option("--device", "HOST[:CONTAINER][:rwm]", "a host device node in the container, same type and number (repeatable)", repeat=True),)

    def __init__(self):
        self.devices = []  # (container path, mode, major, minor)

    def prepare(self, ctx):
        for spec in getattr(ctx.options, "device", ()):
            host, target = parse_device(spec)
            try:
                st = ctx.linux.stat(host)
            except OSError as e:
                raise ContainerError(USAGE, f"--device {spec}: {host}: {e.strerror}") from None
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                raise ContainerError(USAGE, f"--device {spec}: {host} is not a device node")
            self.devices.append((target, st.st_mode, os.major(st.st_rdev), os.minor(st.st_rdev)))

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
        # POSIX message queues, as docker and runc's default spec mount them: the
        # mounting process's IPC namespace's own (the ipc plugin's, when it runs).
        linux.mount_in_root(root, "/dev/mqueue", "mqueue", "mqueue", locked, make="dir")
        for target, name in LINKS:
            linux.symlink_in_root(root, target, f"/dev/{name}")
        # --device: made in the staging tmpfs, which is not nodev (unlike /dev and the
        # root), and bound into place; only these nodes open.
        for number, (target, mode, major, minor) in enumerate(self.devices):
            node = f"{STAGING}/device-{number}"
            linux.make_node(node, mode, major, minor)
            linux.mount_in_root(root, target, node, None, MS_BIND, make="file")

    def explain(self, ctx):
        nodes = ", ".join(f"{target} ({major}:{minor})" for target, _, major, minor in self.devices)
        return self.does + (f"\n--device: {nodes}, made with mknod(2) off the nodev mounts and bound into place" if nodes else "")
