"""Apply image layers (tar streams) to a staging tree, never writing outside it.

Every name in a layer is untrusted. It is split into components and walked from the
tree's root one openat(O_NOFOLLOW) per directory: `..`, absolute names, and any path
through a symlink (whichever layer made it) are refused, so what a layer writes lands
inside the tree, whatever earlier entries put there. Whiteouts (`.wh.NAME`, opaque
`.wh..wh..opq`) remove what lower layers made, never what this layer made itself
(the OCI rule). Device nodes are skipped and counted: the runtime gives /dev its own.
"""

import base64
import os
import shutil
import stat
import tarfile

from .. import errors
from ..errors import ContainerError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
# File capabilities, as Go's archive/tar (docker, podman) and GNU tar write them, and
# as libarchive (bsdtar) does, base64-encoded.
_CAPABILITY_KEYS = ("SCHILY.xattr.security.capability", "LIBARCHIVE.xattr.security.capability")
_CAPABILITY_XATTR = "security.capability"
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_COPY_CHUNK = 1 << 20


def unsafe(message):
    return ContainerError(errors.IMPORT_UNSAFE_PATH, message)


def components(name, what="path"):
    """A layer's name as a tuple of components; () is the root. Refuses `..` and absolute names."""
    if name.startswith("/"):
        raise unsafe(f"absolute {what} {name!r} in a layer")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise unsafe(f"{what} {name!r} in a layer leaves the tree (..)")
    return parts


