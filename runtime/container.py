"""The clone/exec path: prepare, clone, set up both sides, exec, supervise, tear down."""

import os

import _signal as signal  # the C module: `signal` would add an enum import to every start

from . import errors
from .errors import ContainerError, Interrupted
from .plugin import explanations
from .linux import MagicLinkExec, UnsafeImagePath
from .plugins import privileged

# Sent to the runtime, passed on to the container's init.
FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
# Unblocked just before a container's exec: FORWARDED, blocked while the runtime set up its
# handlers, and SIGCHLD, which the Python API holds blocked in its caller (api._in_caller).
UNBLOCKED_AT_EXEC = FORWARDED + (signal.SIGCHLD,)
# Where a command is looked for when the environment has no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# CPython ignores these; exec would keep them ignored in the container.
_PYTHON_IGNORES = (signal.SIGPIPE, signal.SIGXFSZ)


def run(ctx, plugins):
    """Run the container to completion; returns the runtime's exit status."""
    ctx.plugins = plugins
    previous = ctx.linux.set_signal_handlers({s: lambda signum, frame: _forward(ctx, signum) for s in FORWARDED})
    prepared = []
    janitor = None
    try:
        for plugin in plugins:
            prepared.append(plugin)
            plugin.prepare(ctx)
        # Always: besides the teardowns, it keeps the container from outliving us.
        janitor = _Janitor(ctx, [p for p in plugins if p.teardown_after_sigkill])
        status = _start(ctx, plugins, janitor)
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
        ctx.linux.set_signal_handlers(previous)


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
    """A forked watcher that acts if the runtime dies without cleaning up.

    Only SIGKILL gets there (every other exit path tears down itself). It then kills
    the container's init through a pidfd, which ends its whole PID namespace: the
    container never outlives the runtime, even if its init cleared the parent-death
    signal and no cgroup can be killed (--disable cgroup, `ip netns exec`). While the
    janitor lives, the container cannot have the runtime's interpreter to itself: the
    janitor runs it too. Then it runs the teardowns the kernel does not do by itself
    (cgroup directories, firewall rules) for the plugins it was given, with their state
    as of its fork, so such state must be created in prepare().
    """

    def __init__(self, ctx, plugins):
        linux = ctx.linux
        ours, theirs = linux.socketpair()
        self.pid = linux.fork()
        if self.pid == 0:
            ours.close()
            linux.setpgid(0, 0)  # not in the runtime's process group: a Ctrl-C is not for us
            linux.set_signal_handlers({s: signal.SIG_IGN for s in FORWARDED})
            try:
                if self._watch(ctx, theirs):
                    _teardown(ctx, plugins)
            finally:
                linux.exit_now(0)
        theirs.close()
        self._socket = ours
        self._linux = ctx.linux

    @staticmethod
    def _watch(ctx, sock):
        """Messages from the runtime: b"p" with the init's pidfd, b"d" for dismissed.
        True when the runtime is gone (EOF) without dismissing us."""
        pidfd = None
        while True:
            data, fd = ctx.linux.receive_message(sock)
            pidfd = pidfd if fd is None else fd
            if data == b"d":
                return False
            if not data:
                if pidfd is not None:
                    ctx.linux.pidfd_kill_and_wait(pidfd, signal.SIGKILL)
                return True

    def watch(self, pid):
        """The container's init exists: hand the janitor a pidfd for it (no pid reuse race)."""
        try:
            pidfd = self._linux.pidfd_open(pid)
        except OSError:  # kernels before 5.3: the parent-death signal alone
            return
        try:
            self._linux.send_message(self._socket, b"p", pidfd)
        finally:
            self._linux.close(pidfd)

    def dismiss(self):
        """The runtime did its own teardown: tell the janitor to leave."""
        try:
            self._linux.send_message(self._socket, b"d")
        except OSError:  # someone killed the janitor: nothing left to dismiss
            pass
        self._socket.close()
        self._linux.waitpid(self.pid)


def _forward(ctx, signum):
    if ctx.pid:
        ctx.linux.kill(ctx.pid, signum)
    else:
        raise Interrupted(signum)


