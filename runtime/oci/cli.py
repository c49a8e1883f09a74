"""demo-runtime-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS: runc's command line.

Global options come before the command, as runc takes them. Every error is one line
on stderr and, with --log, a line in the log file in runc's form (--log-format json:
{"level":"error","msg":...,"time":...}, the line podman shows its user).
"""

import os
import sys
import time

from .. import __version__, errors, jsontext
from ..cli import UsageError, parse, stderr_a_line_a_write
from ..commands import signal_number
from ..errors import ContainerError
from ..plugin import Option
from . import PROG, SPEC_VERSION
from .record import ROOT

GLOBAL = (
    Option("--root", "DIR", f"where container state lives (default {ROOT})", default=ROOT),
    Option("--log", "FILE", "also write errors to FILE"),
    Option("--log-format", "text|json", "the --log format (default text)", default="text"),
    Option("--debug", None, "a Python traceback for internal errors"),
    Option("--systemd-cgroup", None, "refused: cgroups are made by the runtime itself (cgroupfs)"),
    Option("--version", None, "the version and the runtime spec's", short="-v"),
    Option("--help", None, "this help", short="-h"),
)
_BUNDLE = Option("--bundle", "DIR", "the bundle (default: the current directory)", short="-b", default=".")
_PID_FILE = Option("--pid-file", "FILE", "write the init's host pid to FILE")
_CONSOLE = Option("--console-socket", "PATH", "a unix socket to send the pty master to (process.terminal)")
_NO_PIVOT = Option("--no-pivot", None, "refused: the root is always entered with pivot_root")
_NO_KEYRING = Option("--no-new-keyring", None, "accepted: no session keyring is ever made")
_FORMAT = Option("--format", "table|json", "the output's format", short="-f", default="table")
_QUIET = Option("--quiet", None, "only the IDs", short="-q")
_FORCE = Option("--force", None, "kill it first if it runs", short="-f")
_ALL = Option("--all", None, "every process of the container; no error if it is stopped", short="-a")
_DETACH = Option("--detach", None, "return once it runs", short="-d")
_EXEC = (
    Option("--process", "FILE", "the process to run, as a process.json (the spec's process object)", short="-p"),
    _DETACH,
    _PID_FILE,
    _CONSOLE,
    Option("--tty", None, "a terminal (with a command, not --process)", short="-t"),
    Option("--cwd", "DIR", "its working directory (with a command)"),
    Option("--env", "KEY=VALUE", "one more variable (with a command; repeatable)", short="-e", repeat=True),
    Option("--user", "UID[:GID]", "its user (with a command)", short="-u"),
)


def _version(options, args):
    print(f"{PROG} version {__version__}\nspec: {SPEC_VERSION}")
    return 0


def _create(options, args):
    from .lifecycle import create

    _refuse_no_pivot(options)
    create(options.root, options.bundle, args[0], options.pid_file, options.console_socket)
    return 0


def _run(options, args):
    from .lifecycle import run

    _refuse_no_pivot(options)
    return run(options.root, options.bundle, args[0], options.pid_file, options.console_socket, options.detach, warn=_warn)


def _refuse_no_pivot(options):
    if options.no_pivot:
        raise UsageError("--no-pivot is not supported: the root is always entered with pivot_root")


def _exec(options, args):
    from .lifecycle import execute

    if options.process and args[1:]:
        raise UsageError("exec takes --process FILE or a command, not both")
    overrides = {"tty": options.tty, "cwd": options.cwd, "env": options.env, "user": options.user}
    return execute(options.root, args[0], options.process, args[1:], options.detach, options.pid_file, options.console_socket, **overrides)


def _start(options, args):
    from .running import start

    start(options.root, args[0])
    return 0


def _kill(options, args):
    from .running import kill

    kill(options.root, args[0], signal_number(args[1] if len(args) > 1 else "TERM"), options.all)
    return 0


def _delete(options, args):
    from .lifecycle import delete

    delete(options.root, args[0], options.force, warn=_warn)
    return 0


def _state(options, args):
    from .record import Record

    print(jsontext.dumps(Record.find(options.root, args[0]).spec_state(), indent=2))
    return 0


