"""The Python API: the command line's own code path, without a new interpreter per call.

    import runtime
    result = runtime.run("app.img", ["cat", "/etc/os-release"], hostname="app")
    with runtime.Container("app.img", env={"MODE": "test"}) as app:
        assert app.exec("id", "-u").stdout == "0\\n"

Each call runs `demo-runtime run|exec|...` through runtime.cli.main: the same parsing,
plugins, errors and exit statuses as the command, and the interpreter and the runtime's
modules already loaded. A run to completion and an exec run in the calling process (see
invoke); the rest in a fork of it, with its stdio on pipes.
Keyword options are the command line's long options: `hostname="x"` is `--hostname x`,
`rw=True` is `--rw`, a list repeats the option, a dict gives KEY=VALUE items
(`env={"A": "1"}` is `--env A=1`).
"""

import os
from types import SimpleNamespace

import _signal as signal  # the C module, as container's

from . import cli, commands, container, enter, plugins, state, supervisor  # noqa: F401 (loaded once, here)
from .images import config  # noqa: F401 (the process plugin's, imported by its first prepare)
from .errors import ContainerError
from .linux import WALL, Linux
from .plugin import Context
from .plugins.mount_image import MountImage

# What Container runs when no command is given: a PID 1 that waits to be exec'd into.
IDLE = ("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done")


class Result:
    """What a run or exec ended with: its exit status (as the command's), stdout, stderr."""

    __slots__ = ("status", "stdout", "stderr")

    def __init__(self, status, stdout, stderr):
        self.status, self.stdout, self.stderr = status, stdout, stderr

    def __repr__(self):
        return f"Result(status={self.status!r}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def arguments(options):
    """Keyword options as command-line arguments, in the order given."""
    argv = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, dict):
            argv += [item for k, v in value.items() for item in (flag, f"{k}={v}")]
        elif isinstance(value, (list, tuple)):
            argv += [item for v in value for item in (flag, str(v))]
        else:
            argv += [flag, str(value)]
    return argv


def start(argv, stdio, close=()):
    """`demo-runtime ARGV` in a forked child whose stdin, stdout and stderr are the
    descriptors stdio, closing those in close; its pid, for the caller to wait for (so
    many can run at once: with WALL). Where the caller has a SIGCHLD handler, the child
    exits with no SIGCHLD, so that a handler that reaps any child cannot take its status.
    The descriptors stay open in the caller."""
    linux = Linux()
    if linux.signal_handler(signal.SIGCHLD) == signal.SIG_DFL:
        pid = linux.fork()
    else:
        # A raw clone, not fork(3): that takes malloc's locks around the fork, which a
        # clone skips (a risk where the caller's other threads allocate), so only here.
        pid = linux.clone(0, exit_signal=0)
    if pid == 0:  # the child: the command line's main, with stdio as its own
        code = 125
        try:
            # Nor the caller's handler in here, where it would reap the runtime's children.
            linux.set_signal_handlers({signal.SIGCHLD: signal.SIG_DFL})
            for fd in close:
                linux.close(fd)
            for target, fd in enumerate(stdio):
                linux.dup2(fd, target)
            for fd in set(stdio) - {0, 1, 2}:
                linux.close(fd)
            _use_stdio()
            code = cli.main(list(argv))
        finally:
            try:
                cli.sys.stdout.flush()
                cli.sys.stderr.flush()
            finally:
                linux.exit_now(code)
    return pid


def _use_stdio():
    """sys.std* on fds 0, 1 and 2: the caller's may be anything (pytest captures them)."""
    cli.sys.stdin, cli.sys.stdout, cli.sys.stderr = (open(fd, mode, closefd=False) for fd, mode in ((0, "r"), (1, "w"), (2, "w")))


def invoke(argv, input=b""):
    """`demo-runtime ARGV`; its Result (stdout and stderr as text). A `run` to completion
    or an `exec` from a single-threaded caller runs in the caller itself (one fork fewer:
    the container's init, or exec's joiner, is cloned from this process); anything else,
    and any call from a process with other threads (whose signal handlers and stdio
    are not ours to lend), runs in a forked child. So does any call from a caller that
    ignores SIGCHLD: the kernel then reaps its children as they exit, the init with them,
    whose status the run is for (the fork's child exits with no signal: it stays)."""
    linux = Linux()
    if len(linux.listdir("/proc/self/task")) == 1 and linux.signal_handler(signal.SIGCHLD) != signal.SIG_IGN:
        try:
            return _in_caller(linux, argv, input)
        except cli.RunElsewhere:
            pass
    return _forked(linux, argv, input)


