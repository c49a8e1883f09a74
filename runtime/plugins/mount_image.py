import errno
import fcntl
import os
import stat

from .. import errors
from ..errors import ContainerError
from ..linux import MS_NOSUID, MS_RDONLY, NoFreeLoopDevice
from ..plugin import Option, Plugin

# Where the root is assembled, inside the container's own mount namespace only: a
# tmpfs mounted over it there hides nothing and leaves nothing on the host.
STAGING = "/tmp"
_EXT_MAGIC = b"\x53\xef"  # s_magic, little-endian, at byte 0x38 of the superblock at 1024
# Shared by both roots (this plugin and rootfs, a directory).
RW = Option("--rw", None, "write through to the image file or directory (exclusive: one such container at a time)")


def lock_root(linux, fd, rw, path):
    """Readers of an image (file or directory) share it; a writer needs it alone."""
    try:
        linux.flock(fd, (fcntl.LOCK_EX if rw else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ContainerError(
            errors.IMAGE_BUSY,
            f"image {path} is in use by a container started with --rw"
            if not rw
            else f"image {path} is in use: --rw needs it exclusively",
        ) from None


def stage_root(linux, rw, source, mount_base):
    """The root at STAGING/root, in the staging tmpfs: the base itself with --rw, else
    the base read-only under an overlay whose writes go to the tmpfs. mount_base(target)
    mounts the base (the image, a directory) on target, read-only unless rw. Returned
    held (linux.hold_root): the plugins after resolve their paths inside it from one
    descriptor."""
    linux.mount("tmpfs", STAGING, "tmpfs", MS_NOSUID, "mode=0755")
    root = f"{STAGING}/root"
    linux.mkdir(root)
    if rw:
        mount_base(root)
        return linux.hold_root(root)
    # Named for what they are: `mount` in the container shows these names (the image
    # as the source; the layers, though no longer reachable there).
    lower, upper, work = (f"{STAGING}/{name}" for name in ("image-read-only", "writes-in-memory", "overlay-work"))
    for path in (lower, upper, work):
        linux.mkdir(path)
    mount_base(lower)
    linux.mount(source, root, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    return linux.hold_root(root)


def _corrupt_image(image, error):
    """An ext4 mount's failure that says the image is corrupt, as the runtime reports it
    (by the image's name); None for any other, which goes on as the kernel's error."""
    if error.errno in (errno.EUCLEAN, errno.EINVAL, errno.EIO, errno.EBADMSG):
        return ContainerError(errors.IMAGE_CORRUPT, f"image {image} cannot be mounted: {error.strerror} (corrupt filesystem?)")
    return None


def _mount(image, mount):
    """mount()'s result; its failure as _corrupt_image says, else the kernel's error as it is."""
    try:
        return mount()
    except OSError as e:
        if corrupt := _corrupt_image(image, e):
            raise corrupt from None
        raise


class MountImage(Plugin):
    name = "mount-image"
    help = "the image through a self-freeing loop device; read-only under a tmpfs overlay unless --rw"
    does = "the image on a loop device (LOOP_CONFIGURE, LO_FLAGS_AUTOCLEAR) shared by its readers, mounted ext4; read-only under an overlay whose writes go to a tmpfs"
    lost = "no root filesystem from the image: the container has nothing of its own to run in"
    options = (RW,)
    requires = ("mount",)
    provides = ("root",)

    @classmethod
    def wanted(cls, options):
        return getattr(options, "rootfs", None) is None  # else the rootfs plugin makes the root

    def __init__(self):
        self.image_fd = None
        self.loop_fd = None
        self.loop_device = None  # its path, which the child mounts

    def prepare(self, ctx):
        path, linux = ctx.image, ctx.linux
        try:
            mode = linux.stat(path).st_mode
        except OSError as e:
            raise ContainerError(errors.IMAGE_MISSING, f"image {path}: {e.strerror}") from None
        if not stat.S_ISREG(mode):
            raise ContainerError(errors.IMAGE_NOT_FILE, f"image {path} is not a regular file")
        rw = ctx.options.rw
        try:
            self.image_fd = linux.open(path, os.O_RDWR if rw else os.O_RDONLY)
        except OSError as e:
            raise ContainerError(errors.IMAGE_MISSING, f"image {path}: {e.strerror}") from None
        if linux.pread(self.image_fd, 2, 1024 + 0x38) != _EXT_MAGIC:
            raise ContainerError(errors.IMAGE_NOT_EXT4, f"image {path} is not an ext2/3/4 filesystem")
        # The loop device keeps this open file, so the lock lasts exactly as long as
        # the device is bound.
        lock_root(linux, self.image_fd, rw, path)
        try:
            self.loop_fd, self.loop_device = self._loop(linux, rw, path)
        except NoFreeLoopDevice as e:
            raise ContainerError(errors.NO_LOOP_DEVICE, str(e.strerror)) from None

    def _loop(self, linux, rw, path):
        """Readers of one image file share one loop device, hence one ext4 superblock
        and one page cache: after the first start, attaching and mounting cost nearly
        nothing. The device frees itself when its last holder, whoever that is, is
        gone. Attaching is done under a lock, after looking once more, so starts at
        once attach one device, not one each. A writer gets a device of its own."""
        if not rw and (shared := linux.shared_loop(self.image_fd)):
            return shared
        lock = linux.lock_loop_attach()
        try:
            if not rw and (shared := linux.shared_loop(self.image_fd)):
                return shared
            return linux.attach_loop(self.image_fd, read_only=not rw, name=path)
        finally:
            linux.close(lock)

    def setup_child(self, ctx):
        rw = ctx.options.rw
        source = os.path.basename(ctx.image) or "image"
        # noload: never replay a journal on a read-only device.
        flags, data = (0, "") if rw else (MS_RDONLY, "noload")
        ctx.rootfs = stage_root(ctx.linux, rw, source, lambda target: self._mount_ext4(ctx, target, flags, data))

    def _mount_ext4(self, ctx, target, flags, data):
        _mount(ctx.image, lambda: ctx.linux.mount(self.loop_device, target, "ext4", flags, data))

    def hold(self, ctx):
        """After prepare(): the image's filesystem mounted read-only in no mount namespace,
        as a descriptor (runtime.Image). While it is open, the superblock, its caches and
        the loop device outlive the containers, and the next start mounts what is there."""
        return _mount(ctx.image, lambda: ctx.linux.detached_mount(self.loop_device, "ext4", ("noload",)))

    def teardown(self, ctx):
        # Closing the last reference frees the loop device (LO_FLAGS_AUTOCLEAR); the
        # mounts that hold it die with the container's mount namespace.
        for fd in (self.loop_fd, self.image_fd):
            if fd is not None:
                ctx.linux.close(fd)
        self.loop_fd = self.image_fd = None

    def explain(self, ctx):
        how = "read-write (--rw): writes go into the image file" if ctx.options.rw else (
            "read-only, under an overlay: writes go to a tmpfs and are gone at exit")
        return f"{self.loop_device} <- {ctx.image}, {how}\nthe loop device frees itself (LO_FLAGS_AUTOCLEAR) once nothing holds it"
