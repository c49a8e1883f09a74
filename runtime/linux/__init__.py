"""The syscall layer: the one place that talks to the kernel for the runtime.

Everything the runtime does to the system goes through a `Linux` object, so that
plugins can be unit-tested against a recording double (tests/unit/fake_linux.py, held
to the same interface by tests/unit/test_syscall_layer.py), which can fail any call.
tests/unit/test_one_door.py fails when code of the runtime package outside this folder
calls the kernel itself (os, signal, fcntl, select, subprocess, ctypes... or open()).
By concern:
  process.py   processes, pipes, descriptors, waiting on them (select), programs run to
               their end, uname, ids, the cwd, random bytes
  files.py     files on the host: the image, the runtime's state, leases and caches,
               control files (cgroup, /proc/PID/uid_map, sysctl), and image import's
               staging tree (the *_at calls: relative to a descriptor, no symlink followed)
  terminal.py  the pty of -t: window size, raw mode, passing the master
  signals.py   signal handlers, the signal mask, the wakeup fd
  net.py       netlink (links, addresses, routes; pyroute2, imported on first use), nftables
  this module  clone, namespaces, mounts and paths in the root, loop devices, the lo
               ioctl, capabilities, no_new_privs, seccomp, pidfds
ctypes is used only for the calls Python lacks: clone(3), mount, umount2, pivot_root,
open_tree, move_mount, fsopen, fsconfig, fsmount, unshare, setns, sethostname, prctl,
capget, capset, openat2, close_range, pidfd_open, pidfd_send_signal, fstatfs, each looked
up once, on the Linux object's libc handles.

Paths inside a container's root are never handed to the kernel as strings, which it
would resolve through whatever symlinks the image holds: they are resolved inside the
root (openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, or an equivalent walk on
kernels before 5.6), and mounts go onto the resulting descriptor (/proc/self/fd/N).

Deliberately outside, and why:
- What the programs the runtime runs do (mkfs.ext4 and fakeroot for image import, nft,
  OCI hooks): they are started here (run_program, execve), but their own calls are
  theirs, as a shell's would be; the double answers for them (FakeLinux.programs).
- Libraries' calls below the API the layer uses: pyroute2's netlink socket (driven from
  net.py), tarfile and gzip reading a file object opened here (image import),
  libseccomp (pyseccomp, in plugins/seccomp/compile.py: it only builds a BPF program in
  memory and exports it into a descriptor made here; loading it is load_seccomp), and
  importlib.metadata reading installed packages' entry points (third-party plugins).
- Clocks: time.monotonic and time.sleep (a cgroup's retried removal, logs -f) hold no
  resource and change nothing; a test waits on events, not on them.
- The process's own exit after main() returned (os._exit in cli.entry_point and the OCI
  one's, skipping the interpreter's teardown): there is no Linux object at that level,
  and importing this module for it would put ctypes on the path of --help.
- Code outside the runtime package: testcontainer/build.sh (debugfs, mkfs.ext4 in a
  fakeroot session), bench/, lab/ and tests/ are the project's tools, not the runtime.
"""

import _socket  # the C module (`socket` would add enum and selectors to every start)
import errno
import fcntl
import os
import stat
import struct

from .files import Files
from .net import Network
from .process import Processes
from .signals import SIGKILL, Signals
from .terminal import Terminals

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 0x2
# waitpid(2)'s __WALL: a child cloned with no exit signal is waited for too.
WALL = 0x40000000

_SIGCHLD = 17
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_SYS_CLOSE_RANGE = 436  # the same on x86_64 and aarch64
_CLOSE_RANGE_CLOEXEC = 1 << 2

_LOOP_SET_FD = 0x4C00
_LOOP_CLR_FD = 0x4C01
_LOOP_SET_STATUS64 = 0x4C04
_LOOP_GET_STATUS64 = 0x4C05
_LOOP_CONFIGURE = 0x4C0A
_LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_READ_ONLY = 1
LO_FLAGS_AUTOCLEAR = 4
# struct loop_info64, then struct loop_config = {fd, block_size, loop_info64, reserved[8]}
_LOOP_INFO64 = "QQQQQIIII64s64s32s2Q"
_LOOP_CONFIG = "=II" + _LOOP_INFO64 + "8Q"
_LOOP_INFO64_SIZE = struct.calcsize("=" + _LOOP_INFO64)

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


class NoFreeLoopDevice(OSError):
    pass