def _in_caller(linux, argv, input):
    """cli.main in this process, with files in memory as fds 0, 1 and 2 while it runs
    (the container's init inherits them; memory, not pipes, so no one needs to read them
    meanwhile), then the caller's own put back. While it runs, its signal handlers are
    the runtime's: SIGINT, SIGTERM... go to the container's init, as `demo-runtime run`
    passes them on. RunElsewhere: nothing done."""
    saved, files = [], []
    streams = (cli.sys.stdin, cli.sys.stdout, cli.sys.stderr)
    # SIGCHLD held pending until the runtime has reaped its children here: the init execs,
    # so it exits with SIGCHLD, and a handler of the caller's that reaps any child would
    # take its status first. Then that handler runs, and finds nothing of ours.
    blocked = linux.block_signals((signal.SIGCHLD,))
    try:
        for fd in (0, 1, 2):
            try:
                saved.append(linux.dup(fd))
            except OSError:  # the caller closed it: a fork can still have its own
                raise cli.RunElsewhere from None
        files = [linux.anonymous_file(name) for name in ("stdin", "stdout", "stderr")]
        linux.overwrite(files[0], input or b"")
        for stream in streams[1:]:  # what the caller wrote so far goes where it was going
            if stream is not None:
                stream.flush()
        for fd, target in zip(files, (0, 1, 2)):
            linux.dup2(fd, target)
        try:
            _use_stdio()
            try:
                code = cli.main(list(argv), in_caller=True)
            finally:
                cli.sys.stdout.flush()
                cli.sys.stderr.flush()
        finally:
            cli.sys.stdin, cli.sys.stdout, cli.sys.stderr = streams
            for target, fd in enumerate(saved):
                linux.dup2(fd, target)
        text = [linux.pread(fd, linux.fstat(fd).st_size, 0).decode(errors="replace") for fd in files[1:]]
        return Result(code, *text)
    finally:
        for fd in files + saved:
            linux.close(fd)
        linux.unblock_signals(blocked)


def _forked(linux, argv, input):
    """cli.main in a forked child (start), its stdio on pipes."""
    in_read, in_write = linux.pipe()
    out_read, out_write = linux.pipe()
    err_read, err_write = linux.pipe()
    pid = start(argv, (in_read, out_write, err_write), close=(in_write, out_read, err_read))
    for fd in (in_read, out_write, err_write):
        linux.close(fd)
    output = {out_read: [], err_read: []}
    pending = memoryview(input or b"")
    writing = [in_write] if pending else []
    if not pending:
        linux.close(in_write)
    reading = [out_read, err_read]
    while reading or writing:
        readable, writable = linux.wait_ready(reading, writing)
        for fd in readable:
            chunk = linux.read(fd, 65536)
            if chunk:
                output[fd].append(chunk)
            else:
                reading.remove(fd)
                linux.close(fd)
        if writable:
            try:
                pending = pending[linux.write(in_write, pending[:65536]) :]
            except BrokenPipeError:
                pending = pending[:0]
            if not pending:
                writing.clear()
                linux.close(in_write)
    status = os.waitstatus_to_exitcode(linux.waitpid(pid, WALL)[1])
    text = [b"".join(output[fd]).decode(errors="replace") for fd in (out_read, err_read)]
    return Result(128 - status if status < 0 else status, *text)


def run(image, command=(), input=b"", **options):
    """Run a container to completion (`demo-runtime run -T`); its Result. image: a path,
    or an Image."""
    return invoke(["run", "-T", *arguments(options), os.fspath(image), *command], input)


class Image:
    """An ext4 image kept attached and mounted read-only by this process, so that the
    starts of it share what the first one would otherwise make and undo each time its
    last container ends: the loop device, the filesystem's superblock and its caches.
    Each container still gets a writable layer of its own (an overlay on a tmpfs), as
    without it. Pass it (or its path) to run() or Container.

    Held until close() or the with block's end, or until this process ends however it
    ends (SIGKILL included): the descriptors close, then the mount and the loop device
    free themselves once no container uses them. While it is held, the image cannot be
    run --rw (it is in use), as with any container of it running; nor until the kernel
    has freed the loop device after close(), which it does asynchronously."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._ctx = Context(self.path, [], SimpleNamespace(rw=False), Linux())
        self._loop = MountImage()
        try:
            self._loop.prepare(self._ctx)
            self._mount = self._loop.hold(self._ctx)
        except BaseException:
            self._loop.teardown(self._ctx)
            raise
        self.device = self._loop.loop_device  # e.g. for losetup

    def __fspath__(self):
        return self.path

    def close(self):
        if self._mount is not None:
            self._ctx.linux.close(self._mount)
            self._mount = None
            self._loop.teardown(self._ctx)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _checked(result):
    """A Result of one of the runtime's own commands, or its error as ContainerError."""
    if result.status != 0:
        lines = result.stderr.strip().splitlines()
        raise ContainerError(result.status, lines[-1].removeprefix("demo-runtime: ") if lines else f"exit {result.status}")
    return result


class Container:
    """A detached container: start(), exec(), stop(), remove(); a context manager that
    starts it on entry and removes it (killing it if it runs) on exit."""

    def __init__(self, image, command=IDLE, name=None, **options):
        self.image = os.fspath(image)
        self.command = tuple(command)
        self.name = name
        self.options = options

    def start(self):
        named = ["--name", self.name] if self.name else []
        result = _checked(invoke(["run", "-d", *named, *arguments(self.options), self.image, *self.command]))
        self.name = result.stdout.strip()
        return self

    def exec(self, *command, input=b"", **options):
        """Run a command in it (`demo-runtime exec -T`); its Result."""
        return invoke(["exec", "-T", *arguments(options), self.name, *command], input)

    def stop(self, timeout=10):
        _checked(invoke(["stop", "-t", str(timeout), self.name]))

    def kill(self, signal="KILL"):
        _checked(invoke(["kill", "-s", str(signal), self.name]))

    def remove(self, force=True):
        _checked(invoke(["rm", *(["-f"] if force else []), self.name]))

    def inspect(self):
        import json

        return json.loads(_checked(invoke(["inspect", self.name])).stdout)[0]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.remove()
