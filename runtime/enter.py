"""exec: run a command in a running container, hardened exactly as its init was.

  parent (exec)   forks the joiner, relays the terminal (-t), returns the exit status
  joiner          prepares the process plugins from its recorded options
                  (the same seccomp program, from the same cache), joins PID 1's cgroups
                  then, with one setns() on its pidfd, every namespace in which PID 1
                  differs from us (one fd per namespace before Linux 5.8); forks:
  command         is then in the container's PID namespace: the same process plugins'
                  setup_child as the init (no_new_privs, seccomp, capabilities, then user
                  and working directory), its terminal, exec with the init's environment
                  plus -e.

Both children die with their parent (PR_SET_PDEATHSIG) and everything in the container
dies with its PID 1.
"""

import errno
import os
from types import SimpleNamespace

import _signal as signal

from . import plugins
from .cli import CORE_OPTIONS, HELP, UsageError, _want_tty, parse, parse_env, require_root, subcommand_help
from .commands import running_init
from .container import FORWARDED, UNBLOCKED_AT_EXEC, _read_all, exec_failure, report_and_exit, setup_failure
from .errors import ContainerError
from .plugins.cgroup.hierarchy import move_self, unified_cgroup
from .linux import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    Linux,
)
from .plugin import Context
from .plugins.cgroup.hierarchy import hierarchies
from .plugins.process import Process
from .state import write_pid_file

USAGE = "exec [-t] [-e KEY=VALUE] [-u USER] [-w DIR] NAME COMMAND [ARGS...]"
# The run options that mean the same for exec (--user and --workdir default to run's).
OPTIONS = tuple(o for o in CORE_OPTIONS if o.dest in ("env", "tty", "no_tty")) + tuple(
    o for o in Process.options if o.dest in ("user", "workdir")
)
# The plugins whose setup_child shapes the init's process rather than its container:
# they shape an exec'd process the same way (limits, no_new_privs, seccomp, capabilities, user).
PROCESS_PLUGINS = ("rlimits", "no-new-privs", "seccomp", "caps", "process")
# In the order they are joined: the user namespace first, for the rights to join the rest.
NAMESPACES = (
    ("user", CLONE_NEWUSER),
    ("mnt", CLONE_NEWNS),
    ("uts", CLONE_NEWUTS),
    ("ipc", CLONE_NEWIPC),
    ("net", CLONE_NEWNET),
    ("pid", CLONE_NEWPID),
    ("cgroup", CLONE_NEWCGROUP),
    ("time", CLONE_NEWTIME),
)


def exec_command(argv):
    options, positional = parse(argv, (HELP, *OPTIONS))
    if options.help:
        print(subcommand_help(USAGE, "Run COMMAND in the running container NAME, with its init's process_plugins.", OPTIONS))
        return 0
    if len(positional) < 2:
        raise UsageError(f"missing {'COMMAND' if positional else 'NAME'} (usage: demo-runtime {USAGE})")
    linux = Linux()
    tty = _want_tty(linux, options)
    env = parse_env(options.env, tty)
    require_root(linux)
    return execute(positional[0], positional[1:], env=env, user=options.user, workdir=options.workdir, tty=tty, linux=linux)


def execute(name, command, env=None, user=None, workdir=None, tty=False, linux=None):
    """Run command in container `name` to its end; returns its exit status (as run's)."""
    linux = linux or Linux()
    _, record, pidfd = running_init(name, linux)
    try:
        options = SimpleNamespace(**record["options"])
        options.user = user or getattr(options, "user", None)
        options.workdir = workdir or getattr(options, "workdir", None)
        return _execute(record, options, pidfd, command, env or {}, tty, linux)
    finally:
        linux.close(pidfd)


def _execute(record, options, pidfd, command, extra_env, tty, linux, launch=None):
    """launch (OCI exec): its environment is the command's whole one; a console of its
    own (the pty master to a console socket) instead of -t's relay; a pid file; detach."""
    launch = launch or Launch()
    pid = record["pid"]
    ctx = Context(record["image"], command, options, linux, tty=tty)
    ctx.env = dict(launch.environment) if launch.environment is not None else _environment(linux, pid)
    ctx.env.update(extra_env)
    process_plugins = [cls() for cls in plugins.select(options) if cls.name in PROCESS_PLUGINS]
    joins = [(ns, flag) for ns, flag in NAMESPACES if _namespace(linux, pid, ns) != _namespace(linux, "self", ns)]
    cgroups = [(h, f"{h.mount}{h.own.rstrip('/')}") for h in _hierarchies(linux, pid)]
    # The joiner is born in the container's v2 cgroup (clone3 CLONE_INTO_CGROUP): moving a
    # process there would wait for an RCU grace period (cgroup.procs takes the
    # threadgroup rwsem's write side), ~9 ms an exec here.
    unified = next((path for h, path in cgroups if h.version == 2), None)
    report_read, report_write = linux.pipe()
    # The joiner says the command's host pid here: the pid file is a host path, which
    # the joiner, in the container's mount namespace, cannot reach.
    pid_read, pid_write = linux.pipe() if launch.pid_file else (None, None)
    console, relay = launch.console, False
    if tty and console is None:
        from .console import Console

        console, relay = Console(linux), True
    previous = {}
    cgroup = linux.open_directory(unified) if unified else None
    # Unblocked after, but for those the caller had blocked (the API's exec runs in its caller).
    blocked = linux.block_signals(FORWARDED)
    try:
        joiner = linux.clone(0, cgroup=cgroup)
        if joiner == 0:
            _joiner(ctx, record, pidfd, joins, cgroups, process_plugins, report_write, console, launch, pid_write)
        previous = linux.set_signal_handlers({s: lambda signum, frame: linux.kill(joiner, signum) for s in FORWARDED})
    finally:
        linux.unblock_signals(blocked)
        if cgroup is not None:
            linux.close(cgroup)
    linux.close(report_write)
    reaped = False
    try:
        command_pid = None
        if pid_write is not None:
            linux.close(pid_write)
            command_pid = _read_all(linux, pid_read)
        if console:
            console.receive()
        failure = _read_all(linux, report_read)
        if failure:
            linux.waitpid(joiner)
            reaped = True
            code, _, message = failure.partition("\n")
            raise ContainerError(int(code), message)
        if command_pid:
            try:
                write_pid_file(launch.pid_file, command_pid, linux)
            except ContainerError:
                linux.kill(int(command_pid), signal.SIGKILL)
                raise
        if launch.detach:  # the joiner has left; the command is the subreaper's
            linux.waitpid(joiner)
            reaped = True
            return 0
        status = console.relay(joiner) if relay else linux.waitpid(joiner)[1]
        reaped = True
        return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    finally:
        if not reaped:  # an error on the way: no joiner left (the API's caller keeps no zombie)
            linux.kill(joiner, signal.SIGKILL)
            linux.waitpid(joiner)
        linux.close(report_read)
        if pid_read is not None:
            linux.close(pid_read)
        if console:
            console.close()
        linux.set_signal_handlers(previous)