class HeldRoot(str):
    """A container's root: its path (what chdir and messages use), with `fd`, a
    descriptor of it (O_PATH, close-on-exec) that resolutions inside it start from."""


class UnsafeImagePath(OSError):
    """The image has something other than a real directory where the runtime mounts
    the kernel's own filesystems (/proc, /sys, /dev)."""


class MagicLinkExec(OSError):
    """The command, or an interpreter it names with #!, resolves through a /proc magic
    link: it would run a binary from outside the container (CVE-2019-5736)."""


def _loop_info(flags, name):
    return (0, 0, 0, 0, 0, 0, 0, 0, flags, os.fsencode(name)[:63], b"", b"", 0, 0)


def _shares(info, st):
    """Is this struct loop_info64 a device made as attach_loop(read_only=True) makes
    them, for the file of stat result st? (lo_device is the kernel's dev_t encoding.)"""
    device, inode, _rdevice, offset, sizelimit, _number, _encrypt, _key, flags = info[:9]
    major, minor = (device >> 8) & 0xFFF, (device & 0xFF) | ((device >> 12) & 0xFFF00)
    wanted = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR
    return (inode, major, minor) == (st.st_ino, os.major(st.st_dev), os.minor(st.st_dev)) and (
        offset == sizelimit == 0 and flags & wanted == wanted
    )


