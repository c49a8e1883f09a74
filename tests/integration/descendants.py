"""The processes this test run made: every process forked from the pytest process or from
one of those, dead ones included, as the kernel's process events connector (cn_proc,
connector(4)) reports each fork and exit. A container cgroup is named after the pid of the
runtime that made it; this is how the residue check tells this run's from another run's on
a shared machine, once that runtime is gone; and a process this run made that still runs
is ours, whatever its command line.

The events wait in the socket's receive buffer until `pids()` reads them: the kernel
queues a fork's event before fork() returns, so whatever a test started is in it by the
time the test is over. Standard library only; local target only (the events are the
kernel's of the machine pytest runs on)."""

import errno
import os
import socket
import struct

_NETLINK_CONNECTOR = 11
_CN_IDX_PROC = _CN_VAL_PROC = 1
_NLMSG_DONE = 3
_PROC_CN_MCAST_LISTEN = 1
_PROC_EVENT_FORK = 0x1
_PROC_EVENT_EXIT = 0x80000000
_HEADERS = 16 + 20  # struct nlmsghdr, struct cn_msg
_BUFFER = 64 << 20  # a test's forks on a busy machine: SO_RCVBUFFORCE, as root


class Descendants:
    def __init__(self):
        self.socket = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK, _NETLINK_CONNECTOR)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, 33, _BUFFER)  # SO_RCVBUFFORCE
            self.socket.bind((0, _CN_IDX_PROC))
            listen = struct.pack("I", _PROC_CN_MCAST_LISTEN)
            message = struct.pack("IIIIHH", _CN_IDX_PROC, _CN_VAL_PROC, 0, 0, len(listen), 0) + listen
            self.socket.send(struct.pack("IHHII", 16 + len(message), _NLMSG_DONE, 0, 0, 0) + message)
        except OSError:
            self.socket.close()
            raise
        self.known = {os.getpid()}  # forked by this run, dead ones included
        self.running = {os.getpid()}  # of those, the ones that have not exited
        self.complete = True  # False once the kernel dropped events (the buffer overflowed)

    def pids(self):
        """The pids (thread group ids) of the processes this run forked so far, or None
        if some forks went unreported. A pid another run's process took since is not in
        it: pid_max wraps around quickly on a busy machine (32768 here)."""
        self._read()
        return self.known if self.complete else None

    def living(self):
        """The pids of the processes this run forked that have not exited, or None."""
        self._read()
        return self.running if self.complete else None

    def _read(self):
        while True:
            try:
                event = self.socket.recv(256)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                self.complete = False
                continue
            if len(event) < _HEADERS + 32:
                continue  # the listen request's acknowledgement
            what = struct.unpack_from("I", event, _HEADERS)[0]
            if what == _PROC_EVENT_FORK:
                _, parent, thread, child = struct.unpack_from("4I", event, _HEADERS + 16)
                if thread != child:
                    continue  # a new thread of a process: no new process
                if parent in self.known:
                    self.known.add(child)
                    self.running.add(child)
                else:
                    self.known.discard(child)  # reused by a process not ours
            elif what == _PROC_EVENT_EXIT:
                pid, tgid = struct.unpack_from("2I", event, _HEADERS + 16)
                if pid == tgid:  # the process, not one of its other threads
                    self.running.discard(pid)


def start():
    """A Descendants recording from now on, or None where the kernel has no process
    events (CONFIG_PROC_EVENTS off), we may not listen (not root), or the kernel takes
    the listen request and reports nothing: it ignores one from outside the initial PID
    and user namespaces, whose pids would not be the events' anyway. A first fork tells."""
    try:
        descendants = Descendants()
    except OSError:
        return None
    probe = os.fork()
    if probe == 0:
        os._exit(0)
    os.waitpid(probe, 0)
    if probe not in descendants.pids():
        descendants.socket.close()
        return None
    return descendants
