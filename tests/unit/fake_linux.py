"""A recording double of runtime.linux.Linux: plugins run against it without root.

Its methods are Linux's, name for name and signature for signature (test_syscall_layer
checks), and any of them raises what `fail` names for it: FakeLinux(fail={"mount":
OSError(...)}) is a kernel that refuses mounts. Pipes and the files the runtime opens
or keeps itself (the image, state, leases, caches: open, stat, read_bytes, replace_file,
listdir, unlink...) are real, so what passes through them is too; so are mkdir,
create_file, open_directory, read_file, write_file and rmdir under the directory `host` (a test's
temporary directory), which elsewhere (cgroup files, /proc) are only recorded.
Processes are not real: fork and clone return a pid and never run a child, waitpid
returns `statuses`, and exit_now raises Exited (so a child's path, run with fork
returning 0, ends there). Signal handlers are recorded, not installed: `handlers` holds
what is set, and a test delivers a signal by calling one. The staging tree of image
import (the *_at calls) is real."""

import fcntl
import os
import signal

from runtime.linux.files import Files


class Exited(BaseException):
    """exit_now(code) in the double: not an Exception, so no `except Exception` stops it."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class FakeLinux:
    def __init__(self, files=None, fail=None, host=None):
        self.calls = []
        self.host = host and f"{str(host).rstrip('/')}/"  # paths under it are real files
        self.files = dict(files or {})  # path -> contents, for read_file
        self.fail = dict(fail or {})  # method name -> OSError to raise
        self.next_pid = 4242
        self.kinds = {}  # in-root path -> "dir" / "file", for kind_in_root
        self.symlinks = set()  # in-root paths open_in_root(symlinks=False) refuses
        self.statuses = {}  # pid -> wait status for waitpid (default 0: exited 0)
        self.links = {}  # host link name -> (index, kind, "a.b.c.d/len" or None)
        self.tables = set()  # nftables tables that exist
        self.shared_loops = []  # what successive shared_loop calls find: a device path or None
        self.winsize = b"\x1e\x00\x5a\x00\x00\x00\x00\x00"  # 30 rows, 90 columns
        self.programs = {}  # program -> (status, stdout, stderr) that run_program returns
        self.missing_programs = set()  # names find_program finds nowhere (others: the name itself)
        self.euid = 0
        self.uname_result = os.uname()
        self.handlers = {}  # signum -> the handler set_signal_handlers installed
        self.blocked = set()  # signals block_signals holds
        self.wakeup_fd = -1
        self.terminals = set()  # descriptors isatty says are terminals
        self.cpus_online = 2
        self.cwd = "/work"  # for getcwd and absolute_path

    def _record(self, name, *args):
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def _real(self, path):
        return self.host is not None and str(path).startswith(self.host)

    def clone(self, flags, cgroup=None, exit_signal=signal.SIGCHLD):  # recorded when not SIGCHLD
        self._record("clone", flags, *([] if cgroup is None else [cgroup]), *([] if exit_signal == signal.SIGCHLD else [{"exit_signal": exit_signal}]))
        return self.next_pid

    def unshare(self, flags):
        self._record("unshare", flags)

    def setns(self, fd, nstype=0):
        self._record("setns", fd, nstype)

    def set_parent_death_signal(self, signum):
        self._record("set_parent_death_signal", signum)

    def make_undumpable(self):
        self._record("make_undumpable")

    def close_on_exec_from(self, lowest):
        self._record("close_on_exec_from", lowest)

    def sethostname(self, name):
        self._record("sethostname", name)

    def mount(self, source, target, fstype=None, flags=0, data=None):
        self._record("mount", source, target, fstype, flags, data)

    def restrict_mount(self, path, flags, root=None):
        self._record("restrict_mount", path, flags)

    def umount(self, target, flags=0):
        self._record("umount", target, flags)

    def pivot_root(self, new_root, put_old):
        self._record("pivot_root", new_root, put_old)

    def mkdir(self, path, mode=0o755, exist_ok=True):
        self._record("mkdir", path)
        if self._real(path):
            os.makedirs(path, mode, exist_ok=exist_ok)

    def make_node(self, path, mode, major, minor):
        self._record("make_node", path, mode, major, minor)

    def create_file(self, path, mode=0o644):
        self._record("create_file", path)
        if self._real(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, mode))

    def symlink(self, target, path):
        self._record("symlink", target, path)

    def chdir(self, path):
        self._record("chdir", path)

    def switch_user(self, uid, gid, groups):
        self._record("switch_user", uid, gid, groups)

    def read_file(self, path, limit=4096):
        self._record("read_file", path)
        if self._real(path):
            try:
                with open(path) as f:
                    return f.read(limit)
            except OSError:
                return None
        return self.files.get(path)

    # -- paths inside the root: recorded with the in-root path -------------------
    def mount_in_root(self, root, path, source, fstype=None, flags=0, data=None, make=None, real=False):
        self._record("mount_in_root", path, source, fstype, flags, data)

    def detach_tree(self, path):
        self._record("detach_tree", path)
        return os.open(os.devnull, os.O_RDONLY)  # a real fd: teardown closes it

    def detached_mount(self, source, fstype, flags=()):
        self._record("detached_mount", source, fstype, tuple(flags))
        return os.open(os.devnull, os.O_RDONLY)  # a real fd: its holder closes it

    def attach_tree_in_root(self, tree_fd, root, path, make=None):
        self._record("attach_tree_in_root", path, make)

    def open_in_root(self, root, path, flags=os.O_PATH, symlinks=True):
        self._record("open_in_root", path, symlinks)
        if not symlinks and path in self.symlinks:
            raise OSError(40, "Too many levels of symbolic links", path)
        if self.kind_in_root(root, path) is None:
            raise FileNotFoundError(2, "No such file or directory", path)
        return os.open(os.devnull, os.O_RDONLY)

    def hold_root(self, path):
        self._record("hold_root", path)
        return path

    def symlink_in_root(self, root, target, path):
        self._record("symlink_in_root", target, path)

    def make_in_root(self, root, path, directory=True, mode=0o755, real=False):
        self._record("make_in_root", path, directory)
        return os.open(os.devnull, os.O_RDONLY)

    def kind_in_root(self, root, path):
        self._record("kind_in_root", path)
        return self.kinds.get(path, "file" if path in self.files else None)

    def read_in_root(self, root, path, limit=4096):
        self._record("read_in_root", path)
        return self.files.get(path)

    def exec_check(self, path):
        self._record("exec_check", path)

    def pidfd_open(self, pid):
        self._record("pidfd_open", pid)
        return os.open(os.devnull, os.O_RDONLY)

    def pidfd_send_signal(self, pidfd, signum):
        self._record("pidfd_send_signal", signum)

    def pidfd_kill_and_wait(self, pidfd, signum):
        self._record("pidfd_kill_and_wait", signum)

    def shared_loop(self, file_fd):
        self._record("shared_loop")
        found = self.shared_loops.pop(0) if self.shared_loops else None
        return found and (os.open(os.devnull, os.O_RDONLY), found)

    def lock_loop_attach(self):
        self._record("lock_loop_attach")
        return os.open(os.devnull, os.O_RDONLY)

    def attach_loop(self, file_fd, read_only, name=""):
        self._record("attach_loop", read_only, name)
        return os.open(os.devnull, os.O_RDONLY), "/dev/loop7"  # a real fd: teardown closes it

    def set_link_up(self, ifname):
        self._record("set_link_up", ifname)

    def named(self, name):
        return [call[1:] for call in self.calls if call[0] == name]


    # -- hardening (issue 4) ---------------------------------------------------
    def drop_bounding_cap(self, cap):
        self._record("drop_bounding_cap", cap)
        return cap <= 40

    def clear_ambient_caps(self):
        self._record("clear_ambient_caps")

    def raise_ambient_cap(self, cap):
        self._record("raise_ambient_cap", cap)

    def set_caps(self, effective, permitted, inheritable):
        self._record("set_caps", effective, permitted, inheritable)

    def get_caps(self):
        self._record("get_caps")
        return (0, 0, 0)

    def set_no_new_privs(self):
        self._record("set_no_new_privs")

    def load_seccomp(self, program):
        self._record("load_seccomp", program)

    def write_file(self, path, data):
        self._record("write_file", path, data)
        if self._real(path):
            with open(path, "w" if isinstance(data, str) else "wb") as f:
                f.write(data)
        self.files[path] = data

    def rmdir(self, path):
        self._record("rmdir", path)
        if self._real(path):
            os.rmdir(path)

    def kill(self, pid, signum):
        self._record("kill", pid, signum)

    def fork(self):
        self._record("fork")
        return self.next_pid + 1

    # -- runtime.linux.process: processes and descriptors ------------------------
    def waitpid(self, pid, options=0):
        self._record("waitpid", pid, *([options] if options else []))
        return pid, self.statuses.get(pid, 0)

    def getpid(self):
        self._record("getpid")
        return 4000

    def getppid(self):
        self._record("getppid")
        return 1

    def setsid(self):
        self._record("setsid")

    def setpgid(self, pid, pgid):
        self._record("setpgid", pid, pgid)

    def set_rlimit(self, number, soft, hard):
        self._record("set_rlimit", number, soft, hard)

    def execve(self, path, argv, env):
        self._record("execve", path, argv)

    def run_program(self, argv, input=b"", executable=None, env=None, timeout=None):
        self._record("run_program", argv, input)
        return self.programs.get(argv[0], (0, b"", b""))

    def pipe(self):
        self._record("pipe")
        return os.pipe()

    def read(self, fd, size):
        self._record("read", fd)
        return os.read(fd, size)

    def write(self, fd, data):
        self._record("write", fd, data)
        try:
            return os.write(fd, data)
        except BrokenPipeError:  # to the child the fake never ran: it would have read it
            return len(data)

    def close(self, fd):
        self._record("close", fd)
        os.close(fd)

    def socketpair(self):
        import socket

        self._record("socketpair")
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def send_message(self, sock, data, fd=None):
        import socket

        self._record("send_message", data, fd)
        try:
            sock.sendmsg([data], [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little"))])
        except BrokenPipeError:  # to a janitor the fake never forked
            pass

    def receive_message(self, sock, size=1):
        import socket

        self._record("receive_message")
        data, fds, _, _ = socket.recv_fds(sock, size, 1)
        return data, fds[0] if fds else None

    def close_all_but(self, keep):
        self._record("close_all_but", sorted(keep))

    def stat(self, path):
        self._record("stat", path)
        return os.stat(path)

    def open(self, path, flags, mode=0o777):
        self._record("open", path)
        return os.open(path, flags, mode)

    def lstat(self, path):
        self._record("lstat", path)
        return os.lstat(path)

    def fstat(self, fd):
        self._record("fstat", fd)
        return os.fstat(fd)

    def pread(self, fd, size, offset):
        self._record("pread", fd, offset)
        return os.pread(fd, size, offset)

    def overwrite(self, fd, data):
        self._record("overwrite", fd, data)
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def anonymous_file(self, name):
        self._record("anonymous_file", name)
        return os.memfd_create(name, os.MFD_CLOEXEC)

    def read_bytes(self, path):
        self._record("read_bytes", path)
        with open(path, "rb") as f:
            return f.read()

    def replace_file(self, path, data, mode=0o600):
        self._record("replace_file", path, data)
        with open(f"{path}.fake.tmp", "wb") as f:
            f.write(data)
        os.rename(f"{path}.fake.tmp", path)

    def makedirs(self, path, mode=0o755):
        self._record("makedirs", path)
        os.makedirs(path, mode, exist_ok=True)

    def make_fifo(self, path, mode):
        self._record("make_fifo", path, mode)
        os.mkfifo(path, mode)

    def set_umask(self, mask):
        self._record("set_umask", mask)
        return 0o022

    def listdir(self, path):
        self._record("listdir", path)
        return os.listdir(path)

    def rename(self, old, new):
        self._record("rename", old, new)
        os.rename(old, new)

    def unlink(self, path):
        self._record("unlink", path)
        os.unlink(path)

    def remove_tree(self, path):
        import shutil

        self._record("remove_tree", path)
        shutil.rmtree(path, ignore_errors=True)

    def flock(self, fd, operation):
        self._record("flock", fd, operation)
        fcntl.flock(fd, operation)

    def chroot(self, path):
        self._record("chroot", path)

    def open_directory(self, path):
        self._record("open_directory", path)
        return os.open(path if self._real(path) else os.devnull, os.O_RDONLY)

    def become_root(self):
        self._record("become_root")

    # -- runtime.linux.terminal: the pty of -t ---------------------------------------
    # A real pty and real sockets (harmless, no root); what would change this process's
    # own terminal or stdio (raw mode, dup2, controlling terminal) is only recorded.
    def openpty(self):
        self._record("openpty")
        return os.openpty()

    def window_size(self, fd):
        self._record("window_size", fd)
        return self.winsize

    def set_window_size(self, fd, size):
        self._record("set_window_size", fd, size)

    def set_controlling_terminal(self, fd):
        self._record("set_controlling_terminal", fd)

    def dup2(self, fd, fd2):
        self._record("dup2", fd, fd2)

    def raw_mode(self, fd):
        self._record("raw_mode", fd)
        return "saved-mode"

    def restore_mode(self, fd, saved):
        self._record("restore_mode", fd, saved)
        return True

    def fd_socketpair(self):
        import socket

        self._record("fd_socketpair")
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def connect_unix(self, path):
        import socket

        self._record("connect_unix", path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return sock

    def send_fd(self, sock, fd):
        import socket

        self._record("send_fd", fd)
        socket.send_fds(sock, [b"fd"], [fd])

    def receive_fd(self, sock):
        import socket

        self._record("receive_fd")
        _, fds, _, _ = socket.recv_fds(sock, 16, 1)
        return fds[0] if fds else None

    def wakeup_pipe(self):
        self._record("wakeup_pipe")
        return os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set_blocking(self, fd, blocking):
        self._record("set_blocking", fd, blocking)
        os.set_blocking(fd, blocking)

    def wait_readable(self, fds, timeout=None):
        self._record("wait_readable", tuple(fds), timeout)
        return self.wait_ready(fds, (), timeout)[0]

    def wait_ready(self, reading, writing, timeout=None):
        import select

        self._record("wait_ready", tuple(reading), tuple(writing), timeout)
        return select.select(reading, writing, [], timeout)[:2]

    def isatty(self, fd):
        self._record("isatty", fd)
        return fd in self.terminals

    # -- runtime.linux.net: netlink and nftables, as a small model of host links ------
    def link_index(self, name):
        self._record("link_index", name)
        return self.links[name][0] if name in self.links else None

    def link_ipv4(self, name):
        self._record("link_ipv4", name)
        _, kind, address = self.links[name]
        return kind, address

    def add_bridge(self, name):
        self._record("add_bridge", name)
        self.links[name] = (len(self.links) + 2, "bridge", None)

    def configure_bridge(self, name, address, prefixlen):
        self._record("configure_bridge", name, address, prefixlen)
        index, kind, _ = self.links[name]
        self.links[name] = (index, kind, f"{address}/{prefixlen}")

    def add_veth_to_bridge(self, veth, bridge, peer, peer_pid):
        self._record("add_veth_to_bridge", veth, bridge, peer, peer_pid)
        self.links[veth] = (len(self.links) + 2, "veth", None)

    def configure_in_netns(self, pid, ifname, address, prefixlen, gateway):
        self._record("configure_in_netns", pid, ifname, address, prefixlen, gateway)

    def delete_link(self, name):
        self._record("delete_link", name)
        self.links.pop(name, None)

    def hold_port(self, address, port, protocol):
        self._record("hold_port", address, port, protocol)
        return open(os.devnull, "rb")  # something to close()

    def nft(self, script):
        self._record("nft", script)
        for line in script.splitlines():
            words = line.split()
            if words[:2] == ["table", "ip"]:
                self.tables.add(words[2])
            elif words[:3] == ["delete", "table", "ip"]:
                self.tables.discard(words[3])

    def nft_has_table(self, table):
        self._record("nft_has_table", table)
        return table in self.tables

    # -- runtime.linux.process: what image import and the children's exits use --------
    def exit_now(self, code):
        self._record("exit_now", code)
        raise Exited(code)

    def geteuid(self):
        self._record("geteuid")
        return self.euid

    def getcwd(self):
        self._record("getcwd")
        return self.cwd

    def cpu_count(self):
        self._record("cpu_count")
        return self.cpus_online

    def random_bytes(self, count):
        self._record("random_bytes", count)
        return os.urandom(count)

    def uname(self):
        self._record("uname")
        return self.uname_result

    def find_program(self, name, path=None):
        self._record("find_program", name)
        return None if name in self.missing_programs else name

    # -- runtime.linux.signals: recorded, never installed -------------------------------
    def set_signal_handlers(self, handlers):
        self._record("set_signal_handlers", handlers)
        previous = {signum: self.handlers.get(signum, 0) for signum in handlers}  # 0: SIG_DFL
        self.handlers.update(handlers)
        return previous

    def signal_handler(self, signum):
        self._record("signal_handler", signum)
        return self.handlers.get(signum, 0)

    def block_signals(self, signums):
        self._record("block_signals", tuple(signums))
        newly = set(signums) - self.blocked
        self.blocked.update(signums)
        return newly

    def unblock_signals(self, signums):
        self._record("unblock_signals", tuple(signums))
        self.blocked.difference_update(signums)

    def set_wakeup_fd(self, fd):
        self._record("set_wakeup_fd", fd)
        previous, self.wakeup_fd = self.wakeup_fd, fd
        return previous

    # -- runtime.linux.files: host files and image import's staging tree, real: recorded,
    # then the real layer's own code (whose inner calls come back here, recorded too) ------
    def absolute_path(self, path):
        self._record("absolute_path", path)
        return os.path.normpath(os.path.join(self.cwd, path))

    def is_directory(self, path):
        self._record("is_directory", path)
        return Files.is_directory(self, path)

    def append(self, path, data, mode=0o644):
        self._record("append", path, data)
        Files.append(self, path, data, mode)

    def open_for_reading(self, path):
        self._record("open_for_reading", path)
        return Files.open_for_reading(self, path)

    def write_all(self, fd, data):
        self._record("write_all", fd)
        Files.write_all(self, fd, data)

    def truncate(self, fd, size):
        self._record("truncate", fd, size)
        Files.truncate(self, fd, size)

    def chmod(self, path, mode):
        self._record("chmod", path, mode)
        Files.chmod(self, path, mode)

    def make_temporary(self, directory, prefix, suffix="", is_directory=False):
        self._record("make_temporary", directory, prefix, is_directory)
        return Files.make_temporary(self, directory, prefix, suffix, is_directory)

    def dup(self, fd):
        self._record("dup", fd)
        return Files.dup(self, fd)

    def open_directory_at(self, dir_fd, name):
        self._record("open_directory_at", name)
        return Files.open_directory_at(self, dir_fd, name)

    def open_at(self, dir_fd, name, flags, mode=0o600):
        self._record("open_at", name, flags)
        return Files.open_at(self, dir_fd, name, flags, mode)

    def lstat_at(self, dir_fd, name):
        self._record("lstat_at", name)
        return Files.lstat_at(self, dir_fd, name)

    def mkdir_at(self, dir_fd, name, mode):
        self._record("mkdir_at", name, mode)
        Files.mkdir_at(self, dir_fd, name, mode)

    def symlink_at(self, target, dir_fd, name):
        self._record("symlink_at", target, name)
        Files.symlink_at(self, target, dir_fd, name)

    def make_fifo_at(self, dir_fd, name, mode):
        self._record("make_fifo_at", name, mode)
        Files.make_fifo_at(self, dir_fd, name, mode)

    def link_at(self, source_dir_fd, source, dir_fd, name):
        self._record("link_at", source, name)
        Files.link_at(self, source_dir_fd, source, dir_fd, name)

    def remove_at(self, dir_fd, name):
        self._record("remove_at", name)
        Files.remove_at(self, dir_fd, name)

    def set_metadata(self, fd, uid, gid, mode, mtime, xattrs=()):
        self._record("set_metadata", fd, uid, gid, mode, mtime, tuple(xattrs))
        Files.set_metadata(self, fd, uid, gid, mode, mtime, xattrs)

    def set_link_metadata(self, dir_fd, name, uid, gid, mtime):
        self._record("set_link_metadata", name, uid, gid, mtime)
        Files.set_link_metadata(self, dir_fd, name, uid, gid, mtime)