def create(ctx, plugins):
    """The OCI create: the init set up and left at ctx.gate, where it waits for `start`.

    It outlives us (the caller's subreaper reaps it), so there is no janitor, and the
    gate clears the parent-death signal. Teardowns run here only on failure; on success
    the caller keeps the plugins' state for the teardown at `delete`. Returns its pid."""
    prepared = []
    try:
        for plugin in plugins:
            prepared.append(plugin)
            plugin.prepare(ctx)
        console = _console(ctx)
        try:
            _launch(ctx, plugins, None, console)
        finally:
            if console:
                console.close()
        return ctx.pid
    except BaseException:
        _teardown(ctx, prepared)
        raise


def _console(ctx):
    """The caller's console (OCI: the master goes to a console socket), else -t's relay."""
    if ctx.console or not ctx.tty:
        return ctx.console
    from .console import Console

    return Console(ctx.linux)


def _start(ctx, plugins, janitor):
    console = _console(ctx)
    try:
        _launch(ctx, plugins, janitor, console)
        for plugin in plugins:
            plugin.running(ctx)
        status = console.relay(ctx.pid) if console else ctx.linux.waitpid(ctx.pid)[1]
        ctx.pid = 0
        ctx.exit_status = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return ctx.exit_status
    finally:
        if console:
            console.close()
        if ctx.pid:
            ctx.linux.kill(ctx.pid, signal.SIGKILL)
            _reap(ctx)


def _launch(ctx, plugins, janitor, console):
    """clone, both sides' setup, until the child has exec'd (or reached ctx.gate)."""
    flags, args = 0, {}
    for plugin in plugins:
        flags |= plugin.clone_flags(ctx)
        args.update(plugin.clone_args(ctx))
    go_read, go_write = ctx.linux.pipe()  # parent -> child: setup_parent is done, go on
    report_read, report_write = ctx.linux.pipe()  # child -> parent: why it failed; EOF at exec
    # Blocked across clone so no handler runs between clone and ctx.pid being known;
    # then unblocked, but for those the caller had blocked (the API's runs in its caller).
    blocked = ctx.linux.block_signals(FORWARDED)
    try:
        pid = ctx.linux.clone(flags, **args)
        if pid == 0:
            _child(ctx, plugins, go_read, report_write, console)
        ctx.pid = pid
    finally:
        ctx.linux.unblock_signals(blocked)
    if janitor:
        janitor.watch(pid)
    ctx.linux.close(go_read)
    ctx.linux.close(report_write)
    try:
        for plugin in plugins:
            plugin.setup_parent(ctx)
        ctx.linux.write(go_write, b"go")
        ctx.linux.close(go_write)
        go_write = None
        for plugin in plugins:
            plugin.meet_child(ctx)
        if console:
            console.receive()
        failure = _read_all(ctx.linux, report_read)
        if failure:
            code, _, message = failure.partition("\n")
            _reap(ctx)
            raise ContainerError(int(code), message)
    except BaseException:
        if ctx.pid:
            ctx.linux.kill(ctx.pid, signal.SIGKILL)
            _reap(ctx)
        raise
    finally:
        for fd in (go_write, report_read):
            if fd is not None:
                ctx.linux.close(fd)


