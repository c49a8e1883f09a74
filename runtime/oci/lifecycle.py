"""The operations of runtime.md that need the plugins: create, delete, run and exec
(start and kill: runtime.oci.running).

create: the bundle's Plan, the ID claimed under --root (an exec fifo in its directory),
  the plugins' prepare/clone/setup as for `demo-runtime run` (runtime.container.create),
  with the create hooks before pivot_root (runtime.oci.create_hooks), and the init left
  at its gate: the command checked, its setup reported done, its
  parent-death signal cleared, blocked opening the fifo for writing. The pid file is
  written, the cgroup's teardown state saved, and create exits: the init is the
  caller's (its subreaper's) from then on.
delete: kills what still runs, runs the saved teardowns, removes the directory, then
  the poststop hooks.
"""

import os

from .. import errors, jsontext
from .. import plugins as builtin_plugins
from ..cli import CORE_OPTIONS, parse, require_root
from ..container import DEFAULT_PATH, FORWARDED, _teardown
from ..container import create as create_init
from ..errors import ContainerError
from ..linux import SIGKILL, Linux
from ..plugin import Context, Plugin
from ..state import State, process_start_time, write_pid_file
from . import bundle as bundles
from .create_hooks import CREATE_HOOKS, CreateHooks
from .hooks import run_hooks
from .record import FIFO, Record, check_id, rfc3339
from .running import open_init, start


def default_options():
    """Every plugin option at its default, as an empty `demo-runtime run` command line."""
    table = CORE_OPTIONS + tuple(o for cls in builtin_plugins.ORDER for o in cls.options)
    return parse([], table)[0]


class _Gate:
    """The init's last step before exec (ctx.gate): once `start` opens the fifo, the
    startContainer hooks, then through."""

    def __init__(self, linux, fifo, hooks, state):
        self.linux = linux
        self.fd = linux.open(fifo, os.O_PATH | os.O_CLOEXEC)  # reopened by the init, after pivot_root
        self.hooks = hooks  # the config's, of which the init runs startContainer's
        self.state = state  # the spec's state, for them

    def __call__(self, ctx, env, report_write):
        linux = ctx.linux
        _check_command(linux, ctx.command[0], env.get("PATH", DEFAULT_PATH))
        linux.set_parent_death_signal(0)  # from here on the init outlives create
        linux.close(report_write)  # EOF: create sees the setup done
        fifo = linux.open(f"/proc/self/fd/{self.fd}", os.O_WRONLY | os.O_CLOEXEC)  # blocks until start
        # In the container, as its user, paths resolved in its root; start waits for the
        # byte below, so poststart comes after them. The pid is as the init sees itself, as
        # runc gives it. A failure ends the init (its message on the container's stderr).
        run_hooks(linux, self.hooks, "startContainer", dict(self.state, pid=linux.getpid(), status="created"))
        linux.write(fifo, b"0")
        # Left open: close-on-exec, it closes at the exec (or the init's end), the EOF
        # `start` waits for, so that once start returns the process is the program.
        return None

    def close(self):
        self.linux.close(self.fd)


def _check_command(linux, name, path):
    """As runc does before waiting: a command not in the container fails create, not start."""
    candidates = [name] if "/" in name else [f"{d}/{name}" for d in path.split(":") if d]
    for candidate in candidates:
        try:
            linux.stat(candidate)
            return
        except OSError:
            continue
    # runc's words, which podman looks for to say 127 and why.
    why = f"stat {name}: no such file or directory" if "/" in name else "executable file not found in $PATH"
    raise ContainerError(errors.COMMAND_NOT_FOUND, f'exec: "{name}": {why}')


class _InitRecord(Plugin):
    """Records, for a create killed midway (SIGKILL), what delete needs: the teardowns
    once every other plugin is prepared (their state is made in prepare(), as for the
    janitor), and the init's pid as soon as it exists."""

    name = "oci-record"

    def __init__(self, record, plugins):
        self.record = record
        self.plugins = plugins  # those whose teardown must outlive us

    def prepare(self, ctx):
        self.record.save_teardown(self.plugins)

    def setup_parent(self, ctx):
        state = self.record.state
        with state.lock():
            state.update(pid=ctx.pid, pid_start=process_start_time(ctx.pid))


