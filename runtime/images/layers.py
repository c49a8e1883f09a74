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
    """The staging directory the layers are applied to, in order, through linux's *_at
    calls (relative to a directory descriptor, no symlink followed)."""

    def __init__(self, linux, root):
        self.linux = linux
        self.root = root
        self.root_fd = linux.open_directory(root)
        self.devices_skipped = 0

    def close(self):
        self.linux.close(self.root_fd)

    def _open_dir(self, parts, create):
        """An fd on directory `parts`, walked without following any symlink; None if
        it does not exist and create is False."""
        linux = self.linux
        fd = linux.dup(self.root_fd)
        try:
            for i, part in enumerate(parts):
                try:
                    child = linux.open_directory_at(fd, part)
                except FileNotFoundError:
                    if not create:
                        linux.close(fd)
                        return None
                    linux.mkdir_at(fd, part, 0o755)  # a layer may leave parents implicit
                    child = linux.open_directory_at(fd, part)
                except OSError as e:
                    here = "/".join(parts[: i + 1])
                    found = linux.lstat_at(fd, part)
                    if found is not None and stat.S_ISLNK(found.st_mode):
                        raise unsafe(f"layer path {'/'.join(parts)!r} goes through the symlink {here!r}") from None
                    if isinstance(e, NotADirectoryError):
                        raise ContainerError(
                            errors.IMPORT_CORRUPT, f"layer path {'/'.join(parts)!r}: {here!r} is not a directory"
                        ) from None
                    raise
                linux.close(fd)
                fd = child
            return fd
        except BaseException:
            linux.close(fd)
            raise

    def apply(self, tar, layer_name):
        """Apply one layer: `tar` is a tarfile opened for streaming ("r|"). The kernel
        refusing a write (ENOSPC, EACCES...) is IMPORT_OUTPUT, naming the entry."""
        written = set()  # names this layer made: its own whiteouts must spare them
        directories = []  # (parts, member): metadata set once the layer's files are in
        member = None
        try:
            for member in tar:
                self._member(tar, member, written, directories)
            # Deepest first: a parent's mode (say 0555) must not stop its children's.
            for parts, member in sorted(directories, key=lambda d: len(d[0]), reverse=True):
                fd = self._open_dir(parts, create=False)
                if fd is None:
                    continue  # whited out later in this layer, with a parent it left implicit
                try:
                    self._set_metadata(fd, member)
                finally:
                    self.linux.close(fd)
        except OSError as e:
            if e.errno is None:  # a damaged stream (gzip.BadGzipFile), not the kernel
                raise
            where = f"{member.name}: " if member is not None else ""
            raise ContainerError(errors.IMPORT_OUTPUT, f"layer {layer_name}: {where}{e.strerror}") from None

    def _member(self, tar, member, written, directories):
        parts = components(member.name)
        if not parts:
            if member.isdir():
                directories.append((parts, member))
            return
        leaf = parts[-1]
        if leaf == OPAQUE:
            self._opaque(parts[:-1], written)
        elif leaf.startswith(WHITEOUT + WHITEOUT):
            return  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not content
        elif leaf.startswith(WHITEOUT):
            self._whiteout(parts[:-1], leaf[len(WHITEOUT) :], written, member.name)
        else:
            self._entry(tar, member, parts, written, directories)

    def _whiteout(self, parent, name, written, original):
        if name in ("", ".", "..") or "/" in name:
            raise unsafe(f"whiteout {original!r} in a layer names no entry of its directory")
        if parent + (name,) in written:
            return
        fd = self._open_dir(parent, create=False)
        if fd is None:
            return  # nothing below to hide
        try:
            self.linux.remove_at(fd, name)
        finally:
            self.linux.close(fd)

    def _opaque(self, directory, written):
        fd = self._open_dir(directory, create=True)
        try:
            for name in self.linux.listdir(fd):
                if directory + (name,) not in written:
                    self.linux.remove_at(fd, name)
        finally:
            self.linux.close(fd)

    def _entry(self, tar, member, parts, written, directories):
        if member.ischr() or member.isblk():
            self.devices_skipped += 1
            return
        linux = self.linux
        parent = self._open_dir(parts[:-1], create=True)
        leaf = parts[-1]
        try:
            existing = linux.lstat_at(parent, leaf)
            if existing is not None and stat.S_ISDIR(existing.st_mode) and not member.isdir():
                # A directory replaced (the last entry of a name wins): no metadata is due
                # to it or to what was below it.
                directories[:] = [d for d in directories if d[0][: len(parts)] != parts]
            if member.isdir():
                if existing is None or not stat.S_ISDIR(existing.st_mode):
                    linux.remove_at(parent, leaf)
                    linux.mkdir_at(parent, leaf, 0o700)
                directories.append((parts, member))
            elif member.islnk():
                self._hardlink(parent, leaf, member)
            else:
                linux.remove_at(parent, leaf)
                if member.issym():
                    linux.symlink_at(member.linkname, parent, leaf)
                    linux.set_link_metadata(parent, leaf, member.uid, member.gid, member.mtime)
                elif member.isfifo():
                    linux.make_fifo_at(parent, leaf, 0o600)
                    fd = linux.open_at(parent, leaf, os.O_RDONLY | os.O_NONBLOCK)
                    try:
                        self._set_metadata(fd, member)
                    finally:
                        linux.close(fd)
                elif member.isreg():
                    self._file(tar, member, parent, leaf)
                else:
                    raise ContainerError(errors.IMPORT_CORRUPT, f"layer entry {member.name!r} has unknown type {member.type!r}")
        finally:
            linux.close(parent)
        written.add(parts)

    def _file(self, tar, member, parent, leaf):
        fd = self.linux.open_at(parent, leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            source = tar.extractfile(member)
            while chunk := source.read(_COPY_CHUNK):
                self.linux.write_all(fd, chunk)
            self._set_metadata(fd, member)
        finally:
            self.linux.close(fd)

    def _set_metadata(self, fd, member):
        capability = _capability(member)
        xattrs = () if capability is None else ((_CAPABILITY_XATTR, capability),)
        self.linux.set_metadata(fd, member.uid, member.gid, stat.S_IMODE(member.mode), member.mtime, xattrs)

    def _hardlink(self, parent, leaf, member):
        linux = self.linux
        target = components(member.linkname, "hardlink target")
        if not target:
            raise unsafe(f"hardlink {member.name!r} points at the root directory")
        target_dir = self._open_dir(target[:-1], create=False)
        found = target_dir is not None and linux.lstat_at(target_dir, target[-1])
        try:
            if not found or stat.S_ISDIR(found.st_mode):
                raise ContainerError(
                    errors.IMPORT_CORRUPT, f"hardlink {member.name!r} to {member.linkname!r}: no such file before it"
                )
            existing = linux.lstat_at(parent, leaf)
            if existing and (existing.st_dev, existing.st_ino) == (found.st_dev, found.st_ino):
                return
            linux.remove_at(parent, leaf)
            linux.link_at(target_dir, target[-1], parent, leaf)
        finally:
            if target_dir is not None:
                linux.close(target_dir)


def _capability(member):
    for key in _CAPABILITY_KEYS:
        value = member.pax_headers.get(key)
        if value is not None:
            raw = value.encode("utf-8", "surrogateescape")
            return base64.b64decode(raw) if key.startswith("LIBARCHIVE") else raw
    return None


def open_stream(fileobj):
    """A tarfile reading `fileobj` (an uncompressed tar) front to back."""
    return tarfile.open(fileobj=fileobj, mode="r|", errorlevel=2)
