"""The one module that talks to the kernel for the runtime.

Everything the runtime does to the system goes through a `Linux` object, so that
plugins can be unit-tested against a recording double (tests/unit/fake_linux.py).
ctypes is used only for the calls Python lacks: clone, mount, umount2, pivot_root,
unshare, setns, sethostname, prctl.
"""

import _socket  # the C module (`socket` would add enum and selectors to every start)
import ctypes
import errno
import fcntl
import os
import struct

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
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MNT_DETACH = 0x2

_SIGCHLD = 17
_PR_SET_PDEATHSIG = 1
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_SYS_CLOSE_RANGE = 436  # the same on x86_64 and aarch64
_CLOSE_RANGE_CLOEXEC = 1 << 2

_LOOP_SET_FD = 0x4C00
_LOOP_CLR_FD = 0x4C01
_LOOP_SET_STATUS64 = 0x4C04
_LOOP_CONFIGURE = 0x4C0A
_LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_READ_ONLY = 1
LO_FLAGS_AUTOCLEAR = 4
# struct loop_info64, then struct loop_config = {fd, block_size, loop_info64, reserved[8]}
_LOOP_INFO64 = "QQQQQIIII64s64s32s2Q"
_LOOP_CONFIG = "=II" + _LOOP_INFO64 + "8Q"

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


class NoFreeLoopDevice(OSError):
    pass


def _loop_info(flags, name):
    return (0, 0, 0, 0, 0, 0, 0, 0, flags, name.encode()[:63], b"", b"", 0, 0)