def create(root, bundle, container_id, pid_file=None, console_socket=None):
    """The create operation; returns the init's pid (a child of ours until we exit)."""
    check_id(container_id)
    linux = Linux()
    plan = bundles.plan(bundle, bundles.read_config(linux, bundle), default_options(), linux)
    _check_terminal(plan, console_socket)
    require_root(linux)
    try:
        chosen = builtin_plugins.select(plan.options)
    except builtin_plugins.PluginError as e:
        raise ContainerError(errors.OCI_UNSUPPORTED, f"config.json: {e}") from None
    console = None
    if plan.terminal:
        from .console import ConsoleSocket

        console = ConsoleSocket(linux, console_socket, plan.console_size)
    data = {
        "image": plan.options.rootfs,
        "command": plan.command,
        "status": "creating",
        "bundle": plan.bundle,
        "annotations": plan.annotations,
        "created": rfc3339(_now()),
        "options": vars(plan.options),
        "hooks": plan.hooks,
        "process": plan.process,  # exec's defaults, as runc takes them
    }
    try:
        state, alive = State.create(container_id, data, root, linux)
    except ContainerError as e:
        if console:
            console.close()
        if e.code == errors.NAME_IN_USE:
            raise ContainerError(errors.NAME_IN_USE, f"container with id {container_id!r} exists already") from None
        raise
    linux.set_umask(plan.umask)  # the init's, inherited through clone
    if plan.seccomp is not None:
        plan.options.seccomp = f"{state.path}/seccomp.json"
        linux.replace_file(plan.options.seccomp, jsontext.dumps(plan.seccomp).encode())
        with state.lock():
            state.update(options=vars(plan.options))
    gate = None
    claimed = Record(state, data)
    creating = claimed.spec_state("creating")  # the hooks' state until start
    instances = [cls() for cls in chosen]
    instances.append(_InitRecord(claimed, [p for p in instances if p.teardown_after_sigkill]))
    if any(plan.hooks.get(name) for name in CREATE_HOOKS):
        entering = next(i for i, p in enumerate(instances) if p.name == "clean-mounts")  # pivot_root
        instances.insert(entering, CreateHooks(plan.hooks, creating))
    ctx = Context(None, plan.command, plan.options, linux)
    ctx.env = dict(plan.env)
    ctx.console = console
    try:
        fifo = f"{state.path}/{FIFO}"
        linux.make_fifo(fifo, 0o622)  # a non-root init opens it for writing
        gate = ctx.gate = _Gate(linux, fifo, plan.hooks, creating)
        pid = create_init(ctx, instances)
        try:
            if pid_file:
                write_pid_file(pid_file, pid, linux)
            with state.lock():
                state.update(status="created")
        except BaseException:
            linux.kill(pid, SIGKILL)
            linux.waitpid(pid)
            _teardown(ctx, instances)
            raise
    except BaseException:
        with state.lock():
            state.remove()
        raise
    finally:
        alive.release()
        if gate:
            gate.close()
    return pid


def _check_terminal(plan, console_socket):
    if plan.terminal and not console_socket:
        raise ContainerError(errors.USAGE, "process.terminal needs --console-socket (where the pty master goes)")
    if console_socket and not plan.terminal:
        raise ContainerError(errors.USAGE, "--console-socket given, but process.terminal is false")


def _now():
    import time

    return time.time()


def delete(root, container_id, force=False, warn=print):
    linux = Linux()
    try:
        record = Record.find(root, container_id, linux)
    except ContainerError as e:
        if e.code == errors.NO_SUCH_CONTAINER and force:
            return  # as runc: nothing to delete is done
        raise
    with record.state.lock():
        record = Record.find(root, container_id, linux)
        status = record.status()
        if status in ("running", "creating") and not force:
            raise ContainerError(errors.WRONG_STATE, f"cannot delete container {container_id!r} that is not stopped: {status}")
        pidfd = open_init(linux, record)
        if pidfd is not None:  # a created one goes without --force, as in runc
            try:
                linux.pidfd_send_signal(pidfd, SIGKILL)
                linux.wait_readable([pidfd])  # readable once it has exited
            finally:
                linux.close(pidfd)
        ctx = Context(None, [], None, linux)
        failure = _teardown(ctx, record.load_teardown())
        record.state.remove()
    if failure:
        raise ContainerError(errors.RUNTIME_FAILURE, f"delete {container_id}: {failure}")
    try:
        run_hooks(linux, record.data.get("hooks", {}), "poststop", record.spec_state("stopped"))
    except ContainerError as e:  # the spec: a warning, and the lifecycle goes on
        warn(f"warning: {e}")


