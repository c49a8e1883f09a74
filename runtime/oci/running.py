"""start and kill: the operations on a created or running container that need none of
the plugins (so their commands import none: podman and containerd's shim call each once a
container, a new interpreter every time).

start: opens the fifo for reading, which lets the init through to its exec (after the
  startContainer hooks it runs), waits for its byte (or the init's end, through a pidfd)
  and then for the fifo's end, which the init's exec closes (so the process is the
  program when start returns), removes the fifo: `running`; then the poststart hooks.
kill: a signal to the init through a pidfd (checked against its start time), with --all
  to every process of its PID namespace.
"""

import os

from .. import errors
from ..errors import ContainerError
from ..linux import SIGKILL, Linux
from .hooks import run_hooks
from .record import Record


def open_init(linux, record):
    """A pidfd of the live init (checked against its start time), else None."""
    try:
        pidfd = linux.pidfd_open(record.data["pid"])
    except (OSError, KeyError):
        return None
    if not record.alive():
        linux.close(pidfd)
        return None
    return pidfd


def start(root, container_id):
    linux = Linux()
    record = Record.find(root, container_id, linux)
    with record.state.lock():
        record = Record.find(root, container_id, linux)
        status = record.status()
        if status != "created":
            raise ContainerError(errors.WRONG_STATE, f"cannot start a container that is {status} (only a created one)")
        pidfd = open_init(linux, record)
        if pidfd is None:
            raise ContainerError(errors.WRONG_STATE, "cannot start a container that is stopped (only a created one)")
        try:
            fifo = linux.open(record.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                ready = linux.wait_readable([fifo, pidfd])
                passed = fifo in ready and linux.read(fifo, 1) == b"0"
                if passed:  # then readable again at its end: the init's exec closed it
                    linux.wait_readable([fifo])
            finally:
                linux.close(fifo)
            linux.unlink(record.fifo)
        finally:
            linux.close(pidfd)
        if not passed:
            raise ContainerError(errors.RUNTIME_FAILURE, "the container's init exited before it could start")
    try:
        run_hooks(linux, record.data.get("hooks", {}), "poststart", record.spec_state("running"))
    except ContainerError:
        kill(root, container_id, SIGKILL)
        raise


def kill(root, container_id, signum, every=False):
    linux = Linux()
    record = Record.find(root, container_id, linux)
    pidfd = open_init(linux, record)
    if pidfd is None:
        if every:  # runc: --all of a stopped container is no error
            return
        # runc's words: containerd's shim reads them as "already finished", not a failure
        raise ContainerError(errors.WRONG_STATE, f"cannot signal {container_id!r}: container not running")
    try:
        linux.pidfd_send_signal(pidfd, signum)
        if every:
            for pid in _same_pid_namespace(linux, record.data["pid"]):
                try:
                    linux.kill(pid, signum)
                except ProcessLookupError:
                    pass
    finally:
        linux.close(pidfd)


def _same_pid_namespace(linux, init):
    """The host pids of the processes in the init's PID namespace, but the init."""

    def namespace(pid):
        st = linux.stat(f"/proc/{pid}/ns/pid")
        return st.st_dev, st.st_ino

    try:
        own = namespace(init)
    except OSError:
        return []
    if own == namespace("self"):
        return []  # the host's: --all signals only the init
    found = []
    for entry in linux.listdir("/proc"):
        if entry.isdigit() and int(entry) != init:
            try:
                if namespace(entry) == own:
                    found.append(int(entry))
            except OSError:
                continue
    return found
