"""demo-runtime COMMAND ...: `run` (the default), and the subcommands of COMMANDS.

The command line is parsed by a small table-driven parser rather than argparse:
argparse (with re, enum and gettext) costs about as much as a whole container start.
"""

import gc
import os
import sys
from types import SimpleNamespace

from . import __version__, errors
from .errors import ContainerError, Interrupted
from .plugin import Option

PROG = "demo-runtime"
DEFAULT_COMMAND = ["/bin/sh"]

CORE_OPTIONS = (
    Option("--help", None, "show this help and exit", short="-h"),
    Option("--version", None, "show the version and exit"),
    Option("--list-plugins", None, "list the plugins in the order they run, and exit"),
    Option("--disable", "PLUGIN", "turn a plugin off (repeatable, or comma-separated)", repeat=True),
    Option("--plugin", "PLUGIN", "turn on an opt-in or third-party plugin (repeatable)", repeat=True),
    Option("--explain", None, "as the container starts, say on stderr what each plugin did, in kernel terms"),
    Option("--env", "KEY=VALUE", "set an environment variable in the container (repeatable)", short="-e", repeat=True),
    Option("--tty", None, "give the container a terminal (default: when stdin and stdout are one)", short="-t"),
    Option("--no-tty", None, "never give the container a terminal", short="-T"),
    Option("--privileged", None, "turn all hardening off (caps, seccomp, no_new_privs, masked paths, nodev): for learning"),
    Option("--debug", None, "show a Python traceback for internal errors"),
    Option("--detach", None, "run in the background under a supervisor; print the name (output: `logs`)", short="-d"),
    Option("--name", "NAME", "name the container (for exec, ps, stop, rm...); -d makes one up if not given"),
    Option("--rm", None, "remove the container's record when it exits (a named or detached one)"),
)


# Subcommands: name -> (module in runtime/, function, summary). A module is imported only
# when its command runs, so `run` pays for none of the others; a subcommand joins with
# one line here. The function takes the arguments after the name and returns the exit
# status. A first word that is no subcommand is run's: the seed's `demo-runtime IMAGE`.
COMMANDS = {
    "run": ("cli", "run_command", "run a command in a new container (the default: `demo-runtime IMAGE` is `run IMAGE`)"),
    "compare": ("compare", "main", "compare [--diff] CHANGE... IMAGE COMMAND: run it with the defaults and with CHANGE, side by side"),
    "image": ("images.command", "main", "image import FILE [-o IMAGE.img]: a docker-archive or OCI image into an ext4 image"),
    "exec": ("enter", "exec_command", "run a command in a running container, hardened as its init"),
    "ps": ("commands", "ps", "list containers"),
    "logs": ("commands", "logs", "print a detached container's output"),
    "stop": ("commands", "stop", "stop containers (SIGTERM, then SIGKILL)"),
    "kill": ("commands", "kill", "send a signal to containers"),
    "rm": ("commands", "rm", "remove containers"),
    "inspect": ("commands", "inspect", "what the runtime knows about containers, as JSON"),
}
HELP = CORE_OPTIONS[0]


class UsageError(Exception):
    pass


class UnknownOption(UsageError):
    pass


class RunElsewhere(BaseException):
    """main(argv, in_caller=True) was asked to run what must not run in its caller (a
    command other than run and exec, a detached or named container, a plugin that changes
    the runtime's process): nothing was done; run it in a process of its own. (Not an
    Exception: main reports those.)"""


def parse(argv, table):
    """Options (before IMAGE) into a namespace, plus the positional arguments."""
    by_flag = {}
    values = {}
    for option in table:
        by_flag[option.flag] = option
        if option.short:
            by_flag[option.short] = option
        values[option.dest] = list(option.default) if option.repeat else option.default
        if option.metavar is None:
            values[option.dest] = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            flag, has_value, value = arg.partition("=")
        else:
            flag, value = arg[:2], arg[2:]
            has_value = bool(value)
        option = by_flag.get(flag)
        if option is None:
            raise UnknownOption(f"unknown option {flag}")
        if option.metavar is None:
            if has_value:
                raise UsageError(f"option {flag} takes no value")
            values[option.dest] = True
        else:
            if not has_value:
                i += 1
                if i == len(argv):
                    raise UsageError(f"option {flag} needs a value: {option.metavar}")
                value = argv[i]
            if option.repeat:
                values[option.dest].append(value)
            else:
                values[option.dest] = value
        i += 1
    return SimpleNamespace(**values), argv[i:]


