"""Processes, pipes and descriptors: the plain calls Python has, behind the syscall layer
so that the clone/exec path, the user namespace helper and the image checks run
against the test double too. The calls Python lacks (clone, prctl...) are in Linux."""

import fcntl
import os


class Processes:
    def fork(self):
        return os.fork()

    def waitpid(self, pid, options=0):
        """(pid, wait status), as os.waitpid."""
        return os.waitpid(pid, options)

    def kill(self, pid, signum):
        os.kill(pid, signum)

    def execve(self, path, argv, env):
        os.execve(path, argv, env)

    def getpid(self):
        return os.getpid()

    def getppid(self):
        return os.getppid()

    def setsid(self):
        os.setsid()

    def setpgid(self, pid, pgid):
        os.setpgid(pid, pgid)

    def pipe(self):
        return os.pipe()

    def read(self, fd, size):
        return os.read(fd, size)

    def write(self, fd, data):
        return os.write(fd, data)

    def close(self, fd):
        os.close(fd)


class Files:
    """A file the runtime itself opens on the host (the image), not inside the root."""

    def stat(self, path):
        return os.stat(path)

    def open(self, path, flags, mode=0o777):
        return os.open(path, flags, mode)

    def pread(self, fd, size, offset):
        return os.pread(fd, size, offset)

    def flock(self, fd, operation):
        """flock(2); BlockingIOError where LOCK_NB finds it held."""
        fcntl.flock(fd, operation)
