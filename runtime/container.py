"""The clone/exec path: prepare, clone, set up both sides, exec, supervise, tear down."""

import os

import _signal as signal  # the C module: `signal` would add an enum import to every start

from . import errors
from .errors import ContainerError, Interrupted
from .plugin import explanations

# Sent to the runtime, passed on to the container's init.
FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
# CPython ignores these; exec would keep them ignored in the container.
_PYTHON_IGNORES = (signal.SIGPIPE, signal.SIGXFSZ)


def run(ctx, plugins):
    """Run the container to completion; returns the runtime's exit status."""
    previous = {s: signal.signal(s, lambda signum, frame: _forward(ctx, signum)) for s in FORWARDED}
    prepared = []
    janitor = None
    try:
        for plugin in plugins:
            prepared.append(plugin)
            plugin.prepare(ctx)
        if any(p.teardown_after_sigkill for p in plugins):
            janitor = _Janitor(ctx, plugins)
        status = _start(ctx, plugins)
    except BaseException:
        _teardown(ctx, prepared)  # the failure that got us here is the one to report
        raise
    else:
        failure = _teardown(ctx, prepared)
        if failure:
            raise failure
        return status
    finally:
        if janitor:
            janitor.dismiss()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _teardown(ctx, prepared):
    """Every plugin's teardown, even after one fails; returns the first failure."""
    first = None
    for plugin in reversed(prepared):
        try:
            plugin.teardown(ctx)
        except Exception as e:
            first = first or e
    return first


class _Janitor:
    """A forked watcher that runs the teardowns if the runtime dies without doing so.

    Only SIGKILL gets there (every other exit path runs teardown itself). The kernel
    frees mounts, loop devices, namespaces and veth pairs by itself; this is for what
    it does not free, such as cgroup directories and firewall rules. It has the
    plugins' state as of its fork, so such state must be created in prepare().
    """

    def __init__(self, ctx, plugins):
        read_end, self._write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self._write_end)
            os.setpgid(0, 0)  # not in the runtime's process group: a Ctrl-C is not for us
            for signum in FORWARDED:
                signal.signal(signum, signal.SIG_IGN)
            try:
                if os.read(read_end, 1) != b"d":  # EOF: the runtime is gone
                    _teardown(ctx, plugins)
            finally:
                os._exit(0)
        os.close(read_end)

    def dismiss(self):
        """The runtime did its own teardown: tell the janitor to leave."""
        try:
            os.write(self._write_end, b"d")
        except BrokenPipeError:  # someone killed the janitor: nothing left to dismiss
            pass
        os.close(self._write_end)
        os.waitpid(self.pid, 0)


def _forward(ctx, signum):
    if ctx.pid:
        os.kill(ctx.pid, signum)
    else:
        raise Interrupted(signum)


def _start(ctx, plugins):
    flags = 0
    for plugin in plugins:
        flags |= plugin.clone_flags(ctx)
    go_read, go_write = os.pipe()  # parent -> child: setup_parent is done, go on
    report_read, report_write = os.pipe()  # child -> parent: why it failed; EOF at exec
    console = None
    if ctx.tty:
        from .console import Console

        console = Console()
    # Blocked across clone so no handler runs between clone and ctx.pid being known.
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        pid = ctx.linux.clone(flags, ctx.cgroup_fd)
        if pid == 0:
            _child(ctx, plugins, go_read, report_write, console)
        ctx.pid = pid
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    os.close(go_read)
    os.close(report_write)
    try:
        for plugin in plugins:
            plugin.setup_parent(ctx)
        os.write(go_write, b"go")
        os.close(go_write)
        go_write = None
        if console:
            console.receive()
        failure = _read_all(report_read)
        if failure:
            code, _, message = failure.partition("\n")
            _reap(ctx)
            raise ContainerError(int(code), message)
        status = console.relay(ctx.pid) if console else _wait(ctx.pid)
        ctx.pid = 0
        return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    finally:
        for fd in (go_write, report_read):
            if fd is not None:
                os.close(fd)
        if console:
            console.close()
        if ctx.pid:
            os.kill(ctx.pid, signal.SIGKILL)
            _reap(ctx)


def _child(ctx, plugins, go_read, report_write, console):
    """In the clone()d child: wait for the parent, run each plugin's setup, exec. Never returns."""
    code = errors.RUNTIME_FAILURE
    try:
        ctx.linux.set_parent_death_signal(signal.SIGKILL)
        for signum in FORWARDED + _PYTHON_IGNORES:
            signal.signal(signum, signal.SIG_DFL)
        # EOF instead of "go": the runtime died before we set the death signal.
        if os.read(go_read, 2) != b"go":
            os._exit(code)
        for plugin in plugins:
            plugin.setup_child(ctx)
        if getattr(ctx.options, "explain", False):  # before the console takes stderr over
            os.write(2, explanations(ctx, plugins).encode())
        if console:
            console.attach()
        elif not os.isatty(0):
            # Terminal signals then reach only the runtime, which forwards them once.
            os.setpgid(0, 0)
        # Whatever the runtime's caller left open (a directory fd would be a way out
        # of the new root) must not reach the container.
        ctx.linux.close_on_exec_from(3)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
        env.update(ctx.env)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        try:
            _exec(ctx.command, env)
        except FileNotFoundError:
            code, message = errors.COMMAND_NOT_FOUND, f"command not found in the image: {ctx.command[0]}"
        except OSError as e:
            code, message = errors.COMMAND_NOT_EXECUTABLE, f"cannot execute {ctx.command[0]}: {e.strerror}"
    except ContainerError as e:
        code, message = e.code, str(e)
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        message = f"container setup failed:{where} {e.strerror}"
    except BaseException as e:  # the child must never return into the parent's stack
        message = f"container setup failed: {type(e).__name__}: {e}"
    try:
        os.write(report_write, f"{code}\n{message}".encode())
    finally:
        os._exit(code)


def _exec(command, env):
    """execvpe(), searching the container's PATH. (os.execvpe imports `warnings`,
    which is no longer on disk once we have pivoted into the image.)"""
    name = command[0]
    if "/" in name:
        os.execve(name, command, env)
    first_error = None
    for directory in env["PATH"].split(":"):
        try:
            os.execve(f"{directory}/{name}", command, env)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as e:
            first_error = first_error or e
    raise first_error or FileNotFoundError(name)


def _read_all(fd):
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def _wait(pid):
    return os.waitpid(pid, 0)[1]


def _reap(ctx):
    _wait(ctx.pid)
    ctx.pid = 0
