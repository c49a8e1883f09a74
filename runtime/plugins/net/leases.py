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

Only the standard library: unit-testable without root.
"""

import errno
import fcntl
import os

STATE_DIR = "/run/demo-runtime/net"
_LEASE = "ip-"


class Exhausted(Exception):
    """No free address in the subnet."""


class BridgeState:
    def __init__(self, root, key):
        self.root = root
        self.path = f"{root}/{key}"
        self.fd = None

    # -- the directory lock -----------------------------------------------
    def __enter__(self):
        while True:
            try:
                os.makedirs(self.path, 0o755, exist_ok=True)
                fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:  # a last container removed a parent meanwhile
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                self.fd = fd
                return self
            os.close(fd)  # the last container removed it while we waited

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    # -- leases -----------------------------------------------------------
    def claim(self, candidates, note=""):
        """The first candidate address nobody holds: (address, fd holding its lock)."""
        for address in candidates:
            fd = os.open(f"{self.path}/{_LEASE}{address}", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {note}".strip().encode() + b"\n", 0)
            return str(address), fd
        raise Exhausted("no free address left")

    def release(self, address, fd):
        try:
            os.unlink(f"{self.path}/{_LEASE}{address}")
        except FileNotFoundError:
            pass
        if fd is not None:
            os.close(fd)

    def live(self):
        """{address: note} of the leases whose holder is alive; removes the others."""
        found = {}
        for name in os.listdir(self.path):
            if not name.startswith(_LEASE):
                continue
            path = f"{self.path}/{name}"
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    words = os.read(fd, 256).decode(errors="replace").split()
                    found[name[len(_LEASE) :]] = " ".join(words[1:])
                else:
                    os.unlink(path)  # its holder is gone
            finally:
                os.close(fd)
        return found

    # -- markers ------------------------------------------------------------
    def read(self, marker):
        try:
            with open(f"{self.path}/{marker}") as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def write(self, marker, text):
        with open(f"{self.path}/{marker}", "w") as f:
            f.write(f"{text}\n")

    def remove(self, marker):
        try:
            os.unlink(f"{self.path}/{marker}")
        except FileNotFoundError:
            pass

    def remove_directory(self):
        """The last container: the directory goes, then its parents if nothing else is in them."""
        for marker in os.listdir(self.path):
            self.remove(marker)
        paths = [self.path, self.root]
        parent = os.path.dirname(self.root)
        if os.path.basename(parent) == "demo-runtime":
            paths.append(parent)
        for path in paths:
            try:
                os.rmdir(path)
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.EBUSY):
                    raise
                break