def _list(options, args):
    from .record import Record

    states = [r.spec_state() for r in Record.all(options.root)]
    if options.quiet:
        print("".join(f"{s['id']}\n" for s in states), end="")
    elif options.format == "json":
        print(jsontext.dumps(states))
    elif options.format == "table":
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]) for s in states]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            print("   ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "   " + row[5])
    else:
        raise UsageError(f"--format {options.format!r}: table or json")
    return 0


def _features(options, args):
    from .features import features

    print(jsontext.dumps(features(), indent=4))
    return 0


def _spec(options, args):
    from ..linux import Linux
    from .spec import default_config

    linux = Linux()
    path = os.path.join(options.bundle, "config.json")
    try:
        fd = linux.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise ContainerError(errors.USAGE, f"{path} exists already") from None
    try:
        linux.write_all(fd, jsontext.dumps(default_config(), indent="\t").encode())
    finally:
        linux.close(fd)
    return 0


# name -> (function, options, positional arguments: (at least, at most), usage, summary)
COMMANDS = {
    "create": (_create, (_BUNDLE, _PID_FILE, _CONSOLE, _NO_PIVOT, _NO_KEYRING), (1, 1), "create [OPTIONS] ID",
               "create the container of the bundle; its process waits for `start`"),
    "start": (_start, (), (1, 1), "start ID", "run the created container's process"),
    "run": (_run, (_BUNDLE, _PID_FILE, _CONSOLE, _NO_PIVOT, _NO_KEYRING, _DETACH), (1, 1), "run [OPTIONS] ID",
            "create and start; without --detach, wait for the process and delete: its exit status"),
    "exec": (_exec, _EXEC, (1, 1 << 16), "exec [OPTIONS] ID [COMMAND...]",
             "run one more process in the container: its exit status (--detach: once it runs)"),
    "state": (_state, (), (1, 1), "state ID", "the container's state, as JSON (the runtime spec's)"),
    "kill": (_kill, (_ALL,), (1, 2), "kill [--all] ID [SIGNAL]", "send a signal (default SIGTERM) to the container's process"),
    "delete": (_delete, (_FORCE,), (1, 1), "delete [--force] ID", "delete a stopped container (--force: any)"),
    "list": (_list, (_FORMAT, _QUIET), (0, 0), "list [--format table|json] [--quiet]", "the containers under --root"),
    "features": (_features, (), (0, 0), "features", "what this runtime honours, as JSON (the runtime spec's features.md)"),
    "spec": (_spec, (_BUNDLE,), (0, 0), "spec [--bundle DIR]", "write the spec's default config.json into the bundle"),
}  # fmt: skip


def _help():
    lines = [f"usage: {PROG} [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS", "", "commands:"]
    lines += [f"  {usage:<40} {summary}" for _, _, _, usage, summary in COMMANDS.values()]
    lines += ["", "global options:"]
    lines += [f"  {(o.short + ', ' if o.short else '') + o.flag + (' ' + o.metavar if o.metavar else ''):<28} {o.help}" for o in GLOBAL]
    lines += ["", "exit status: 0, or run's: the process's (128+N for signal N); else as demo-runtime's (README):"]
    lines += [f"  {code:<4} {meaning}" for code, meaning in errors.EXIT_CODES]
    return "\n".join(lines)


def _dispatch(options, argv):
    if options.version:
        return _version(options, [])
    if options.help or not argv:
        print(_help())
        return 0 if options.help else errors.USAGE
    if options.systemd_cgroup:
        raise UsageError("--systemd-cgroup is not supported: the runtime makes its cgroups itself (cgroupfs)")
    if options.log_format not in ("text", "json"):
        raise UsageError(f"--log-format {options.log_format!r}: text or json")
    entry = COMMANDS.get(argv[0])
    if entry is None:
        raise UsageError(f"unknown command {argv[0]!r}")
    function, table, (least, most), usage, summary = entry
    command_options, args = parse(argv[1:], (*table, GLOBAL[-1]))
    if command_options.help:
        print(f"usage: {PROG} {usage}\n\n{summary}")
        return 0
    if not least <= len(args) <= most:
        raise UsageError(f"usage: {PROG} {usage}")
    for key, value in vars(command_options).items():
        setattr(options, key, value)
    return function(options, args)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    options = None
    try:
        options, rest = parse(argv, GLOBAL)
        return _dispatch(options, rest)
    except UsageError as e:
        _error(options, str(e))
        return errors.USAGE
    except ContainerError as e:
        _error(options, str(e))
        return e.code
    except KeyboardInterrupt:
        return 128 + 2
    except Exception as e:
        if options is None or options.debug:
            import traceback

            traceback.print_exc()
        _error(options, f"internal error: {type(e).__name__}: {e}")
        return errors.RUNTIME_FAILURE


def _warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def _error(options, message):
    """One line on stderr; with --log, one more in the log, in runc's (logrus's) form."""
    print(f"{PROG}: {message}", file=sys.stderr)
    if options is None or not options.log:
        return
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if options.log_format == "json":
        line = jsontext.dumps({"level": "error", "msg": message, "time": now})
    else:
        line = f'time="{now}" level=error msg={jsontext.dumps(message)}'
    from ..linux import Linux

    try:
        Linux().append(options.log, (line + "\n").encode())
    except OSError as e:
        print(f"{PROG}: cannot write the log {options.log}: {e.strerror}", file=sys.stderr)


def entry_point():
    stderr_a_line_a_write()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
