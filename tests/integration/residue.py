"""What a container run could leave behind on a machine, read from /proc, /sys and the
directories the runtime writes, by this module alone (standard library only): on the
local target it is called in the test's own process (a shell pipeline of losetup,
ps and find cost ~0.7 s a snapshot under TCG, two snapshots a test); on another host
its source runs there with python3 -c (see ``command``)."""

import json
import os


def _lines(path):
    try:
        with open(path, errors="surrogateescape") as f:
            return f.read().splitlines()
    except OSError:
        return []


def _entries(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _processes(ours, forked):
    """"PID ARGS" of the live processes (zombies left out) whose command line names one of
    ours, or that this run forked (`forked`: pids), and the pids of all."""
    pids, found = [], []
    for pid in _entries("/proc"):
        if not pid.isdigit():
            continue
        pids.append(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="surrogateescape")
            if int(pid) not in forked and not any(o in args for o in ours):
                continue
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split()[0].decode()
        except OSError:
            continue  # ended meanwhile
        if state != "Z":
            found.append(f"{pid} {args}")
    return found, pids


def _cgroups(root="/sys/fs/cgroup", depth=6):
    """Directories under root, up to depth levels down, with a demo-runtime directory above them."""
    found = []
    for path, dirs, _ in os.walk(root):
        level = path[len(root) :].count("/")
        if level >= depth:
            dirs.clear()
        found += [f"{path}/{d}" for d in dirs if "/demo-runtime/" in f"{path}/{d}"]
    return found


def snapshot(state_roots, ours, forked=()):
    """Section -> entries: attached loop devices and their backing files, mount points, entries of
    the temporary directories and of /run, the state directories' entries, the processes that name one
    of ours (paths) in their command line or that this run forked (pids), all pids, cgroups."""
    processes, pids = _processes(ours, forked)
    return {
        # each device with its backing file: a second device of one image (a module's
        # container holds the first) is a new entry
        "loop": [
            f"{dev} {line}"
            for dev in _entries("/sys/block")
            if dev.startswith("loop")
            for line in _lines(f"/sys/block/{dev}/loop/backing_file")
        ],
        "mount": [line.split(" ")[4] for line in _lines("/proc/self/mountinfo")],
        # /run/demo-runtime and /run/demo-runtime-oci (the OCI runtime's default --root, which
        # podman's runs use) are state roots, not temporary directories.
        "tmp": _entries("/tmp")
        + _entries("/var/tmp")
        + [e for e in _entries("/run") if e not in ("demo-runtime", "demo-runtime-oci")],
        "state": [e for root in state_roots for e in _entries(root)],
        "proc": processes,
        "pid": pids,
        "cgroup": _cgroups(),
    }


def command(state_roots, ours):
    """A shell command that prints snapshot(state_roots, ours) as JSON, on any host with python3."""
    import inspect
    import shlex
    import sys

    script = inspect.getsource(sys.modules[__name__]) + f"\nprint(json.dumps(snapshot({tuple(state_roots)!r}, {tuple(ours)!r})))\n"
    return f"python3 -c {shlex.quote(script)}"


def remote(host, state_roots, ours):
    return json.loads(host.check_output(command(state_roots, ours)))
