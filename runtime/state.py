"""What the runtime knows about its named containers, on disk under ROOT/NAME/:

  state.json  the record (FORMAT_VERSION, image, options, PID 1, status, exit code),
              replaced atomically (written beside it, then renamed over it)
  lock        flock()ed by every command that reads the record and then changes it
  alive       flock()ed by the container's supervisor as long as it lives (and by its
              janitor, which inherits it): a free lock means that no one is in charge,
              whatever state.json says
  log         the container's stdout and stderr (detached containers)

A directory is prepared under a hidden name and renamed into place complete, so a
name is claimed atomically (rename onto an existing container fails) and no reader
ever sees half a container. Every file call goes through the syscall layer (`linux`,
runtime.linux.Linux unless a test gives its double).
"""

import errno
import os
from fcntl import LOCK_EX, LOCK_NB, LOCK_SH
from stat import S_ISDIR

from . import errors, jsontext
from .errors import ContainerError

ROOT = "/run/demo-runtime/containers"
FORMAT_VERSION = 1
_NEW = ".new-"  # prefix of directories being prepared
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_REQUIRED = ("version", "name", "image", "command", "status")


def check_name(name):
    """Docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters (it names files)."""
    if not (0 < len(name) <= 64 and set(name) <= _NAME_CHARS and name[0].isalnum()):
        raise ContainerError(
            errors.USAGE, f"invalid container name {name!r}: 1-64 letters, digits, '_', '.' and '-', starting with a letter or digit"
        )
    return name


def generate_name(linux):
    return f"dr-{linux.random_bytes(4).hex()}"


def process_status(pid, linux=None):
    """(state letter, start time in clock ticks since boot) of a process, or None if it is
    gone: the start time tells it apart from a later process that reuses the pid, and "Z"
    is one that has exited but is not reaped yet."""
    try:
        stat = _linux(linux).read_bytes(f"/proc/{pid}/stat")
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


def process_start_time(pid, linux=None):
    """The kernel's start time of a process, or None if it is gone."""
    status = process_status(pid, linux)
    return status and status[1]


def _linux(linux):
    if linux is None:
        from .linux import Linux

        linux = Linux()
    return linux


class _Lock:
    def __init__(self, linux, path, mode, create=False):
        self.linux = linux
        self.fd = linux.open(path, os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0), 0o600)
        try:
            linux.flock(self.fd, mode)
        except BaseException:
            linux.close(self.fd)
            raise

    def release(self):
        self.linux.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