class Linux(Processes, Files, Signals, Terminals, Network):
    """Real system calls. Errors are raised as OSError with the path involved."""

    def __init__(self):
        machine = os.uname().machine
        self._sys_clone = _SYS_CLONE.get(machine)
        self._sys_pivot_root = _SYS_PIVOT_ROOT.get(machine)
        self._no_openat2 = False

    def __getattr__(self, name):
        """The libc handles, made on first use: ctypes (a sixth of the instructions of
        `ps`, `state` or `kill`) is imported by the calls Python lacks, here and in each
        function that names it, not by the commands that only read state or signal."""
        if name not in ("_libc", "_libc_gil"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        import ctypes

        # CDLL releases the GIL around calls; clone() must not (see clone()), so it
        # goes through a PyDLL handle onto the same libc.
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc_gil = ctypes.PyDLL(None, use_errno=True)
        return getattr(self, name)

    def _check(self, result, *paths):
        import ctypes

        if result == -1:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), *paths[:1])
        return result

    # -- processes ---------------------------------------------------------
    def clone(self, flags, cgroup=None, exit_signal=_SIGCHLD):
        """clone(2) with fork semantics: returns 0 in the child, its pid in the parent.

        With cgroup (the fd of a cgroup v2 directory), clone3(CLONE_INTO_CGROUP) has the child
        born in that cgroup: no migration, which costs an RCU grace period (milliseconds).
        Kernels before 5.7 lack clone3: the child is then born where we are.

        exit_signal 0: the child's end sends its parent no signal, and a waitpid sees it
        only with __WALL (WALL): a SIGCHLD handler of the parent's that reaps any child
        cannot take its status. An execve in the child makes it SIGCHLD again (execve(2)).

        The interpreter stays sound in the child the same way it does after os.fork():
        CPython's own before/after-fork hooks run around the call (import lock, thread
        states, at-fork handlers), the GIL is held across it, and with a NULL stack the
        child runs on a copy-on-write copy of this thread's stack. The runtime is
        single-threaded, so no lock can be held by a thread that does not exist in the
        child. The Python API's fork of a caller with threads and a SIGCHLD handler is the
        exception: as after os.fork(), a lock another thread held stays held in the child;
        here glibc's own too (malloc's arenas), which its fork(3) takes around the call.
        """
        import ctypes

        if self._sys_clone is None:
            raise OSError(errno.ENOSYS, f"clone: unsupported architecture {os.uname().machine}")
        api = ctypes.pythonapi
        args = None
        if cgroup is not None:  # struct clone_args: flags .. exit_signal .. cgroup
            args = (ctypes.c_uint64 * 11)(flags | _CLONE_INTO_CGROUP, 0, 0, 0, exit_signal, 0, 0, 0, 0, 0, cgroup)
        api.PyOS_BeforeFork()
        pid = -1
        err = errno.ENOSYS
        if args is not None:
            pid = self._libc_gil.syscall(_SYS_CLONE3, ctypes.byref(args), ctypes.c_size_t(ctypes.sizeof(args)))
            err = ctypes.get_errno()
        if pid == -1 and err in (errno.ENOSYS, errno.E2BIG):
            pid = self._libc_gil.syscall(self._sys_clone, ctypes.c_ulong(flags | exit_signal), None, None, None, None)
            err = ctypes.get_errno()
        if pid == 0:
            api.PyOS_AfterFork_Child()
        else:
            api.PyOS_AfterFork_Parent()
        if pid < 0:
            raise OSError(err, f"clone: {os.strerror(err)}")
        return pid

    def pidfd_open(self, pid):
        return self._check(self._libc.syscall(_SYS_PIDFD_OPEN, pid, 0))

    def pidfd_send_signal(self, pidfd, signum):
        """A signal that cannot reach a later process reusing the pid (stop, kill)."""
        self._check(self._libc.syscall(_SYS_PIDFD_SEND_SIGNAL, pidfd, signum, None, 0))

    def pidfd_kill_and_wait(self, pidfd, signum):
        """pidfd_send_signal(2), then wait until the process has exited (the pidfd polls
        readable): for a PID namespace's init, until every process in it is gone."""
        if self._libc.syscall(_SYS_PIDFD_SEND_SIGNAL, pidfd, signum, None, 0) == -1:
            return  # already gone
        import select  # only in the janitor, after the runtime died

        select.select([pidfd], [], [])

    def unshare(self, flags):
        import ctypes

        self._check(self._libc.unshare(ctypes.c_int(flags)))

    def setns(self, fd, nstype=0):
        self._check(self._libc.setns(fd, nstype))

    def set_parent_death_signal(self, signum):
        import ctypes

        self._check(self._libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0))

    def make_undumpable(self):
        """prctl(PR_SET_DUMPABLE, 0) until execve: other processes of the container then
        cannot open /proc/PID/exe (the runtime's interpreter) or /proc/PID/fd/* of this
        one, which is still the runtime, without CAP_SYS_PTRACE (as runc's init does)."""
        import ctypes

        self._check(self._libc.prctl(_PR_SET_DUMPABLE, ctypes.c_ulong(0), 0, 0, 0))

    def close_on_exec_from(self, lowest):
        """Mark every descriptor >= lowest close-on-exec (fds the runtime inherited too)."""
        import ctypes

        if self._libc.syscall(_SYS_CLOSE_RANGE, lowest, ctypes.c_uint(0xFFFFFFFF), _CLOSE_RANGE_CLOEXEC) == 0:
            return
        for name in os.listdir("/proc/self/fd"):  # kernels before 5.11
            if int(name) >= lowest:
                try:
                    os.set_inheritable(int(name), False)
                except OSError:
                    pass  # the listing's own descriptor, closed by now

    def sethostname(self, name):
        raw = name.encode()
        self._check(self._libc.sethostname(raw, len(raw)))

    # -- filesystems -------------------------------------------------------
    def mount(self, source, target, fstype=None, flags=0, data=None):
        import ctypes

        self._check(
            self._libc.mount(
                source and os.fsencode(source),
                os.fsencode(target),
                fstype and fstype.encode(),
                ctypes.c_ulong(flags),
                data and os.fsencode(data),
            ),
            target,
        )

    def restrict_mount(self, path, flags, root=None):
        """Remount the mount at `path` (a bind remount: that mount only) with `flags`
        (MS_RDONLY, MS_NODEV...) added: a remount replaces the per-mount flags, so those
        it has are read first (statvfs's ST_RDONLY..ST_NOEXEC are the MS_ values), and
        a nosuid volume stays nosuid. root: `path` is resolved inside it."""
        fd = None if root is None else self.open_in_root(root, path)
        try:
            target = path if fd is None else f"/proc/self/fd/{fd}"
            kept = os.statvfs(target).f_flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
            try:
                self.mount(None, target, None, MS_REMOUNT | MS_BIND | kept | flags)
            except OSError as e:
                raise OSError(e.errno, f"mount: {e.strerror}", path) from None
        finally:
            if fd is not None:
                os.close(fd)

    def umount(self, target, flags=0):
        self._check(self._libc.umount2(os.fsencode(target), flags), target)

    def pivot_root(self, new_root, put_old):
        self._check(self._libc.syscall(self._sys_pivot_root, os.fsencode(new_root), os.fsencode(put_old)), new_root)

    def make_node(self, path, mode, major, minor):
        """mknod(2): a device node (mode has S_IFCHR or S_IFBLK) with this number."""
        try:
            os.mknod(path, mode, os.makedev(major, minor))
        except OSError as e:
            raise OSError(e.errno, f"mknod: {e.strerror}", path) from None

    def symlink(self, target, path):
        os.symlink(target, path)

    def chdir(self, path):
        os.chdir(path)

    # -- paths inside the container's root -----------------------------------
    def hold_root(self, path):
        """The assembled root at `path`, as a HeldRoot: the *_in_root calls given it start
        from its descriptor instead of opening the path each time. What is mounted on
        `path` itself afterwards is not seen through it (nothing is: stage_root mounts the
        root, then holds it)."""
        held = HeldRoot(path)
        held.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        return held

    def _root_fd(self, root):
        """(a descriptor of root, whether it was opened here and is to be closed)."""
        held = getattr(root, "fd", None)
        if held is not None:
            return held, False
        return os.open(root or "/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), True

    def open_in_root(self, root, path, flags=os.O_PATH, symlinks=True):
        """A descriptor for `path` resolved inside the directory `root` as if it were
        "/": ".." stops at it, absolute symlinks restart at it, magic links (/proc/*/exe,
        /proc/*/root...) are refused with ELOOP. symlinks=False refuses any symlink.
        root None: the process's own root (no image was mounted); a HeldRoot: its
        descriptor."""
        root_fd, opened = self._root_fd(root)
        try:
            return self._openat2(root_fd, path, flags | os.O_CLOEXEC, symlinks)
        finally:
            if opened:
                os.close(root_fd)

    def _openat2(self, root_fd, path, flags, symlinks):
        import ctypes

        resolve = _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS | (0 if symlinks else _RESOLVE_NO_SYMLINKS)
        if not self._no_openat2:
            how = struct.pack("QQQ", flags, 0, resolve)
            for _ in range(64):
                fd = self._libc.syscall(_SYS_OPENAT2, root_fd, os.fsencode(path), how, len(how))
                if fd >= 0:
                    return fd
                err = ctypes.get_errno()
                if err != errno.EAGAIN:  # EAGAIN: a rename or mount elsewhere raced a ".."
                    break
            if err not in (errno.ENOSYS, errno.EAGAIN):
                raise OSError(err, f"openat2: {os.strerror(err)}", path)
            if err == errno.ENOSYS:
                self._no_openat2 = True  # kernels before 5.6
        return _walk_in_root(self._libc, root_fd, path, flags, symlinks)

    def make_in_root(self, root, path, directory=True, mode=0o755, real=False):
        """open_in_root(), creating what is missing: parent directories, then `path` as a
        directory or an empty file; a dangling symlink on the way gets what it points to
        made, inside the root. real=True: `path` itself must not be a symlink (it is
        where a kernel filesystem goes), else UnsafeImagePath. The root is opened once
        for the whole walk (not at all if held)."""
        root_fd, opened = self._root_fd(root)
        try:
            return self._make_in_root(root_fd, path, directory, mode, real, 0)
        finally:
            if opened:
                os.close(root_fd)

    def _make_in_root(self, root_fd, path, directory, mode, real, links):
        parts = [p for p in path.split("/") if p not in ("", ".")]
        flags = os.O_PATH | os.O_CLOEXEC

        def resolve(count):  # the first `count` components, as the walk below opens them
            return self._openat2(root_fd, "/" + "/".join(parts[:count]), flags, not (real and count == len(parts)))

        # From the whole path up to the deepest part that is there (what exists costs
        # one resolution, a missing file two): every part above a resolved one resolves
        # to what the walk from the root would open. Any error but ENOENT: the walk from
        # the root, which raises it where it happens.
        known, fd, missing = len(parts), None, False  # missing: parts[known] is known to be absent
        while known:
            try:
                fd = resolve(known)
                break
            except FileNotFoundError:
                known, missing = known - 1, True
            except OSError:
                known, missing = 0, False
                break
        if fd is None:
            fd = os.dup(root_fd)  # the root, resolved inside itself
        try:
            for i in range(known, len(parts)):
                name, last = parts[i], i == len(parts) - 1
                try:
                    if missing:
                        missing = False
                        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
                    found = resolve(i + 1)
                except FileNotFoundError:
                    try:
                        if last and not directory:
                            create = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                            os.close(os.open(name, create, mode, dir_fd=fd))
                        else:
                            os.mkdir(name, mode, dir_fd=fd)
                    except FileExistsError:  # a dangling symlink: make its target instead
                        if links >= _MAX_SYMLINKS:
                            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path) from None
                        target = os.readlink(name, dir_fd=fd)
                        if not target.startswith("/"):
                            target = "/" + "/".join(parts[:i] + [target])
                        rest = "/".join(parts[i + 1 :])
                        os.close(fd)
                        fd = None
                        return self._make_in_root(root_fd, f"{target}/{rest}" if rest else target, directory, mode, real, links + 1)
                    found = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError as e:
                    if last and real and e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafeImagePath(e.errno, "is a symlink, not a directory", path) from None
                    raise
                os.close(fd)
                fd = found
            if real and not _is_directory(fd):
                raise UnsafeImagePath(errno.ENOTDIR, "is not a directory", path)
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        return fd

    def symlink_in_root(self, root, target, path):
        """Create the symlink `path` (its parent resolved inside root) pointing at `target`."""
        parent, _, name = path.rpartition("/")
        fd = self.open_in_root(root, parent or "/")
        try:
            os.symlink(target, name, dir_fd=fd)
        finally:
            os.close(fd)

    def kind_in_root(self, root, path):
        """"dir", "file" (anything else), or None if `path` does not resolve inside root."""
        try:
            fd = self.open_in_root(root, path)
        except FileNotFoundError:
            return None
        try:
            return "dir" if _is_directory(fd) else "file"
        finally:
            os.close(fd)

    def read_in_root(self, root, path, limit=4096):
        """A small regular file inside root as text, or None (missing, not a regular file:
        a device node or FIFO of the image is never opened for reading)."""
        try:
            fd = self.open_in_root(root, path)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return self.read_file(f"/proc/self/fd/{fd}", limit)
        finally:
            os.close(fd)

    def mount_in_root(self, root, path, source, fstype=None, flags=0, data=None, make=None, real=False):
        """mount(2) onto `path` resolved inside root, through its descriptor.

        source: a str is the runtime's own path (e.g. "/dev/null", before pivot_root the
        host's), an int a descriptor; None with MS_BIND binds `path` onto itself. The
        target is opened anew on each call, so a remount reaches the mount made before.
        make="dir"/"file" creates a missing target (make_in_root)."""
        fd = self._target_in_root(root, path, make, real)
        try:
            if source is None and flags & MS_BIND and not flags & MS_REMOUNT:
                source = fd
            if isinstance(source, int):
                source = f"/proc/self/fd/{source}"
            try:
                self.mount(source, f"/proc/self/fd/{fd}", fstype, flags, data)
            except OSError as e:
                raise OSError(e.errno, f"mount: {e.strerror}", path) from None
        finally:
            os.close(fd)

    def _target_in_root(self, root, path, make, real=False):
        if make:
            return self.make_in_root(root, path, directory=make == "dir", real=real)
        return self.open_in_root(root, path)

    def detach_tree(self, path):
        """open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path` (not its
        submounts), as a descriptor. Made in one mount namespace, it can be attached in
        another (attach_tree_in_root), which a bind mount from a path cannot."""
        import ctypes

        fd = self._libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, os.fsencode(path), _OPEN_TREE_CLONE | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"open_tree: {os.strerror(err)}" + (" (Linux 5.2+)" if err == errno.ENOSYS else ""), path)
        return fd

    def detached_mount(self, source, fstype, flags=()):
        """fsopen, fsconfig, fsmount(2): a read-only mount of `source` that is in no mount
        namespace, as a descriptor. It holds the filesystem's superblock (and its caches)
        alive until the descriptor closes, however its holder ends. flags: fsconfig's
        flag options ("noload")."""

        def call(number, *args):
            import ctypes

            fd = self._libc.syscall(number, *args)
            if fd < 0:
                err = ctypes.get_errno()
                name = {_SYS_FSOPEN: "fsopen", _SYS_FSCONFIG: "fsconfig", _SYS_FSMOUNT: "fsmount"}[number]
                raise OSError(err, f"{name}: {os.strerror(err)}" + (" (Linux 5.2+)" if err == errno.ENOSYS else ""), source)
            return fd

        context = call(_SYS_FSOPEN, fstype.encode(), _FSOPEN_CLOEXEC)
        try:
            call(_SYS_FSCONFIG, context, _FSCONFIG_SET_STRING, b"source", os.fsencode(source), 0)
            for flag in ("ro", *flags):
                call(_SYS_FSCONFIG, context, _FSCONFIG_SET_FLAG, flag.encode(), None, 0)
            call(_SYS_FSCONFIG, context, _FSCONFIG_CMD_CREATE, None, None, 0)
            return call(_SYS_FSMOUNT, context, _FSMOUNT_CLOEXEC, _MOUNT_ATTR_RDONLY)
        finally:
            os.close(context)

    def attach_tree_in_root(self, tree_fd, root, path, make=None):
        """move_mount(2) a detached tree onto `path` resolved inside root (through its
        descriptor), then make it a slave (MS_SLAVE): the copy open_tree made of a shared
        mount (systemd makes / shared) is in the host mount's peer group, so every mount
        made on or under it here would also appear on the host, and pivot_root refuses a
        shared root (EINVAL). A slave takes the host's mounts in and gives none out, as
        the mount plugin makes the namespace's other mounts."""
        import ctypes

        fd = self._target_in_root(root, path, make)
        try:
            empty = _MOVE_MOUNT_F_EMPTY_PATH | _MOVE_MOUNT_T_EMPTY_PATH
            if self._libc.syscall(_SYS_MOVE_MOUNT, tree_fd, b"", fd, b"", empty) < 0:
                err = ctypes.get_errno()
                raise OSError(err, f"move_mount: {os.strerror(err)}", path)
        finally:
            os.close(fd)
        try:
            self.mount(None, f"/proc/self/fd/{tree_fd}", None, MS_REC | MS_SLAVE)
        except OSError as e:
            raise OSError(e.errno, f"mount MS_SLAVE: {e.strerror}", path) from None

    def exec_check(self, path):
        """In the container's root (after pivot_root), refuse (MagicLinkExec) a command
        that resolves, itself or through the #!
        interpreters the kernel would follow (up to its 4 levels), through a magic link:
        `#!/proc/self/exe` would make the container run the runtime's own interpreter.
        FileNotFoundError if there is no such file, as execve would say."""
        for _ in range(5):
            try:
                fd = self.open_in_root("/", path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno == errno.ELOOP and self._resolves_with_magic(path):
                    raise MagicLinkExec(errno.ELOOP, "resolves through a /proc magic link", path) from None
                if e.errno == errno.ENOENT:
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
                return  # unreadable or a loop: execve gives its own answer
            try:
                head = os.read(fd, 256) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
            except OSError:
                head = b""
            finally:
                os.close(fd)
            if not head.startswith(b"#!"):
                return
            words = head[2:].split(b"\n", 1)[0].split()
            if not words:
                return
            path = os.fsdecode(words[0])

    def _resolves_with_magic(self, path):
        """After ELOOP inside the root "/": does the kernel resolve it when it may follow
        magic links (as execve does)? Then it was a magic link, not a symlink loop."""
        try:
            os.close(os.open(path, os.O_PATH | os.O_CLOEXEC))
        except OSError:
            return False
        return True

    # -- loop devices ------------------------------------------------------
    def shared_loop(self, file_fd):
        """An attached loop device this process may share for reading file_fd's file:
        read-only, self-freeing, the whole file (offset 0, no size limit). Returns
        (device fd, device path), or None.

        sysfs names the candidates (backing_file, compared by inode); each is then
        opened and asked again (LOOP_GET_STATUS64), since it may have freed itself and
        been bound anew meanwhile. Once we hold it open it cannot free itself: autoclear
        waits for the last close.
        """
        st = os.fstat(file_fd)
        try:
            names = [n for n in os.listdir("/sys/block") if n.startswith("loop")]
        except OSError:
            return None
        for name in names:
            try:
                with open(f"/sys/block/{name}/loop/backing_file", "rb") as f:
                    backing = f.read().rstrip(b"\n")
                other = os.stat(backing)
            except OSError:  # unbound, or its file is not reachable from here
                continue
            if (other.st_ino, other.st_dev) != (st.st_ino, st.st_dev):
                continue
            path = f"/dev/{name}"
            try:
                device = os.open(path, os.O_RDONLY)
            except OSError:  # freed and removed meanwhile
                continue
            try:
                info = struct.unpack("=" + _LOOP_INFO64, fcntl.ioctl(device, _LOOP_GET_STATUS64, bytes(_LOOP_INFO64_SIZE)))
            except OSError:  # ENXIO: freed meanwhile
                info = None
            if info and _shares(info, st):
                return device, path
            os.close(device)
        return None

    def lock_loop_attach(self):
        """An exclusive flock(2) on /dev/loop-control, held until the returned fd is
        closed: runtimes attaching at once look for a shared device and attach one in
        turn, so one image gets one device (and nobody races us for a free one)."""
        try:
            control = os.open("/dev/loop-control", os.O_RDWR)
        except OSError as e:
            raise NoFreeLoopDevice(e.errno, f"cannot open /dev/loop-control: {e.strerror}") from None
        try:
            fcntl.flock(control, fcntl.LOCK_EX)
        except OSError as e:
            os.close(control)
            raise OSError(e.errno, f"flock: {e.strerror}", "/dev/loop-control") from None
        return control

    def attach_loop(self, file_fd, read_only, name=""):
        """Bind file_fd to a free loop device that frees itself on last close.

        Returns (device fd, device path). Another process (losetup) may take the same
        free device between LOOP_CTL_GET_FREE and our configure; that one is EBUSY for
        us and we ask again.
        """
        flags = LO_FLAGS_AUTOCLEAR | (LO_FLAGS_READ_ONLY if read_only else 0)
        try:
            control = os.open("/dev/loop-control", os.O_RDWR)
        except OSError as e:
            raise NoFreeLoopDevice(e.errno, f"cannot open /dev/loop-control: {e.strerror}") from None
        try:
            for _ in range(64):
                try:
                    number = fcntl.ioctl(control, _LOOP_CTL_GET_FREE)
                except OSError as e:
                    raise NoFreeLoopDevice(e.errno, f"no free loop device: {e.strerror}") from None
                path = f"/dev/loop{number}"
                device = os.open(path, os.O_RDWR)
                try:
                    self._configure_loop(device, file_fd, flags, name)
                except OSError as e:
                    os.close(device)
                    if e.errno == errno.EBUSY:
                        continue
                    raise
                return device, path
            raise NoFreeLoopDevice(errno.EBUSY, "no free loop device: all candidates were taken")
        finally:
            os.close(control)

    def _configure_loop(self, device, file_fd, flags, name):
        config = struct.pack(_LOOP_CONFIG, file_fd, 0, *_loop_info(flags, name), *([0] * 8))
        try:
            fcntl.ioctl(device, _LOOP_CONFIGURE, config)
            return
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOTTY):
                raise
        # Kernels before 5.8: two steps, and autoclear only once the status is set.
        fcntl.ioctl(device, _LOOP_SET_FD, file_fd)
        try:
            fcntl.ioctl(device, _LOOP_SET_STATUS64, struct.pack("=" + _LOOP_INFO64, *_loop_info(flags, name)))
        except OSError:
            fcntl.ioctl(device, _LOOP_CLR_FD, 0)
            raise

    # -- network -----------------------------------------------------------
    def set_link_up(self, ifname):
        """Bring an interface up with SIOCSIFFLAGS (cheap: no netlink library import)."""
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
        try:
            request = struct.pack("16sH22x", ifname.encode(), 0)
            flags = struct.unpack("16sH22x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH22x", ifname.encode(), flags | _IFF_UP))
        finally:
            sock.close()

    # -- hardening: capabilities, no_new_privs, seccomp, cgroups, id maps ----
    # (issue 4; the constants are below the class, in their own section)
    def drop_bounding_cap(self, cap):
        """Drop one capability from the bounding set; False if the kernel has no such cap."""
        import ctypes

        if self._libc.prctl(_PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == -1:
            err = ctypes.get_errno()
            if err == errno.EINVAL:
                return False
            raise OSError(err, f"prctl(PR_CAPBSET_DROP, {cap}): {os.strerror(err)}")
        return True

    def clear_ambient_caps(self):
        import ctypes

        self._check(self._libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0))

    def raise_ambient_cap(self, cap):
        """prctl(PR_CAP_AMBIENT_RAISE): the capability must be permitted and inheritable."""
        import ctypes

        if self._libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_RAISE), ctypes.c_ulong(cap), 0, 0) == -1:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_CAP_AMBIENT_RAISE, {cap}): {os.strerror(err)}")

    def set_caps(self, effective, permitted, inheritable):
        """capset(2), version 3: each set is a 64-bit mask of capability numbers."""
        import ctypes

        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        for i, mask in enumerate((effective, permitted, inheritable)):
            data[i] = mask & 0xFFFFFFFF  # data[0] = {effective, permitted, inheritable} low words
            data[3 + i] = mask >> 32
        self._check(self._libc.capset(header, data))

    def get_caps(self):
        """(effective, permitted, inheritable) of this thread as 64-bit masks."""
        import ctypes

        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        self._check(self._libc.capget(header, data))
        return tuple(data[i] | data[3 + i] << 32 for i in range(3))

    def set_no_new_privs(self):
        import ctypes

        self._check(self._libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0))

    def load_seccomp(self, program):
        """Install a classic-BPF seccomp filter: `program` is the raw struct sock_filter
        array, as libseccomp's seccomp_export_bpf() writes it."""
        import ctypes

        if not program or len(program) % 8:
            raise OSError(errno.EINVAL, "seccomp: not a BPF program")
        buffer = ctypes.create_string_buffer(program, len(program))
        # struct sock_fprog { unsigned short len; struct sock_filter *filter; }, native alignment
        fprog = ctypes.create_string_buffer(struct.pack("HP", len(program) // 8, ctypes.addressof(buffer)))
        self._check(self._libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), fprog, 0, 0))

    def chroot(self, path):
        os.chroot(path)

    def switch_user(self, uid, gid, groups):
        """Become uid/gid with these groups, keeping the capability sets (as runc does):
        PR_SET_KEEPCAPS keeps the permitted set across the uid change, which clears the
        effective one, set again after. execve(2) as a non-root uid then keeps only the
        ambient capabilities (and what an image file's capabilities give)."""
        import ctypes

        caps = self.get_caps()
        self._check(self._libc.prctl(_PR_SET_KEEPCAPS, ctypes.c_ulong(1), 0, 0, 0))
        try:
            os.setgroups(groups)
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        finally:
            self._check(self._libc.prctl(_PR_SET_KEEPCAPS, ctypes.c_ulong(0), 0, 0, 0))
        self.set_caps(*caps)

    def become_root(self):
        """In a new user namespace whose maps are written: be its uid/gid 0, no groups."""
        os.setresgid(0, 0, 0)
        os.setgroups([])
        os.setresuid(0, 0, 0)