def option_rows(options):
    for o in options:
        names = ", ".join(filter(None, (o.short, o.flag + (f" {o.metavar}" if o.metavar else ""))))
        yield f"  {names:<28} {o.help}"


def subcommand_help(usage, summary, options):
    """A subcommand's --help: its usage line, what it does, its options."""
    return "\n".join([f"usage: {PROG} {usage}", "", summary, "", "options:", *option_rows((HELP, *options))])


def help_text(plugin_classes):
    from .plugins import BUILTIN

    lines = [
        f"usage: {PROG} [run] [OPTIONS] IMAGE [COMMAND [ARGS...]]",
        f"       {PROG} COMMAND [OPTIONS] ...   ({PROG} COMMAND --help for its options)",
        "",
        "Run COMMAND (default /bin/sh) as PID 1 of a container made from the ext4 IMAGE.",
        "The image is not modified unless --rw is given. Options go before IMAGE.",
        "",
        "commands:",
        *(f"  {name:<28} {summary}" for name, (_, _, summary) in COMMANDS.items()),
        "",
        "options of run:",
        *option_rows(CORE_OPTIONS),
    ]
    listed = set()
    for cls in plugin_classes:
        if cls.options:
            lines += ["", f"{cls.name} plugin:", *option_rows(o for o in cls.options if o not in listed)]
            lines += [f"  ({', '.join(o.flag for o in cls.options if o in listed)}: as above)"] if listed & set(cls.options) else []
            listed |= set(cls.options)
    lines += ["", "plugins, in the order they run (--list-plugins for details):"]
    lines += ["  " + " ".join(c.name + ("+" if c.name not in BUILTIN else "" if c.default else "*") for c in plugin_classes)]
    lines += ["  (* opt-in, + third-party: --plugin NAME)", "", "exit status: the command's; 128+N if a signal N killed it; else:"]
    lines += [f"  {code:<4} {meaning}" for code, meaning in errors.EXIT_CODES]
    return "\n".join(lines)


def stderr_a_line_a_write():
    """stderr flushed a line at a time, so that print's text and its newline leave in one
    write(2) even with PYTHONUNBUFFERED (write-through: two): another process writing
    to the same stderr (two `rm -f` at once, a shell's echo) cannot land mid-line."""
    sys.stderr.reconfigure(write_through=False, line_buffering=True)


