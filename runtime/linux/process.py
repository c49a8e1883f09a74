"""Processes, pipes and descriptors: the plain calls Python has, behind the syscall layer
so that the clone/exec path and the user namespace helper run against the test double
too. The calls Python lacks (clone, prctl...) are in Linux."""

import _signal  # the C modules: `signal`, `socket` would import enum on every start
import _socket
import errno
import os
import sys


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

    def exit_now(self, code):
        """_exit(2): a forked child ends here, without the parent's atexit handlers or
        buffers (flush sys.stdout/stderr first when they hold output of one's own)."""
        os._exit(code)

    def getpid(self):
        return os.getpid()

    def geteuid(self):
        return os.geteuid()

    def cpu_count(self):
        """The CPUs online (sysfs), or 1 if the kernel does not say."""
        return os.cpu_count() or 1

    def uname(self):
        """uname(2): os.uname_result (sysname nodename release version machine)."""
        return os.uname()

    def find_program(self, name, path=None):
        """The program's path on PATH (or `path`, os.pathsep-separated), or None."""
        import shutil  # off the start path: image import looks for fakeroot, mkfs.ext4

        return shutil.which(name, path=path)

    def random_bytes(self, count):
        """getrandom(2): bytes from the kernel's random pool (names no other run picks)."""
        return os.urandom(count)

    def getcwd(self):
        return os.getcwd()

    def getppid(self):
        return os.getppid()

    def setsid(self):
        os.setsid()

    def setpgid(self, pid, pgid):
        os.setpgid(pid, pgid)

    def run_program(self, argv, input=b"", executable=None, env=None, timeout=None):
        """Run a program to its end with `input` on its stdin: (status as
        subprocess.run's returncode, stdout, stderr), as bytes. FileNotFoundError: no such
        program; TimeoutError: killed after `timeout` seconds (an OCI hook's). `executable`
        is a path or a descriptor of the program (O_PATH, opened where its path resolves:
        it runs as /proc/self/fd/N, N kept open in it for a script's interpreter). Through
        posix_spawn and built-in modules, not subprocess: an OCI container's init runs
        its startContainer hooks past pivot_root, where no module can be imported."""
        import time  # built in (as select, for wait_ready), so importable anywhere

        stdin, feed = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, fd, target) for fd, target in ((stdin, 0), (out_write, 1), (err_write, 2))]
        if isinstance(executable, int):
            actions.append((os.POSIX_SPAWN_DUP2, executable, executable))  # onto itself: no close-on-exec
            executable = f"/proc/self/fd/{executable}"
        spawn = os.posix_spawn if executable or "/" in argv[0] else os.posix_spawnp
        try:
            # As subprocess: no signal blocked, and what CPython ignores back to its default
            # (the runtime blocks the signals it forwards while it clones, and so its init).
            pid = spawn(executable or argv[0], argv, os.environ if env is None else env, file_actions=actions, setsigmask=(), setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ))
        except OSError:
            for fd in (feed, out_read, err_read):
                os.close(fd)
            raise
        finally:
            for fd in (stdin, out_write, err_write):
                os.close(fd)
        output = {out_read: [], err_read: []}
        reading = [out_read, err_read]
        writing = [feed]
        os.set_blocking(feed, False)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while reading or writing:
                left = None if deadline is None else max(0, deadline - time.monotonic())
                readable, writable = self.wait_ready(reading, writing, left)
                if not readable and not writable:
                    raise TimeoutError(f"{argv[0]}: killed after {timeout} s")
                if writable:
                    try:
                        input = input[os.write(feed, input) :]
                    except BrokenPipeError:  # it closed its stdin: as subprocess, no error
                        input = b""
                    if not input:
                        os.close(writing.pop())
                for fd in readable:
                    chunk = os.read(fd, 65536)
                    output[fd].append(chunk)
                    if not chunk:
                        os.close(fd)
                        reading.remove(fd)
        except BaseException:
            os.kill(pid, _signal.SIGKILL)
            raise
        finally:
            for fd in reading + writing:
                os.close(fd)
            status = os.waitpid(pid, 0)[1]
        return os.waitstatus_to_exitcode(status), b"".join(output[out_read]), b"".join(output[err_read])

    def set_rlimit(self, number, soft, hard):
        """setrlimit(2) of this process; None is RLIM_INFINITY."""
        import resource  # only when a limit is given

        infinity = resource.RLIM_INFINITY
        try:
            resource.setrlimit(number, (infinity if soft is None else soft, infinity if hard is None else hard))
        except ValueError as e:  # how the module reports the kernel's EINVAL and EPERM
            raise OSError(errno.EINVAL, f"setrlimit: {e}") from None

    def pipe(self):
        return os.pipe()

    def read(self, fd, size):
        return os.read(fd, size)

    def write(self, fd, data):
        return os.write(fd, data)

    def close(self, fd):
        os.close(fd)

    def wait_readable(self, fds, timeout=None):
        """The descriptors of fds that can be read now (blocks until one can, or for
        `timeout` seconds at most: then maybe none). A pidfd is readable once its
        process has exited."""
        return self.wait_ready(fds, (), timeout)[0]

    def wait_ready(self, reading, writing, timeout=None):
        """select(2): (those of `reading` that can be read, those of `writing` that can
        be written) now, waiting until one can (or `timeout` seconds at most)."""
        import select

        readable, writable, _ = select.select(reading, writing, [], timeout)
        return readable, writable

    def socketpair(self):
        """Two connected AF_UNIX stream sockets (socket objects: close() them)."""
        return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)

    def send_message(self, sock, data, fd=None):
        """One message, with a descriptor passed along (SCM_RIGHTS) when fd is given."""
        rights = [] if fd is None else [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fd.to_bytes(4, sys.byteorder))]
        sock.sendmsg([data], rights)

    def receive_message(self, sock, size=1):
        """(data, descriptor or None); data is b"" at EOF."""
        data, ancillary, _, _ = sock.recvmsg(size, _socket.CMSG_SPACE(4))
        fd = None
        for level, kind, payload in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fd = int.from_bytes(payload[:4], sys.byteorder)
        return data, fd

    def close_all_but(self, keep):
        """Close every descriptor from 3 up except those in keep (close_range(2))."""
        lowest = 3
        for fd in sorted(set(keep)):
            os.closerange(lowest, fd)
            lowest = max(lowest, fd + 1)
        os.closerange(lowest, 2**31 - 1)

