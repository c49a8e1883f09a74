"""A staged root tree into an ext4 image file with `mkfs.ext4 -d`: no mount, no root.

Sized as testcontainer/build.sh sizes its images: the content in 4 KiB blocks plus an
inode each, x 1.25, plus headroom, in whole MiB, with extra inodes for trees of many
small files. Run inside the same fakeroot session as the staging (when not root), so
the owners, modes and file capabilities the layers set are the ones mkfs records.
"""

import os
import shutil
import stat
import subprocess

from .. import errors
from ..errors import ContainerError

MiB = 1 << 20
BLOCK = 4096
DEFAULT_HEADROOM_MIB = 16
_SBIN_PATH = os.pathsep.join((os.environ.get("PATH", "/usr/bin:/bin"), "/usr/sbin", "/sbin"))


def content_estimate(root):
    """(bytes, inodes) the tree needs in a 4 KiB-block ext4."""
    blocks = entries = 0
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.lstat(os.path.join(directory, name))
            entries += 1
            if stat.S_ISREG(info.st_mode):
                blocks += -(-info.st_size // BLOCK)
            elif stat.S_ISDIR(info.st_mode):
                blocks += max(1, -(-info.st_size // BLOCK))
            elif stat.S_ISLNK(info.st_mode) and info.st_size >= 60:
                blocks += 1  # a slow symlink: its target does not fit in the inode
    inodes = entries + 16
    return blocks * BLOCK + inodes * 256, inodes


def make(root, image, headroom_mib=DEFAULT_HEADROOM_MIB):
    """Write `image` (created, or truncated) holding the tree at `root`; returns its size."""
    mkfs = shutil.which("mkfs.ext4", path=_SBIN_PATH)
    if mkfs is None:
        raise ContainerError(errors.IMPORT_OUTPUT, "mkfs.ext4 not found (apt-get install e2fsprogs)")
    content, inodes = content_estimate(root)
    size = -(-(content * 5 // 4 + headroom_mib * MiB) // MiB) * MiB
    # mke2fs gives one inode per 16 KiB (per 4 KiB below 512 MiB, its "small" type).
    wanted_inodes = inodes + inodes // 2 + 256
    ratio = 16384 if size >= 512 * MiB else 4096
    inode_option = ["-N", str(wanted_inodes)] if wanted_inodes > size // ratio else []
    with open(image, "wb") as f:
        f.truncate(size)
    argv = [mkfs, "-F", "-q", "-b", str(BLOCK), "-m", "0", "-L", "demo-rootfs", "-E", "root_owner=0:0"]
    result = subprocess.run(
        [*argv, *inode_option, "-d", root, image], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        raise ContainerError(errors.IMPORT_OUTPUT, f"mkfs.ext4 failed: {lines[-1] if lines else result.returncode}")
    return size
