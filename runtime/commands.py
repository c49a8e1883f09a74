"""The subcommands that look at and end named containers: ps, logs, stop, kill, rm, inspect.

Each reads the container's state (runtime/state.py) and reaches PID 1 through a pidfd,
checked against the start time recorded with its pid, so a signal never reaches a
later process that reuses the pid.
"""

import os
import sys
import time

import _signal as signal

from . import errors, jsontext
from .cli import HELP, UsageError, parse, subcommand_help
from .errors import ContainerError
from .linux import Linux
from .plugin import Option
from .state import State, names, process_start_time

_FORCE = Option("--force", None, "also a running container: kill it first", short="-f")
_ALL = Option("--all", None, "also containers that are not running", short="-a")
_FOLLOW = Option("--follow", None, "keep printing what the container writes until it exits", short="-f")
_TIME = Option("--time", "SECS", "seconds between SIGTERM and SIGKILL (default 10)", short="-t", default="10")
_SIGNAL = Option("--signal", "SIG", "the signal, by name or number (default KILL)", short="-s", default="KILL")


def _arguments(argv, usage, summary, table, at_least=1, at_most=None):
    """(options, names) of a subcommand, or None when it printed its --help."""
    options, positional = parse(argv, (HELP, *table))
    if options.help:
        print(subcommand_help(usage, summary, table))
        return None
    if len(positional) < at_least:
        raise UsageError(f"missing NAME (usage: demo-runtime {usage})")
    if at_most is not None and len(positional) > at_most:
        raise UsageError(f"too many arguments (usage: demo-runtime {usage})")
    return options, positional


def open_init(record, linux):
    """A pidfd for the container's PID 1 while it runs, else None."""
    if record["status"] != "running":
        return None
    try:
        pidfd = linux.pidfd_open(record["pid"])
    except ProcessLookupError:
        return None
    if process_start_time(record["pid"], linux) != record.get("pid_start"):
        linux.close(pidfd)  # the pid is another process's by now
        return None
    return pidfd


def running_init(name, linux):
    """(state, record, pidfd of PID 1) of a running container; WRONG_STATE if it is not."""
    state = State.find(name, linux=linux)
    record = state.read()
    pidfd = open_init(record, linux)
    if pidfd is None:
        raise ContainerError(errors.WRONG_STATE, f"container {name} is not running ({describe_status(record)})")
    return state, record, pidfd


def describe_status(record):
    status = record["status"]
    if status != "exited":
        return status
    if record.get("exit_code") is None:
        return f"exited: {record.get('reason') or 'status unknown'}"
    return f"exited ({record['exit_code']})"


def _exited_within(linux, pidfd, seconds):
    """Whether the process exits within `seconds` (None: wait for as long as it takes)."""
    return bool(linux.wait_readable([pidfd], seconds))


def ps(argv):
    parsed = _arguments(argv, "ps [-a]", "List the running containers (-a: all).", (_ALL,), at_least=0, at_most=0)
    if parsed is None:
        return 0
    options, _ = parsed
    rows, code = [], 0
    for name in names():
        try:
            record = State(name).read()
        except ContainerError as e:
            print(f"demo-runtime: {e}", file=sys.stderr)
            code = e.code
            continue
        if record["status"] != "running" and not options.all:
            continue
        pid = str(record.get("pid") or "-") if record["status"] == "running" else "-"
        rows.append((name, pid, describe_status(record), record["image"], _ago(record.get("created")), " ".join(record["command"])))
    widths = [max(len(row[i]) for row in [_PS_HEADER, *rows]) for i in range(5)]
    for row in [_PS_HEADER, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])
    return code


_PS_HEADER = ("NAME", "PID", "STATUS", "IMAGE", "CREATED", "COMMAND")


