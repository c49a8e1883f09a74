"""Files and directories on the host, not inside a container's root: the image the
runtime opens, what it keeps (containers' state, bridge leases, the seccomp cache) and
the kernel's control files it writes (cgroup, /proc/PID/uid_map, sysctl)."""

import fcntl
import os


class Files:
    def stat(self, path):
        return os.stat(path)

    def lstat(self, path):
        """stat of the path itself, a symlink not followed."""
        return os.lstat(path)

    def fstat(self, fd):
        return os.fstat(fd)

    def open(self, path, flags, mode=0o777):
        return os.open(path, flags, mode)

    def open_directory(self, path):
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def pread(self, fd, size, offset):
        return os.pread(fd, size, offset)

    def overwrite(self, fd, data):
        """Make data the file's whole content (ftruncate, then pwrite at 0)."""
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def flock(self, fd, operation):
        """flock(2); BlockingIOError where LOCK_NB finds it held."""
        fcntl.flock(fd, operation)

    def anonymous_file(self, name):
        """A descriptor of a file in memory only (memfd_create), for a library that writes
        into a descriptor."""
        return os.memfd_create(name, os.MFD_CLOEXEC)

    def read_file(self, path, limit=4096):
        """Contents of a small file, or None if it cannot be read."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            return os.read(fd, limit).decode(errors="replace")
        except OSError:
            return None
        finally:
            os.close(fd)

    def read_bytes(self, path):
        """A whole file; OSError (FileNotFoundError...) if it cannot be read."""
        with open(path, "rb") as f:
            return f.read()

    def write_file(self, path, data):
        """Write a small control file (cgroup, /proc/PID/uid_map) in one write(2)."""
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode() if isinstance(data, str) else data)
        finally:
            os.close(fd)

    def replace_file(self, path, data, mode=0o600):
        """Write data beside path, then rename it over path: a reader sees the old file
        or the new one, never a part of it."""
        temporary = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def create_file(self, path, mode=0o644):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, mode))

    def mkdir(self, path, mode=0o755, exist_ok=True):
        """mkdir(2); with exist_ok=False an existing path is FileExistsError (a claim)."""
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not exist_ok:
                raise

    def makedirs(self, path, mode=0o755):
        """path and its missing parents (an existing path is fine)."""
        os.makedirs(path, mode, exist_ok=True)

    def make_fifo(self, path, mode):
        """mkfifo(3), then the mode itself (the umask would have taken bits off)."""
        os.mkfifo(path, 0o600)
        os.chmod(path, mode)

    def set_umask(self, mask):
        """umask(2): what the processes forked from here create files with."""
        return os.umask(mask)

    def listdir(self, path):
        return os.listdir(path)

    def rename(self, old, new):
        os.rename(old, new)

    def unlink(self, path):
        os.unlink(path)

    def rmdir(self, path):
        os.rmdir(path)

    def remove_tree(self, path):
        """path and everything below it, as far as it goes (shutil.rmtree: no symlink followed)."""
        import shutil  # off the start path: only a failed or killed start leaves a tree

        shutil.rmtree(path, ignore_errors=True)