def _child(ctx, plugins, go_read, report_write, console):
    """In the clone()d child: wait for the parent, run each plugin's setup, exec. Never returns."""
    code = errors.RUNTIME_FAILURE
    try:
        ctx.linux.set_parent_death_signal(signal.SIGKILL)
        # SIGCHLD: not the API's caller's handler in here (see api._in_caller).
        ctx.linux.set_signal_handlers({s: signal.SIG_DFL for s in FORWARDED + _PYTHON_IGNORES + (signal.SIGCHLD,)})
        # EOF instead of "go": the runtime died before we set the death signal.
        if ctx.linux.read(go_read, 2) != b"go":
            ctx.linux.exit_now(code)
        for plugin in plugins:
            plugin.setup_child(ctx)
        if getattr(ctx.options, "explain", False):  # before the console takes stderr over
            ctx.linux.write(2, explanations(ctx, plugins).encode())
        if console:
            console.attach()
        else:
            # A session of its own, so no controlling terminal: the caller's terminal,
            # even if stdin is one, cannot be used to TIOCSTI commands into the caller's
            # shell (bubblewrap's CVE-2017-5226). Terminal signals reach only the
            # runtime, which forwards them once.
            ctx.linux.setsid()
        # Whatever the runtime's caller left open (a directory fd would be a way out
        # of the new root) must not reach the container.
        ctx.linux.close_on_exec_from(3)
        env = {"PATH": DEFAULT_PATH, "HOME": "/root"}
        env.update(ctx.env)
        ctx.linux.unblock_signals(UNBLOCKED_AT_EXEC)
        if ctx.gate:  # OCI create: say the setup is done, wait there for `start`
            report_write = ctx.gate(ctx, env, report_write)
        code, message = exec_failure(ctx, env)
    except BaseException as e:  # the child must never return into the parent's stack
        code, message = setup_failure(ctx, e)
    report_and_exit(ctx.linux, report_write, code, message)


def report_and_exit(linux, report_write, code, message):
    """A child's end when it could not exec: why, to the parent (or, with no parent
    listening any more, past an OCI gate, to the container's stderr), and its exit status."""
    try:
        # Names the image or the caller gave need not be UTF-8: their bytes go through.
        if report_write is None:
            linux.write(2, f"demo-runtime-oci: {message}\n".encode(errors="surrogateescape"))
        else:
            linux.write(report_write, f"{code}\n{message}".encode(errors="surrogateescape"))
    finally:
        linux.exit_now(code)


def exec_failure(ctx, env):
    """exec the command; if that fails, the runtime's (exit status, message) for why."""
    try:
        _exec(ctx, env)
    except MagicLinkExec as e:
        return errors.COMMAND_NOT_EXECUTABLE, (
            f"cannot execute {ctx.command[0]}: {e.filename} resolves through a /proc magic link "
            "(it would run the runtime's own interpreter in the container; refused)"
        )
    except FileNotFoundError:
        return errors.COMMAND_NOT_FOUND, f"command not found in the image: {ctx.command[0] or '(an empty name)'}"
    except OSError as e:
        return errors.COMMAND_NOT_EXECUTABLE, f"cannot execute {ctx.command[0]}: {e.strerror}"


def setup_failure(ctx, error):
    """(exit status, message) for an exception in a child before its exec."""
    if isinstance(error, ContainerError):
        return error.code, str(error)
    if isinstance(error, UnsafeImagePath):
        return errors.UNSAFE_IMAGE, f"unsafe image {ctx.image}: its {error.filename} {error.strerror} (refused)"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return errors.RUNTIME_FAILURE, f"container setup failed:{where} {error.strerror}"
    return errors.RUNTIME_FAILURE, f"container setup failed: {type(error).__name__}: {error}"


def _exec(ctx, env):
    """execvpe(), searching the container's PATH, each candidate checked for magic
    links first (the check is part of the hardening --privileged turns off). (os.execvpe
    imports `warnings`, which is no longer on disk once we have pivoted into the image.)"""
    command = ctx.command
    check = not privileged(ctx.options)

    def execve(path):
        if check:
            ctx.linux.exec_check(path)
        ctx.linux.execve(path, command, env)

    name = command[0]
    if not name:  # execve() would take it for no argv at all
        raise FileNotFoundError(name)
    if "/" in name:
        execve(name)
    first_error = None
    for directory in env.get("PATH", DEFAULT_PATH).split(":"):
        try:
            execve(f"{directory}/{name}")
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as e:
            first_error = first_error or e
    raise first_error or FileNotFoundError(name)


def _read_all(linux, fd):
    chunks = []
    while chunk := linux.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="backslashreplace")  # a byte that is not UTF-8 shows as \xNN


def _reap(ctx):
    ctx.linux.waitpid(ctx.pid)
    ctx.pid = 0