def _ago(created):
    if not created:
        return "-"
    seconds = int(time.time() - created)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def logs(argv):
    parsed = _arguments(argv, "logs [-f] NAME", "Print what a detached container wrote to stdout and stderr.", (_FOLLOW,), at_most=1)
    if parsed is None:
        return 0
    options, (name,) = parsed
    linux = Linux()
    state = State.find(name, linux=linux)
    state.read()  # a clear error for a corrupt state, before anything is printed
    try:
        log = linux.open(state.log, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ContainerError(errors.NO_SUCH_CONTAINER, f"no such container: {name}") from None
    try:
        while True:
            supervised = state.supervised()  # before reading: what it writes before it exits is read
            while chunk := linux.read(log, 65536):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            if not (options.follow and supervised):
                return 0
            time.sleep(0.05)  # a file has no readiness to wait for: poll it, as tail -f does without inotify
    finally:
        linux.close(log)


def stop(argv):
    parsed = _arguments(argv, "stop [-t SECS] NAME...", "Stop containers: SIGTERM to PID 1, SIGKILL after SECS.", (_TIME,))
    if parsed is None:
        return 0
    options, container_names = parsed
    try:
        grace = float(options.time)
    except ValueError:
        raise UsageError(f"--time wants seconds, got {options.time!r}") from None
    linux = Linux()
    for name in container_names:
        state, _, pidfd = running_init(name, linux)
        try:
            linux.pidfd_send_signal(pidfd, signal.SIGTERM)
            if not _exited_within(linux, pidfd, grace):
                linux.pidfd_send_signal(pidfd, signal.SIGKILL)
                _exited_within(linux, pidfd, None)
        finally:
            linux.close(pidfd)
        state.wait_unsupervised()  # its teardowns are done and its exit is recorded
        print(name)
    return 0


def kill(argv):
    parsed = _arguments(argv, "kill [-s SIG] NAME...", "Send a signal to containers' PID 1.", (_SIGNAL,))
    if parsed is None:
        return 0
    options, container_names = parsed
    signum = signal_number(options.signal)
    linux = Linux()
    for name in container_names:
        _, _, pidfd = running_init(name, linux)
        try:
            linux.pidfd_send_signal(pidfd, signum)
        finally:
            linux.close(pidfd)
        print(name)
    return 0


def signal_number(text):
    """`TERM`, `SIGTERM`, `term` or `15` -> 15."""
    if text.isdigit() and 0 < int(text) < signal.NSIG:
        return int(text)
    name = text.upper()
    number = getattr(signal, name if name.startswith("SIG") else f"SIG{name}", None)
    if not isinstance(number, int) or name.startswith("SIG_"):
        raise UsageError(f"unknown signal {text!r}")
    return number


def rm(argv):
    parsed = _arguments(argv, "rm [-f] NAME...", "Remove containers' state and log (-f: kill running ones first).", (_FORCE,))
    if parsed is None:
        return 0
    options, container_names = parsed
    linux = Linux()
    for name in container_names:
        remove(State.find(name, linux=linux), options.force, linux)
        print(name)
    return 0


def remove(state, force, linux):
    try:
        record = state.read()
    except ContainerError as e:
        # A corrupt state can still go, with -f, once no supervisor is in charge of it.
        if not (force and e.code == errors.STATE_UNREADABLE and not state.supervised()):
            raise
        record = None
    if record is not None and record["status"] != "exited":
        if not force:
            raise ContainerError(errors.WRONG_STATE, f"container {state.name} is {record['status']}: stop it first, or rm -f")
        pidfd = open_init(record, linux)
        if pidfd is None and record["status"] != "running":
            raise ContainerError(errors.WRONG_STATE, f"container {state.name} is {record['status']}: try again")
        if pidfd is not None:  # None: running, but its init just died (another rm -f?)
            try:
                linux.pidfd_send_signal(pidfd, signal.SIGKILL)
            finally:
                linux.close(pidfd)
    state.wait_unsupervised()
    try:
        with state.lock():
            state.remove()
    except ContainerError as e:
        if not (e.code == errors.NO_SUCH_CONTAINER and record and record.get("remove")):
            raise  # else its --rm removed it as it exited: what was asked


def inspect(argv):
    parsed = _arguments(argv, "inspect NAME...", "Print what the runtime knows about containers, as JSON.", ())
    if parsed is None:
        return 0

    _, container_names = parsed
    records = [State.find(name).read() for name in container_names]
    print(jsontext.dumps(records, indent=2))
    return 0