# -- hardening constants (issue 4) -------------------------------------------------
_PR_SET_SECCOMP = 22
_PR_CAPBSET_DROP = 24
_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_SECCOMP_MODE_FILTER = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# clone3 has one syscall number on every architecture (asm-generic/unistd.h).
_SYS_CLONE3 = 435
_CLONE_INTO_CGROUP = 0x200000000


# pidfd_open(2), pidfd_send_signal(2): one number on every architecture.
_SYS_PIDFD_SEND_SIGNAL = 424
_SYS_PIDFD_OPEN = 434
# openat2(2): one number on every architecture; struct open_how's resolve flags.
_SYS_OPENAT2 = 437
# The new mount API (5.2): one number on every architecture.
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_AT_FDCWD = -100
_OPEN_TREE_CLONE = 1
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
_FSOPEN_CLOEXEC = 1
_FSMOUNT_CLOEXEC = 1
_FSCONFIG_SET_FLAG = 0
_FSCONFIG_SET_STRING = 1
_FSCONFIG_CMD_CREATE = 6
_MOUNT_ATTR_RDONLY = 1
_MOVE_MOUNT_F_EMPTY_PATH = 0x04
_MOVE_MOUNT_T_EMPTY_PATH = 0x40
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_IN_ROOT = 0x10
_PROC_SUPER_MAGIC = 0x9FA0
_MAX_SYMLINKS = 40