def run(root, bundle, container_id, pid_file=None, console_socket=None, detach=False, warn=print):
    """create + start; in the foreground, wait for the init and delete: its exit status."""
    pid = create(root, bundle, container_id, pid_file, console_socket)
    linux = Linux()
    previous = linux.set_signal_handlers({s: lambda signum, frame: linux.kill(pid, signum) for s in FORWARDED})
    try:
        try:
            start(root, container_id)
        except BaseException:
            delete(root, container_id, force=True)
            raise
        if detach:
            return 0
        status = linux.waitpid(pid)[1]
    finally:
        linux.set_signal_handlers(previous)
    delete(root, container_id, force=True, warn=warn)
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def execute(root, container_id, process=None, args=(), detach=False, pid_file=None, console_socket=None, **overrides):
    """exec: one more process in the container, from a process.json (or the container's
    own process with args and the overrides: cwd, env, user, tty). Its exit status, or
    0 once it runs with detach (it is then the caller's subreaper's)."""
    from types import SimpleNamespace

    from ..enter import Launch, _execute

    linux = Linux()
    record = Record.find(root, container_id, linux)
    status = record.status()
    if status not in ("created", "running"):
        raise ContainerError(errors.WRONG_STATE, f"cannot exec in a {status} container")
    spec = _exec_process(linux, record, process, args, overrides)
    options = SimpleNamespace(**record.data["options"])
    # What the process object sets starts from the defaults again, as for the init.
    defaults = default_options()
    for dest in bundles.PROCESS_OPTIONS:
        setattr(options, dest, getattr(defaults, dest))
    options.disable = [d for d in options.disable if d not in bundles.PROCESS_PLUGINS]
    plan = bundles.Plan(record.data["bundle"], options, linux)
    bundles.apply_process(spec, plan)
    _check_terminal(plan, console_socket)
    require_root(linux)
    console = None
    if plan.terminal:
        from .console import ConsoleSocket

        console = ConsoleSocket(linux, console_socket, plan.console_size)
    pidfd = open_init(linux, record)
    try:
        if pidfd is None:
            raise ContainerError(errors.WRONG_STATE, "cannot exec in a stopped container")
        linux.set_umask(plan.umask)
        init = {"pid": record.data["pid"], "image": None, "cwd": record.data["bundle"]}
        launch = Launch(environment=plan.env, console=console, pid_file=pid_file, detach=detach)
        try:
            return _execute(init, options, pidfd, plan.command, {}, False, linux, launch)
        except builtin_plugins.PluginError as e:
            raise ContainerError(errors.OCI_UNSUPPORTED, f"process: {e}") from None
    finally:
        if pidfd is not None:
            linux.close(pidfd)
        if console:
            console.close()


def _exec_process(linux, record, path, args, overrides):
    if path:
        try:
            spec = jsontext.loads(linux.read_bytes(path))
        except OSError as e:
            raise bundles.invalid(f"cannot read the process file {path}: {e.strerror}") from None
        except ValueError as e:
            raise bundles.invalid(f"the process file {path} is not JSON: {e}") from None
        if not isinstance(spec, dict):
            raise bundles.invalid(f"the process file {path} is not a JSON object")
        return spec
    if not args:
        raise ContainerError(errors.USAGE, "exec needs --process FILE or a command")
    spec = dict(record.data["process"], args=list(args), terminal=overrides.get("tty", False))
    if overrides.get("cwd"):
        spec["cwd"] = overrides["cwd"]
    spec["env"] = list(spec.get("env", [])) + list(overrides.get("env") or ())
    if overrides.get("user"):
        uid, _, gid = overrides["user"].partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise ContainerError(errors.USAGE, f"--user {overrides['user']!r}: UID[:GID], numbers")
        spec["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    return spec