class Launch:
    """How an exec's command is started, beyond run's defaults (OCI exec sets these)."""

    def __init__(self, environment=None, console=None, pid_file=None, detach=False):
        self.environment = environment  # the command's whole environment, not PID 1's
        self.console = console  # e.g. runtime.oci.console.ConsoleSocket
        self.pid_file = pid_file  # the command's host pid, written atomically
        self.detach = detach  # return once it runs; it outlives us (no parent-death signal)


def _joiner(ctx, record, pidfd, joins, cgroups, process_plugins, report_write, console, launch, pid_write=None):
    """The first child: join the container, fork the command, pass on its status (with
    launch.detach: leave it to the caller's subreaper). Never returns."""
    linux = ctx.linux
    try:
        linux.set_parent_death_signal(signal.SIGKILL)
        linux.setpgid(0, 0)  # terminal signals reach only the exec command, which forwards them
        linux.chdir(record["cwd"])  # where run was started: relative option paths mean the same
        for plugin in process_plugins:
            plugin.prepare(ctx)
        born = unified_cgroup(linux, "self")
        for hierarchy, path in cgroups:
            if hierarchy.version == 1 or hierarchy.own != born:  # v1, or a kernel before 5.7 (no clone3)
                move_self(linux, path)
        _join(linux, record["pid"], pidfd, joins)
        if any(ns == "user" for ns, _ in joins):
            linux.become_root()
        command = linux.fork()  # the first process of ours in the container's PID namespace
        if command == 0:
            _command(ctx, process_plugins, report_write, console, launch.detach)
        if pid_write is not None:
            linux.write(pid_write, str(command).encode())
            linux.close(pid_write)
        linux.close(report_write)
        if launch.detach:
            linux.exit_now(0)
        if console:
            console.close()  # the parent sees EOF if the command fails before it sends its pty
        linux.set_signal_handlers({s: lambda signum, frame: linux.kill(command, signum) for s in FORWARDED})
        linux.unblock_signals(FORWARDED)
        status = linux.waitpid(command)[1]
        code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    except BaseException as e:  # never return into the parent's stack
        report_and_exit(linux, report_write, *setup_failure(ctx, e))
    linux.exit_now(code)


def _join(linux, pid, pidfd, joins):
    flags = 0
    for _, flag in joins:
        flags |= flag
    try:
        linux.setns(pidfd, flags)  # all at once, atomically (Linux >= 5.8)
        return
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
    fds = [(linux.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC), flag) for ns, flag in joins]
    try:
        for fd, flag in fds:
            linux.setns(fd, flag)
    finally:
        for fd, _ in fds:
            linux.close(fd)


def _command(ctx, process_plugins, report_write, console, detach=False):
    """The exec'd command, in the container: the init's lock-down, then exec. Never returns."""
    try:
        if not detach:
            ctx.linux.set_parent_death_signal(signal.SIGKILL)
        ctx.linux.make_undumpable()  # visible in the container's PID namespace from here on
        ctx.linux.set_signal_handlers({s: signal.SIG_DFL for s in FORWARDED})
        for plugin in process_plugins:
            plugin.setup_child(ctx)
        if console:
            console.attach()
        else:
            ctx.linux.setsid()  # as the init: no controlling terminal of the caller's to TIOCSTI into
        ctx.linux.close_on_exec_from(3)
        ctx.linux.unblock_signals(UNBLOCKED_AT_EXEC)
        code, message = exec_failure(ctx, ctx.env)
    except BaseException as e:
        code, message = setup_failure(ctx, e)
    report_and_exit(ctx.linux, report_write, code, message)


def _namespace(linux, pid, ns):
    try:
        return linux.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except FileNotFoundError:  # a kernel without that kind of namespace
        return None


def _environment(linux, pid):
    """PID 1's environment as it was given at its exec."""
    raw = linux.read_file(f"/proc/{pid}/environ", 1 << 20) or ""
    env = {}
    for item in raw.split("\0"):
        key, has_value, value = item.partition("=")
        if key and has_value:
            env[key] = value
    return env


def _hierarchies(linux, pid):
    return hierarchies(linux.read_file(f"/proc/{pid}/cgroup", 65536) or "", linux.read_file("/proc/self/mountinfo", 1 << 20) or "")