class Tree:
    """The staging directory the layers are applied to, in order."""

    def __init__(self, root):
        self.root = root
        self.root_fd = os.open(root, _DIRECTORY)
        self.devices_skipped = 0

    def close(self):
        os.close(self.root_fd)

    def _open_dir(self, parts, create):
        """An fd on directory `parts`, walked without following any symlink; None if
        it does not exist and create is False."""
        fd = os.dup(self.root_fd)
        try:
            for i, part in enumerate(parts):
                try:
                    child = os.open(part, _DIRECTORY, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    os.mkdir(part, 0o755, dir_fd=fd)  # a layer may leave parents implicit
                    child = os.open(part, _DIRECTORY, dir_fd=fd)
                except (NotADirectoryError, OSError) as e:
                    here = "/".join(parts[: i + 1])
                    if _is_symlink(fd, part):
                        raise unsafe(f"layer path {'/'.join(parts)!r} goes through the symlink {here!r}") from None
                    if isinstance(e, NotADirectoryError):
                        raise ContainerError(
                            errors.IMPORT_CORRUPT, f"layer path {'/'.join(parts)!r}: {here!r} is not a directory"
                        ) from None
                    raise
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def apply(self, tar, layer_name):
        """Apply one layer: `tar` is a tarfile opened for streaming ("r|")."""
        written = set()  # names this layer made: its own whiteouts must spare them
        directories = []  # (parts, member): metadata set once the layer's files are in
        for member in tar:
            parts = components(member.name)
            if not parts:
                if member.isdir():
                    directories.append((parts, member))
                continue
            leaf = parts[-1]
            if leaf == OPAQUE:
                self._opaque(parts[:-1], written)
            elif leaf.startswith(WHITEOUT + WHITEOUT):
                continue  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not content
            elif leaf.startswith(WHITEOUT):
                self._whiteout(parts[:-1], leaf[len(WHITEOUT) :], written, member.name)
            else:
                self._entry(tar, member, parts, written, directories)
        # Deepest first: a parent's mode (say 0555) must not stop its children's.
        for parts, member in sorted(directories, key=lambda d: len(d[0]), reverse=True):
            fd = self._open_dir(parts, create=False)
            if fd is None:
                continue  # whited out or replaced later in this layer
            try:
                _set_metadata(fd, member)
            finally:
                os.close(fd)

    def _whiteout(self, parent, name, written, original):
        if name in ("", ".", "..") or "/" in name:
            raise unsafe(f"whiteout {original!r} in a layer names no entry of its directory")
        if parent + (name,) in written:
            return
        fd = self._open_dir(parent, create=False)
        if fd is None:
            return  # nothing below to hide
        try:
            _remove(fd, name)
        finally:
            os.close(fd)

    def _opaque(self, directory, written):
        fd = self._open_dir(directory, create=True)
        try:
            for name in os.listdir(fd):
                if directory + (name,) not in written:
                    _remove(fd, name)
        finally:
            os.close(fd)

    def _entry(self, tar, member, parts, written, directories):
        if member.ischr() or member.isblk():
            self.devices_skipped += 1
            return
        parent = self._open_dir(parts[:-1], create=True)
        leaf = parts[-1]
        try:
            existing = _lstat(parent, leaf)
            if member.isdir():
                if existing is None or not stat.S_ISDIR(existing.st_mode):
                    _remove(parent, leaf)
                    os.mkdir(leaf, 0o700, dir_fd=parent)
                directories.append((parts, member))
            elif member.islnk():
                self._hardlink(parent, leaf, member)
            else:
                _remove(parent, leaf)
                if member.issym():
                    os.symlink(member.linkname, leaf, dir_fd=parent)
                    _set_link_metadata(parent, leaf, member)
                elif member.isfifo():
                    os.mkfifo(leaf, 0o600, dir_fd=parent)
                    fd = os.open(leaf, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                    try:
                        _set_metadata(fd, member)
                    finally:
                        os.close(fd)
                elif member.isreg():
                    self._file(tar, member, parent, leaf)
                else:
                    raise ContainerError(errors.IMPORT_CORRUPT, f"layer entry {member.name!r} has unknown type {member.type!r}")
        finally:
            os.close(parent)
        written.add(parts)

    def _file(self, tar, member, parent, leaf):
        fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
        try:
            source = tar.extractfile(member)
            while chunk := source.read(_COPY_CHUNK):
                _write_all(fd, chunk)
            _set_metadata(fd, member)
        finally:
            os.close(fd)

    def _hardlink(self, parent, leaf, member):
        target = components(member.linkname, "hardlink target")
        if not target:
            raise unsafe(f"hardlink {member.name!r} points at the root directory")
        target_dir = self._open_dir(target[:-1], create=False)
        found = target_dir is not None and _lstat(target_dir, target[-1])
        try:
            if not found or stat.S_ISDIR(found.st_mode):
                raise ContainerError(
                    errors.IMPORT_CORRUPT, f"hardlink {member.name!r} to {member.linkname!r}: no such file before it"
                )
            existing = _lstat(parent, leaf)
            if existing and (existing.st_dev, existing.st_ino) == (found.st_dev, found.st_ino):
                return
            _remove(parent, leaf)
            os.link(target[-1], leaf, src_dir_fd=target_dir, dst_dir_fd=parent, follow_symlinks=False)
        finally:
            if target_dir is not None:
                os.close(target_dir)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _lstat(dir_fd, name):
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _is_symlink(dir_fd, name):
    found = _lstat(dir_fd, name)
    return found is not None and stat.S_ISLNK(found.st_mode)


def _remove(dir_fd, name):
    found = _lstat(dir_fd, name)
    if found is None:
        return
    if stat.S_ISDIR(found.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)  # fd-based: it follows no symlink either
    else:
        os.unlink(name, dir_fd=dir_fd)


def _capability(member):
    for key in _CAPABILITY_KEYS:
        value = member.pax_headers.get(key)
        if value is not None:
            raw = value.encode("utf-8", "surrogateescape")
            return base64.b64decode(raw) if key.startswith("LIBARCHIVE") else raw
    return None


def _set_metadata(fd, member):
    """Owner, then mode (chown clears setuid), file capability, mtime, on an open fd."""
    os.fchown(fd, member.uid, member.gid)
    os.fchmod(fd, stat.S_IMODE(member.mode))
    capability = _capability(member)
    if capability is not None:
        os.setxattr(fd, _CAPABILITY_XATTR, capability)
    os.utime(fd, (member.mtime, member.mtime))


def _set_link_metadata(dir_fd, name, member):
    os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
    os.utime(name, (member.mtime, member.mtime), dir_fd=dir_fd, follow_symlinks=False)


def open_stream(fileobj):
    """A tarfile reading `fileobj` (an uncompressed tar) front to back."""
    return tarfile.open(fileobj=fileobj, mode="r|", errorlevel=2)