def _is_directory(fd):
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _walk_in_root(libc, root_fd, path, flags, symlinks):
    """openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) for kernels without it: one
    component at a time, never letting the kernel follow a link. A symlink's text is
    resolved inside the root; a link on procfs (where the magic ones live) is ELOOP."""
    todo = [p for p in path.split("/") if p not in ("", ".")]
    todo.reverse()
    chain = [os.dup(root_fd)]  # the directories walked through; chain[0] is the root
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name == "..":
                if len(chain) > 1:
                    os.close(chain.pop())
                continue
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=chain[-1])
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                chain.append(fd)
                continue
            os.close(fd)
            links += 1
            if not symlinks or links > _MAX_SYMLINKS or _on_procfs(libc, chain[-1]):
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            target = os.readlink(name, dir_fd=chain[-1])
            if target.startswith("/"):
                while len(chain) > 1:
                    os.close(chain.pop())
            todo.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
        return os.open(f"/proc/self/fd/{chain[-1]}", flags) if flags & ~(os.O_PATH | os.O_CLOEXEC) else os.dup(chain[-1])
    finally:
        for fd in chain:
            os.close(fd)


def _on_procfs(libc, fd):
    import ctypes

    buf = ctypes.create_string_buffer(struct.calcsize("16l"))  # struct statfs, f_type first
    if libc.fstatfs(fd, buf) != 0:
        return True  # cannot tell: treat as magic
    return struct.unpack_from("l", buf)[0] == _PROC_SUPER_MAGIC