def entry_point():
    """The console script: exit without the interpreter's teardown (a quarter of a start)."""
    # A start allocates thousands of objects and frees few: the cyclic collector's passes
    # at the default threshold (700) find nothing and cost 1.5 ms a start. Rarely, not
    # never: a runtime that relays a terminal for hours still collects.
    gc.set_threshold(100_000)
    stderr_a_line_a_write()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv=None, in_caller=False):
    """The command line; its exit status. in_caller: the Python API runs `run` and `exec`
    in its own process (see runtime.api), else RunElsewhere."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        return _main(argv, in_caller)
    except UsageError as e:
        print(f"{PROG}: {_shown(e)} (see --help)", file=sys.stderr)
        return errors.USAGE
    except ContainerError as e:
        print(f"{PROG}: {_shown(e)}", file=sys.stderr)
        return e.code
    except Interrupted as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        return 128 + 2
    except Exception as e:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"{PROG}: {_shown(_describe(e))}" + ("" if debug else " (--debug shows a traceback)"), file=sys.stderr)
        return errors.RUNTIME_FAILURE


def _shown(text):
    """A message for stderr: bytes of a path or name that are not UTF-8 (held as
    surrogates, as os.fsdecode gives them) shown as \\xNN."""
    try:
        return str(text).encode(errors="surrogateescape").decode(errors="backslashreplace")
    except UnicodeEncodeError:  # a surrogate no decoding gives: escape it as it is
        return str(text).encode(errors="backslashreplace").decode()


def _describe(error):
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return f"internal error: {type(error).__name__}: {error}"


def _main(argv, in_caller=False):
    if in_caller:
        if argv[:1] == ["run"]:
            return run_command(argv[1:], in_caller)
        if argv[:1] != ["exec"]:  # exec clones its joiner from the caller, and changes nothing else of it
            raise RunElsewhere
    if argv and argv[0] in COMMANDS:
        module, function, _ = COMMANDS[argv[0]]
        return getattr(__import__(f"runtime.{module}", fromlist=[function]), function)(argv[1:])
    return run_command(argv)


def run_command(argv, in_caller=False):
    from . import plugins

    options, positional, extra = parse_run(argv, plugins)
    if options.help:
        print(help_text(plugins.ORDER + tuple(extra)))
        return 0
    if options.version:
        print(f"{PROG} {__version__}")
        return 0
    if options.list_plugins:
        _list_plugins(plugins)
        return 0
    if not positional:
        raise UsageError("missing IMAGE")
    from .linux import Linux

    linux = Linux()
    options.disable = [name for value in options.disable for name in value.split(",") if name]
    # A directory is a root of its own (the rootfs plugin), anything else an image file.
    options.rootfs = positional[0] if linux.is_directory(positional[0]) else None
    try:
        chosen = plugins.select(options)
    except plugins.PluginError as e:
        raise UsageError(str(e)) from None
    if in_caller and (options.detach or options.name is not None or not plugins.run_in_caller(chosen)):
        raise RunElsewhere
    if options.privileged:
        print(f"{PROG}: {plugins.PRIVILEGED_WARNING}", file=sys.stderr)
    for line in plugins.notes(options, chosen):
        print(f"{PROG}: {line}", file=sys.stderr)
    if options.detach and options.tty:
        raise UsageError("--detach and --tty exclude each other (exec -t gives a terminal)")
    tty = False if options.detach else _want_tty(linux, options)
    env = parse_env(options.env, tty)
    require_root(linux)

    from .container import run
    from .plugin import Context

    ctx = Context(positional[0], positional[1:] or DEFAULT_COMMAND, options, linux, tty=tty)
    ctx.given_command = positional[1:]
    ctx.env.update(env)
    instances = [cls() for cls in chosen]
    if options.detach or options.name is not None:
        from .state import check_name, generate_name
        from .supervisor import StateRecord, start_detached

        name = check_name(options.name) if options.name is not None else generate_name(linux)
        if options.detach:
            return start_detached(ctx, instances, name, options.rm)
        instances.insert(0, StateRecord(name, options.rm))
    return run(ctx, instances)


def parse_env(items, tty):
    """-e KEY=VALUE items as a dict; TERM too when there is a terminal."""
    env = {}
    for item in items:
        key, has_value, value = item.partition("=")
        if not key or not has_value:
            raise UsageError(f"--env wants KEY=VALUE, got {item!r}")
        env[key] = value
    if tty:
        env.setdefault("TERM", os.environ.get("TERM", "xterm"))
    return env


def require_root(linux):
    if linux.geteuid() != 0:
        raise ContainerError(errors.NOT_ROOT, "must run as root (try: sudo demo-runtime ...)")


def parse_run(argv, plugins):
    """run's options, positional arguments, and the third-party plugin classes loaded.

    Third-party plugins' options join the table only where they can matter (an option
    the built-ins do not know, --plugin of a non-built-in, --help): reading the entry
    points costs more than a container start."""
    table = CORE_OPTIONS + tuple(o for cls in plugins.ORDER for o in cls.options)
    try:
        options, positional = parse(argv, table)
    except UnknownOption:
        options = None
    if options is not None and not options.help and set(options.plugin) <= set(plugins.BUILTIN):
        return options, positional, []
    try:
        extra = plugins.installed()
    except plugins.PluginError as e:
        raise UsageError(str(e)) from None
    options, positional = parse(argv, table + tuple(o for cls in extra for o in cls.options))
    return options, positional, extra


def _want_tty(linux, options):
    if options.no_tty:
        return False
    if options.tty:
        if not linux.isatty(0):
            raise UsageError("--tty needs a terminal on stdin")
        return True
    return linux.isatty(0) and linux.isatty(1)


def _list_plugins(plugins):
    for cls in plugins.ORDER:
        state = "on " if cls.default else "opt-in"
        print(f"{cls.name:<14} {state:<6} {cls.help}")
    for name, entry in sorted(plugins.third_party().items()):
        print(f"{name:<14} {'extra':<6} {entry.value} (--plugin {name})")
