"""The shared state of one bridge: address leases held by flock, and the lock around changes.

Each bridge (per network namespace: a bridge name means one bridge in each) has a
directory /run/demo-runtime/net/<netns inode>-<bridge>/ holding

  ip-<address>   a lease: the runtime that owns the address holds flock(LOCK_EX) on it for
                 the container's life. A lock dies with its holder, so the address of a
                 runtime killed outright (and its janitor) is free again: the next claim
                 reuses the file, the next teardown sweeps it.
  bridge         marker: we created the bridge (content: its subnet), so the last
                 container deletes it. A bridge someone else made is never deleted.
  nat            marker: we created the NAT table.

Every change (claim, release, bridge and NAT set-up and removal) happens under
flock(LOCK_EX) on the directory itself. The last container removes the directory,
and its parents when empty; a waiter that then gets the lock on the removed directory
notices (the inode changed) and starts over.

Every call goes through the syscall layer (`linux`): unit-testable without root, against
the real layer or its double.
"""

import errno
import os
from fcntl import LOCK_EX, LOCK_NB
from os import O_CREAT, O_RDONLY, O_RDWR

STATE_DIR = "/run/demo-runtime/net"
_LEASE = "ip-"


class Exhausted(Exception):
    """No free address in the subnet."""


class BridgeState:
    def __init__(self, linux, root, key):
        self.linux = linux
        self.root = root
        self.path = f"{root}/{key}"
        self.fd = None

    # -- the directory lock -----------------------------------------------
    def __enter__(self):
        linux = self.linux
        while True:
            try:
                linux.makedirs(self.path, 0o755)
                fd = linux.open_directory(self.path)
            except FileNotFoundError:  # a last container removed a parent meanwhile
                continue
            linux.flock(fd, LOCK_EX)
            try:
                current = linux.stat(self.path).st_ino == linux.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                self.fd = fd
                return self
            linux.close(fd)  # the last container removed it while we waited

    def __exit__(self, *exc):
        if self.fd is not None:
            self.linux.close(self.fd)
            self.fd = None

    # -- leases -----------------------------------------------------------
    def claim(self, candidates, note=""):
        """The first candidate address nobody holds: (address, fd holding its lock)."""
        linux = self.linux
        for address in candidates:
            fd = linux.open(f"{self.path}/{_LEASE}{address}", O_RDWR | O_CREAT, 0o644)
            try:
                linux.flock(fd, LOCK_EX | LOCK_NB)
            except BlockingIOError:
                linux.close(fd)
                continue
            try:
                linux.overwrite(fd, f"{linux.getpid()} {note}".strip().encode() + b"\n")
            except BaseException:
                linux.close(fd)
                raise
            return str(address), fd
        raise Exhausted("no free address left")

    def release(self, address, fd):
        try:
            self.linux.unlink(f"{self.path}/{_LEASE}{address}")
        except FileNotFoundError:
            pass
        if fd is not None:
            self.linux.close(fd)

    def live(self):
        """{address: note} of the leases whose holder is alive; removes the others."""
        linux, found = self.linux, {}
        for name in linux.listdir(self.path):
            if not name.startswith(_LEASE):
                continue
            path = f"{self.path}/{name}"
            try:
                fd = linux.open(path, O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    linux.flock(fd, LOCK_EX | LOCK_NB)
                except BlockingIOError:
                    words = linux.read(fd, 256).decode(errors="replace").split()
                    found[name[len(_LEASE) :]] = " ".join(words[1:])
                else:
                    linux.unlink(path)  # its holder is gone
            finally:
                linux.close(fd)
        return found

    # -- markers ------------------------------------------------------------
    def read(self, marker):
        try:
            return self.linux.read_bytes(f"{self.path}/{marker}").decode().strip()
        except FileNotFoundError:
            return None

    def write(self, marker, text):
        self.linux.replace_file(f"{self.path}/{marker}", f"{text}\n".encode(), 0o644)

    def remove(self, marker):
        try:
            self.linux.unlink(f"{self.path}/{marker}")
        except FileNotFoundError:
            pass

    def remove_directory(self):
        """The last container: the directory goes, then its parents if nothing else is in them."""
        for marker in self.linux.listdir(self.path):
            self.remove(marker)
        paths = [self.path, self.root]
        parent = os.path.dirname(self.root)
        if os.path.basename(parent) == "demo-runtime":
            paths.append(parent)
        for path in paths:
            try:
                self.linux.rmdir(path)
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.EBUSY):
                    raise
                break
