"""Files and directories on the host, not inside a container's root: the image the
runtime opens, what it keeps (containers' state, bridge leases, the seccomp cache), the
kernel's control files it writes (cgroup, /proc/PID/uid_map, sysctl), and the staging
tree `image import` builds from an image's untrusted names (the *_at calls: relative to a
directory descriptor, never following a symlink)."""

import fcntl
import os
import stat

_NOFOLLOW_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Files:
    def stat(self, path):
        return os.stat(path)

    def lstat(self, path):
        """stat of the path itself, a symlink not followed."""
        return os.lstat(path)

    def fstat(self, fd):
        return os.fstat(fd)

    def absolute_path(self, path):
        """path made absolute (a relative one from the current directory: getcwd(2)), normalized."""
        return os.path.abspath(path)

    def is_directory(self, path):
        """Whether path is a directory (a symlink to one is); False if it is missing."""
        try:
            return stat.S_ISDIR(os.stat(path).st_mode)
        except OSError:
            return False

    def open(self, path, flags, mode=0o777):
        return os.open(path, flags, mode)

    def open_directory(self, path):
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def open_for_reading(self, path):
        """A buffered binary file object (for a library that reads one: tarfile, json)."""
        return open(path, "rb")

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
                self.write_all(fd, data)
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

    def write_all(self, fd, data):
        """write(2) until all of data is written."""
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def truncate(self, fd, size):
        """ftruncate(2): a file grown this way is sparse."""
        os.ftruncate(fd, size)

    def chmod(self, path, mode):
        os.chmod(path, mode)

    def make_temporary(self, directory, prefix, suffix="", is_directory=False):
        """A new file or directory with a unique name in `directory` (mkstemp, mkdtemp):
        its path, the file empty and closed."""
        import tempfile  # only in image import

        if is_directory:
            return tempfile.mkdtemp(suffix, prefix, directory)
        fd, path = tempfile.mkstemp(suffix, prefix, directory)
        os.close(fd)
        return path

    def append(self, path, data, mode=0o644):
        """Add data at the end of path (created if missing) in one O_APPEND write(2):
        lines of writers appending at once do not overwrite each other."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, mode)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

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

    # -- a tree built from untrusted names: relative to dir_fd, no symlink followed --
    def dup(self, fd):
        return os.dup(fd)

    def open_directory_at(self, dir_fd, name):
        """The directory `name` in dir_fd; a symlink there is ELOOP or ENOTDIR, never followed."""
        return os.open(name, _NOFOLLOW_DIRECTORY, dir_fd=dir_fd)

    def open_at(self, dir_fd, name, flags, mode=0o600):
        """open(2) of `name` in dir_fd, with O_NOFOLLOW and O_CLOEXEC added."""
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)

    def lstat_at(self, dir_fd, name):
        """stat of `name` in dir_fd itself (a symlink not followed), or None if there is none."""
        try:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def mkdir_at(self, dir_fd, name, mode):
        os.mkdir(name, mode, dir_fd=dir_fd)

    def symlink_at(self, target, dir_fd, name):
        os.symlink(target, name, dir_fd=dir_fd)

    def make_fifo_at(self, dir_fd, name, mode):
        os.mkfifo(name, mode, dir_fd=dir_fd)

    def link_at(self, source_dir_fd, source, dir_fd, name):
        """A hard link `name` in dir_fd to `source` in source_dir_fd (itself, if a symlink)."""
        os.link(source, name, src_dir_fd=source_dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)

    def remove_at(self, dir_fd, name):
        """Remove `name` from dir_fd, a directory with all below it, following no
        symlink (shutil.rmtree with dir_fd walks by descriptors); nothing if absent."""
        found = self.lstat_at(dir_fd, name)
        if found is None:
            return
        if stat.S_ISDIR(found.st_mode):
            import shutil  # only in image import

            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)

    def set_metadata(self, fd, uid, gid, mode, mtime, xattrs=()):
        """Owner, then mode (a chown clears setuid), extended attributes ((name, value)
        pairs), then the mtime (last: each of the others changes the ctime only)."""
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        for name, value in xattrs:
            os.setxattr(fd, name, value)
        os.utime(fd, (mtime, mtime))

    def set_link_metadata(self, dir_fd, name, uid, gid, mtime):
        """Owner and mtime of the symlink `name` in dir_fd itself (a symlink has no mode)."""
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        os.utime(name, (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