class State:
    """One container's directory."""

    def __init__(self, name, root=ROOT, linux=None):
        self.name = name
        self.root = root
        self.linux = _linux(linux)
        self.path = f"{root}/{name}"
        self.log = f"{self.path}/log"

    # -- creating ----------------------------------------------------------
    @classmethod
    def create(cls, name, record, root=ROOT, linux=None):
        """Claim NAME with its first record; returns (state, the held alive lock)."""
        linux = _linux(linux)
        staging = f"{root}/{_NEW}{name}-{linux.getpid()}"
        for attempt in range(10):  # the last container's rm may remove the root meanwhile
            try:
                linux.makedirs(root, 0o700)
                linux.mkdir(staging, 0o700)
                break
            except FileNotFoundError:
                if attempt == 9:
                    raise
            except OSError as e:
                raise ContainerError(errors.STATE_UNREADABLE, f"cannot write container state in {root}: {e.strerror}") from None
        alive = None
        try:
            alive = _Lock(linux, f"{staging}/alive", LOCK_EX, create=True)
            for entry in ("lock", "log"):
                linux.create_file(f"{staging}/{entry}", 0o600)
            _write_json(linux, f"{staging}/state.json", {"version": FORMAT_VERSION, "name": name, **record})
            try:
                linux.rename(staging, f"{root}/{name}")
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise ContainerError(errors.NAME_IN_USE, f"container name {name!r} is already in use") from None
                raise
        except BaseException:
            if alive:
                alive.release()
            linux.remove_tree(staging)
            raise
        return cls(name, root, linux), alive

    # -- reading -----------------------------------------------------------
    @classmethod
    def find(cls, name, root=ROOT, linux=None):
        check_name(name)
        state = cls(name, root, linux)
        try:
            found = S_ISDIR(state.linux.stat(state.path).st_mode)
        except OSError:
            found = False
        if not found:
            raise ContainerError(errors.NO_SUCH_CONTAINER, f"no such container: {name}")
        return state

    def read(self):
        """The record, with `status` made true: running only while a supervisor is in charge."""
        record = self.load()
        if record["status"] != "exited" and not self.supervised():
            record.update(status="exited", exit_code=None, reason="its supervisor died")
        return record

    def load(self):
        """The record as written."""
        path = f"{self.path}/state.json"
        try:
            record = jsontext.loads(self.linux.read_bytes(path))
        except FileNotFoundError:
            raise ContainerError(errors.NO_SUCH_CONTAINER, f"no such container: {self.name}") from None
        except (OSError, ValueError) as e:
            raise ContainerError(errors.STATE_UNREADABLE, f"container {self.name}: unreadable state {path}: {e}") from None
        if not isinstance(record, dict) or any(key not in record for key in _REQUIRED):
            raise ContainerError(errors.STATE_UNREADABLE, f"container {self.name}: unreadable state {path}: fields missing")
        if record["version"] != FORMAT_VERSION:
            raise ContainerError(
                errors.STATE_UNREADABLE,
                f"container {self.name}: state {path} has format version {record['version']!r}, this demo-runtime reads {FORMAT_VERSION}",
            )
        return record

    def supervised(self):
        """Whether the supervisor (or its janitor) still holds the alive lock."""
        try:
            fd = self.linux.open(f"{self.path}/alive", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            self.linux.flock(fd, LOCK_SH | LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            self.linux.close(fd)

    def wait_unsupervised(self):
        """Block until the supervisor and its janitor are done (teardowns run, exit recorded)."""
        try:
            _Lock(self.linux, f"{self.path}/alive", LOCK_SH).release()
        except FileNotFoundError:
            pass

    # -- changing ----------------------------------------------------------
    def lock(self):
        """The container's lock; NO_SUCH_CONTAINER if it was removed while we waited."""
        try:
            held = _Lock(self.linux, f"{self.path}/lock", LOCK_EX)
        except FileNotFoundError:
            raise ContainerError(errors.NO_SUCH_CONTAINER, f"no such container: {self.name}") from None
        if self.linux.fstat(held.fd).st_nlink == 0:  # removed by whoever held it before us
            held.release()
            raise ContainerError(errors.NO_SUCH_CONTAINER, f"no such container: {self.name}")
        return held

    def update(self, **fields):
        """Change fields of the record (call with the lock held)."""
        path = f"{self.path}/state.json"
        record = jsontext.loads(self.linux.read_bytes(path))
        record.update(fields)
        _write_json(self.linux, path, record)

    def remove(self):
        """Delete the directory (call with the lock held: the lock file goes last)."""
        linux = self.linux
        for entry in linux.listdir(self.path):
            if entry != "lock":
                linux.unlink(f"{self.path}/{entry}")
        linux.unlink(f"{self.path}/lock")
        linux.rmdir(self.path)
        # The last container out removes the root, and /run/demo-runtime if that is empty too.
        parents = [self.root]
        if os.path.basename(os.path.dirname(self.root)) == "demo-runtime":
            parents.append(os.path.dirname(self.root))
        for path in parents:
            try:
                linux.rmdir(path)
            except OSError:
                break


def names(root=ROOT, linux=None):
    """The containers' names, sorted; removes what a killed start left half-prepared."""
    linux = _linux(linux)
    try:
        entries = sorted(linux.listdir(root))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.startswith(_NEW) and not State(entry, root, linux).supervised():
            linux.remove_tree(f"{root}/{entry}")
    return [e for e in entries if not e.startswith(".")]


def _write_json(linux, path, record):
    linux.replace_file(path, jsontext.dumps(record).encode())


def write_pid_file(path, pid, linux=None):
    """A pid file written atomically: no reader (conmon, a shim) sees half a pid."""
    try:
        _linux(linux).replace_file(path, str(pid).encode(), 0o644)
    except OSError as e:
        raise ContainerError(errors.RUNTIME_FAILURE, f"cannot write the pid file {path}: {e.strerror}") from None
