"""Named and detached containers: their state record, and the supervisor of `run -d`.

`run --name NAME` and `run -d` put a StateRecord before the plugins: it claims the name
first and, its teardown running last, records the exit (or removes the state, with
--rm or when the start failed) once everything else is torn down. It also asks for
the janitor, so a SIGKILLed supervisor's container is still recorded as exited.

`run -d` forks a supervisor (podman's conmon, in small): in a session of its own, it
runs the container exactly as the foreground runtime does (it holds the loop device,
waits for PID 1, runs the teardowns; PID 1's parent-death signal is its own), with
stdout and stderr going to the state's log. The command that started it waits until
PID 1 has been exec'd, prints the name and acknowledges. If that command is killed
before, the supervisor finds no acknowledgement and takes everything down again.
"""

import os
import sys
import time

from . import container, errors
from .cli import _describe as describe_error
from .errors import ContainerError, Interrupted
from .plugin import Plugin
from .state import State, process_start_time

_END = b"\0"  # frames the supervisor's last word to the starting command


class StateRecord(Plugin):
    name = "state"
    help = "the named container's record under /run/demo-runtime"
    teardown_after_sigkill = True

    def __init__(self, container_name, remove=False, detached=False, started_to=None):
        self.container_name = container_name
        self.remove = remove
        self.detached = detached
        self.started_to = started_to  # (status fd, ack fd) to the command that started us
        self.state = None
        self.alive = None

    def prepare(self, ctx):
        record = {
            "image": ctx.linux.absolute_path(ctx.image),
            "command": ctx.command,
            "options": vars(ctx.options),
            "cwd": ctx.linux.getcwd(),
            "created": time.time(),
            "status": "created",
            "detached": self.detached,
            "remove": self.remove,
            "supervisor": ctx.linux.getpid(),
        }
        self.state, self.alive = State.create(self.container_name, record, linux=ctx.linux)
        if self.detached:
            log = ctx.linux.open(self.state.log, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            for fd in (1, 2):  # the container's stdout and stderr, inherited at clone
                ctx.linux.dup2(log, fd)
            ctx.linux.close(log)

    def running(self, ctx):
        with self.state.lock():
            self.state.update(status="running", command=ctx.command, pid=ctx.pid, pid_start=process_start_time(ctx.pid, ctx.linux), started=time.time())
        if self.started_to:
            status_fd, ack_fd = self.started_to
            self.started_to = None
            sys.stderr.flush()
            try:
                ctx.linux.write(status_fd, _END + f"0\n{self.container_name}".encode() + _END)
                acknowledged = ctx.linux.read(ack_fd, 1) == b"k"
            except BrokenPipeError:  # it died before we could even say so
                acknowledged = False
            finally:
                ctx.linux.close(status_fd)
                ctx.linux.close(ack_fd)
            if not acknowledged:  # the starting command died: leave nothing
                with self.state.lock():
                    self.state.update(status="abandoned")
                raise ContainerError(errors.RUNTIME_FAILURE, "the starting command died")
            sys.stderr = open(2, "w", closefd=False)  # from now on, into the log

    def teardown(self, ctx):
        if self.state is None:
            return
        with self.state.lock():
            if self.state.load()["status"] == "running" and not self.remove:
                exited = {"status": "exited", "exit_code": ctx.exit_status, "finished": time.time()}
                if ctx.exit_status is None:  # the janitor: the supervisor was killed
                    exited["reason"] = "its supervisor died"
                self.state.update(**exited)
            else:
                self.state.remove()
        self.state = None


def start_detached(ctx, plugins, name, remove):
    """Start the container under a supervisor; print its name once PID 1 runs."""
    linux = ctx.linux
    status_read, status_write = linux.pipe()
    ack_read, ack_write = linux.pipe()
    record = StateRecord(name, remove, detached=True, started_to=(status_write, ack_read))
    pid = linux.fork()
    if pid == 0:
        linux.close(status_read)
        linux.close(ack_write)
        _supervise(ctx, [record, *plugins], record, status_write)
    linux.close(status_write)
    linux.close(ack_read)
    try:
        warnings, code, message = _last_word(linux, status_read)
        sys.stderr.write(warnings)
        if code != 0:
            raise ContainerError(code, message)
        sys.stdout.write(f"{message}\n")  # one write: parallel starts' names stay whole lines
        sys.stdout.flush()
        linux.write(ack_write, b"k")
        return 0
    finally:
        linux.close(status_read)
        linux.close(ack_write)


def _supervise(ctx, plugins, record, status_write):
    """The supervisor, in the forked child. Never returns."""
    code, message = errors.RUNTIME_FAILURE, ""
    try:
        ctx.linux.setsid()  # no terminal, no process group of the caller's: only stop/kill reach it
        null = ctx.linux.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nothing of the caller's stays open (a $(...) would wait for it)
            ctx.linux.dup2(null, fd)
        ctx.linux.close(null)
        # Nor above 2: descriptors the caller saved (pytest's capture does) would keep its
        # pipes open for the container's life.
        ctx.linux.close_all_but([status_write, *record.started_to])
        # Until PID 1 runs, warnings (plugins print them) reach the caller.
        sys.stderr = open(status_write, "w", buffering=1, closefd=False)
        code = container.run(ctx, plugins)
    except ContainerError as e:
        code, message = e.code, str(e)
    except Interrupted as e:
        code, message = 128 + e.signum, str(e)
    except BaseException as e:
        message = describe_error(e)
    if record.started_to:  # the start failed: tell the caller why
        try:
            sys.stderr.flush()
            ctx.linux.write(status_write, _END + f"{code}\n{message}".encode(errors="surrogateescape") + _END)
        except OSError:
            pass
    ctx.linux.exit_now(0)


def _last_word(linux, fd):
    """(what the supervisor printed, its exit code, its message) from the status pipe."""
    data = b""
    while data.count(_END) < 2:
        chunk = linux.read(fd, 4096)
        if not chunk:
            return data.decode(errors="replace"), errors.RUNTIME_FAILURE, "the supervisor died while starting the container"
        data += chunk
    text, code_message = data.decode(errors="replace").split("\0")[:2]
    code, _, message = code_message.partition("\n")
    return text, int(code), message