class Linux:
    """Real system calls. Errors are raised as OSError with the path involved."""

    def __init__(self):
        # CDLL releases the GIL around calls; clone() must not (see clone()), so it
        # goes through a PyDLL handle onto the same libc.
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc_gil = ctypes.PyDLL(None, use_errno=True)
        machine = os.uname().machine
        self._sys_clone = _SYS_CLONE.get(machine)
        self._sys_pivot_root = _SYS_PIVOT_ROOT.get(machine)

    def _check(self, result, *paths):
        if result == -1:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), *paths[:1])
        return result

    # -- processes ---------------------------------------------------------
    def clone(self, flags, cgroup_fd=None):
        """clone(2) with fork semantics: returns 0 in the child, its pid in the parent.

        With cgroup_fd (a cgroup v2 directory), clone3(CLONE_INTO_CGROUP) has the child
        born in that cgroup: no migration, which costs an RCU grace period (milliseconds).
        Kernels before 5.7 lack clone3: the child is then born where we are.

        The interpreter stays sound in the child the same way it does after os.fork():
        CPython's own before/after-fork hooks run around the call (import lock, thread
        states, at-fork handlers), the GIL is held across it, and with a NULL stack the
        child runs on a copy-on-write copy of this thread's stack. The runtime is
        single-threaded, so no lock can be held by a thread that does not exist in the
        child.
        """
        if self._sys_clone is None:
            raise OSError(errno.ENOSYS, f"clone: unsupported architecture {os.uname().machine}")
        api = ctypes.pythonapi
        args = None
        if cgroup_fd is not None:  # struct clone_args: flags .. exit_signal .. cgroup
            args = (ctypes.c_uint64 * 11)(flags | _CLONE_INTO_CGROUP, 0, 0, 0, _SIGCHLD, 0, 0, 0, 0, 0, cgroup_fd)
        api.PyOS_BeforeFork()
        pid = -1
        err = errno.ENOSYS
        if args is not None:
            pid = self._libc_gil.syscall(_SYS_CLONE3, ctypes.byref(args), ctypes.c_size_t(ctypes.sizeof(args)))
            err = ctypes.get_errno()
        if pid == -1 and err in (errno.ENOSYS, errno.E2BIG):
            pid = self._libc_gil.syscall(self._sys_clone, ctypes.c_ulong(flags | _SIGCHLD), None, None, None, None)
            err = ctypes.get_errno()
        if pid == 0:
            api.PyOS_AfterFork_Child()
        else:
            api.PyOS_AfterFork_Parent()
        if pid < 0:
            raise OSError(err, f"clone: {os.strerror(err)}")
        return pid

    def unshare(self, flags):
        self._check(self._libc.unshare(ctypes.c_int(flags)))

    def setns(self, fd, nstype=0):
        self._check(self._libc.setns(fd, nstype))

    def set_parent_death_signal(self, signum):
        self._check(self._libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0))

    def close_on_exec_from(self, lowest):
        """Mark every descriptor >= lowest close-on-exec (fds the runtime inherited too)."""
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
        self._check(
            self._libc.mount(
                source and source.encode(),
                target.encode(),
                fstype and fstype.encode(),
                ctypes.c_ulong(flags),
                data and data.encode(),
            ),
            target,
        )

    def umount(self, target, flags=0):
        self._check(self._libc.umount2(target.encode(), flags), target)

    def pivot_root(self, new_root, put_old):
        self._check(self._libc.syscall(self._sys_pivot_root, new_root.encode(), put_old.encode()), new_root)

    def mkdir(self, path, mode=0o755):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass

    def create_file(self, path, mode=0o644):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, mode))

    def symlink(self, target, path):
        os.symlink(target, path)

    def chdir(self, path):
        os.chdir(path)

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

    # -- loop devices ------------------------------------------------------
    def attach_loop(self, file_fd, read_only, name=""):
        """Bind file_fd to a free loop device that frees itself on last close.

        Returns (device fd, device path). Another process may take the same free
        device between LOOP_CTL_GET_FREE and our configure; that one is EBUSY for us
        and we ask again.
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
        if self._libc.prctl(_PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == -1:
            err = ctypes.get_errno()
            if err == errno.EINVAL:
                return False
            raise OSError(err, f"prctl(PR_CAPBSET_DROP, {cap}): {os.strerror(err)}")
        return True

    def clear_ambient_caps(self):
        self._check(self._libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0))

    def set_caps(self, effective, permitted, inheritable):
        """capset(2), version 3: each set is a 64-bit mask of capability numbers."""
        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        for i, mask in enumerate((effective, permitted, inheritable)):
            data[i] = mask & 0xFFFFFFFF  # data[0] = {effective, permitted, inheritable} low words
            data[3 + i] = mask >> 32
        self._check(self._libc.capset(header, data))

    def get_caps(self):
        """(effective, permitted, inheritable) of this thread as 64-bit masks."""
        header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        self._check(self._libc.capget(header, data))
        return tuple(data[i] | data[3 + i] << 32 for i in range(3))

    def set_no_new_privs(self):
        self._check(self._libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0))

    def load_seccomp(self, program):
        """Install a classic-BPF seccomp filter: `program` is the raw struct sock_filter
        array, as libseccomp's seccomp_export_bpf() writes it."""
        if not program or len(program) % 8:
            raise OSError(errno.EINVAL, "seccomp: not a BPF program")
        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        self._check(self._libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0))

    def write_file(self, path, data):
        """Write a small control file (cgroup, /proc/PID/uid_map) in one write(2)."""
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode() if isinstance(data, str) else data)
        finally:
            os.close(fd)

    def rmdir(self, path):
        os.rmdir(path)

    def kill(self, pid, signum):
        os.kill(pid, signum)

    def fork(self):
        return os.fork()

    def open_directory(self, path):
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def chroot(self, path):
        os.chroot(path)

    def switch_user(self, uid, gid, groups):
        """Become uid/gid with these groups; from root to another uid, the kernel clears
        the effective and permitted capabilities."""
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)

    def become_root(self):
        """In a new user namespace whose maps are written: be its uid/gid 0, no groups."""
        os.setresgid(0, 0, 0)
        os.setgroups([])
        os.setresuid(0, 0, 0)


# -- hardening constants (issue 4) -------------------------------------------------
_PR_SET_SECCOMP = 22
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_SECCOMP_MODE_FILTER = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# clone3 has one syscall number on every architecture (asm-generic/unistd.h).
_SYS_CLONE3 = 435
_CLONE_INTO_CGROUP = 0x200000000


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
