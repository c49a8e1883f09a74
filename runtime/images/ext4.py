"""A staged root tree into an ext4 image file with `mkfs.ext4 -d`: no mount, no root.

The one implementation for both image builders: `image import` calls make(), and
testcontainer/build.sh runs `python3 -m runtime.images.ext4` in its fakeroot session.
Run inside the same fakeroot session as the staging (when not root), so the owners,
modes and file capabilities staged are the ones mkfs records.

Default size: the content in 4 KiB blocks plus an inode each, x 1.25, plus headroom,
in whole MiB, with extra inodes for trees of many small files.
"""

import os
import stat
import sys

from .. import errors
from ..errors import ContainerError

MiB = 1 << 20
BLOCK = 4096
DEFAULT_HEADROOM_MIB = 16
_SBIN_PATH = os.pathsep.join((os.environ.get("PATH", "/usr/bin:/bin"), "/usr/sbin", "/sbin"))
_OUT_OF_SPACE = ("allocate", "no space", "too small", "not enough", "could not write")


def ceil_mib(size):
    return -(-size // MiB)


def content_estimate(linux, root):
    """(bytes, inodes) the tree needs in a 4 KiB-block ext4: data, directory and
    slow-symlink blocks, and a 256-byte inode each."""
    blocks = entries = 0
    directories = [root]
    while directories:
        directory = directories.pop()
        for name in linux.listdir(directory):
            path = f"{directory}/{name}"
            info = linux.lstat(path)
            entries += 1
            if stat.S_ISREG(info.st_mode):
                blocks += -(-info.st_size // BLOCK)
            elif stat.S_ISDIR(info.st_mode):
                blocks += max(1, -(-info.st_size // BLOCK))
                directories.append(path)
            elif stat.S_ISLNK(info.st_mode) and info.st_size >= 60:
                blocks += 1  # its target does not fit in the inode
    inodes = entries + 16
    return blocks * BLOCK + inodes * 256, inodes


def _failure(message):
    return ContainerError(errors.IMPORT_OUTPUT, message)


def make(linux, root, image, size=None, headroom_mib=DEFAULT_HEADROOM_MIB, size_arg=None):
    """Write `image` (created or truncated) holding the tree at `root`. size=None: from
    the content. Returns (image bytes, content bytes, whether it has a journal)."""
    mkfs = linux.find_program("mkfs.ext4", path=_SBIN_PATH)
    if mkfs is None:
        raise _failure("mkfs.ext4 not found (apt-get install e2fsprogs)")
    content, inodes = content_estimate(linux, root)
    enough = f"--size {ceil_mib(content * 5 // 4) + 8}M"
    if size is None:
        size = ceil_mib(content * 5 // 4 + headroom_mib * MiB) * MiB
    elif size < content:
        raise _failure(f"--size {size_arg} is too small: the content alone needs {ceil_mib(content)} MiB; use at least {enough} or leave --size out")
    # mke2fs gives one inode per 16 KiB (per 4 KiB below 512 MiB, its "small" type).
    wanted_inodes = inodes + inodes // 2 + 256
    ratio = 16384 if size >= 512 * MiB else 4096
    inode_option = ["-N", str(wanted_inodes)] if wanted_inodes > size // ratio else []
    fd = linux.open(image, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        linux.truncate(fd, size)
    finally:
        linux.close(fd)
    argv = [mkfs, "-F", "-q", "-b", str(BLOCK), "-m", "0", "-L", "demo-rootfs", "-E", "root_owner=0:0", *inode_option]
    status, out, err = linux.run_program([*argv, "-d", root, image])
    log = (out + err).decode(errors="replace")
    if status != 0:
        if size_arg and any(word in log.lower() for word in _OUT_OF_SPACE):
            raise _failure(
                f"--size {size_arg} is too small for this content ({ceil_mib(content)} MiB of files plus ext4 metadata); try {enough} or leave --size out"
            )
        lines = [line for line in log.splitlines() if line.strip()]
        raise _failure(f"mkfs.ext4 failed: {lines[-1] if lines else f'exit status {status}'}")
    return size, content, "too small for a journal" not in log.lower()


def main(argv):
    """ROOT IMAGE SIZE_BYTES|"" HEADROOM_MIB SIZE_ARG -> prints "SIZE CONTENT JOURNAL(1|0)"."""
    from ..linux import Linux

    root, image, size, headroom, size_arg = argv
    try:
        made = make(Linux(), root, image, int(size) if size else None, int(headroom), size_arg)
    except ContainerError as e:
        print(e, file=sys.stderr)
        return 1
    print(*made[:2], int(made[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
