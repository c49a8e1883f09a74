"""Starts and execs of demo-runtime through the command line and the in-process Python API,
next to runc's and nsenter's, interleaved round-robin in one run.

    .venv/bin/python bench/lifecycle.py [IMAGE] [--rounds N] [--profile N]      (as root)

Rows: a start to completion of /bin/true (demo-runtime's CLI, runtime.run of an image
nothing else holds, runtime.run of an image held by runtime.Image, the same with the
runtime in a fork of the caller as before runtime.run ran in its caller, runc run and
crun run from the image's tree as a bundle, bench.py's floor (unshare + chroot) and bwrap
of the same tree), and /bin/true exec'd into a running container (demo-runtime exec,
Container.exec, the same with the runtime in a fork of the caller as before exec ran in
its caller, runc exec into a runc container of the same tree, nsenter -t PID -a, which
joins the namespaces and nothing else). Medians and p90 in ms, per second, ratios
to runc's and crun's start (runc exec's for an exec), and issue 10's targets as ratios
(<= 1: met). Then throughput: --workers processes at once,
each starting --batch containers one after another, for runtime.run (held, not held) and
runc run, interleaved in --throughput-rounds rounds: starts per second of the whole.
--profile N: where N in-process starts spend their time, from timestamps each process of
a start writes at the steps it passes. --floor N: the same system calls made by a small C
process (bench/floor.c), N times, step by step: the kernel's share of a start; and as a
row of the throughput.
Like bench/bench.py, it runs in a private mount namespace with cgroup2 at /sys/fs/cgroup
(runc needs no hybrid layout) and removes what it made.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import bench  # bench/bench.py: the workspace, the image's tree, the OCI bundle
import runtime
from runtime import api, cli, container, plugins
from runtime.linux import Linux

HERE = Path(__file__).resolve().parent
RUNC_START, INPROCESS_START = "start, runc (`runc run`)", "start, in-process (`runtime.run`)"
HELD_START = "start, in-process, image held (`runtime.Image`)"
HELD_FORKED = "start, in-process, image held, the runtime a fork of the caller (the path before)"
FLOOR = "bench/floor.c: the same system calls from C"
CLI_EXEC, INPROCESS_EXEC, RUNC_EXEC = "exec, CLI (`demo-runtime exec`)", "exec, in-process (`Container.exec`)", "exec, runc (`runc exec`)"
EXEC_FORKED = "exec, in-process, the runtime a fork of the caller (the path before)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(HERE.parent / "testcontainer" / "container.img"))
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also: where N in-process starts spend their time")
    parser.add_argument("--workers", type=int, default=2, help="processes starting containers at once, for throughput (0: none)")
    parser.add_argument("--batch", type=int, default=20, help="starts of each worker, one after another")
    parser.add_argument("--throughput-rounds", type=int, default=3)
    parser.add_argument("--floor", type=int, default=0, metavar="N", help="also: N starts of bench/floor.c, the same kernel work from C, step by step")
    args = parser.parse_args(argv)
    load = [bench._loadavg()]
    runc = shutil.which("runc")
    if not runc:
        raise SystemExit("bench/lifecycle.py: runc not found (apt-get install runc)")
    ws = bench.Workspace()
    try:
        ws.enter_private_mountns(cgroup2=True)
        rootdir = bench.image_to_dir(ws, Path(args.image), "dump")
        bundle = bench.make_bundle(ws, rootdir, runc)
        skipped = {}
        peers = bench.discover(ws, argparse.Namespace(only="floor,bwrap,crun", demo_variant=[], crun_cgroup_manager=None), Path(args.image), rootdir, skipped)
        state = ws.tmp / "runc-state"
        ws.state_roots.append((runc, state))
        runc_cmd = [runc, "--root", str(state)]
        ids = (f"{ws.id_prefix}{n}" for n in range(1, 1 << 30))
        runc_init = f"{ws.id_prefix}idle"
        # Detached, runc hands its stdio to the init: no pipes of ours, which would never close.
        idle = [*runc_cmd, "run", "-d", "--bundle", str(_idle_bundle(bundle)), runc_init]
        bench.run(idle, capture_output=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_path = str(Path(sys.executable).parent / "demo-runtime")
        # Copies of the image: one for the container the execs go into, one held; starts of
        # the image itself then find nothing of it attached or mounted, as a first start does.
        exec_image, held_image = (shutil.copy(args.image, ws.tmp / name) for name in ("exec.img", "held.img"))
        with runtime.Container(exec_image) as mine, runtime.Image(held_image) as held:
            pid = str(mine.inspect()["pid"])
            rows = {
                "start, CLI (`demo-runtime IMG true`)": lambda: _check([cli_path, args.image, "/bin/true"]),
                INPROCESS_START: lambda: _ok(runtime.run(args.image, ["/bin/true"])),
                HELD_START: lambda: _ok(runtime.run(held, ["/bin/true"])),
                HELD_FORKED: lambda: _ok(api._forked(Linux(), ["run", "-T", held.path, "/bin/true"], b"")),
                RUNC_START: lambda: _check([*runc_cmd, "run", "--bundle", str(bundle), next(ids)]),
                **{f"start, {peer.name} (`{peer.what}`)": lambda peer=peer: _check(peer.argv()) for peer in peers},
                CLI_EXEC: lambda: _check([cli_path, "exec", "-T", mine.name, "/bin/true"]),
                INPROCESS_EXEC: lambda: _ok(mine.exec("/bin/true")),
                EXEC_FORKED: lambda: _ok(api._forked(Linux(), ["exec", "-T", mine.name, "/bin/true"], b"")),
                RUNC_EXEC: lambda: _check([*runc_cmd, "exec", runc_init, "/bin/true"]),
                "nsenter -t PID -a (no hardening)": lambda: _check(["nsenter", "-t", pid, "-a", "/bin/true"]),
            }
            times = bench.interleaved(rows, args.rounds)
            load.append(bench._loadavg())
            batches = {  # name -> one worker's batch of n starts
                HELD_START: lambda tag, n: [_ok(runtime.run(held, ["/bin/true"])) for _ in range(n)],
                HELD_FORKED: lambda tag, n: [_ok(api._forked(Linux(), ["run", "-T", held.path, "/bin/true"], b"")) for _ in range(n)],
                INPROCESS_START: lambda tag, n: [_ok(runtime.run(args.image, ["/bin/true"])) for _ in range(n)],
                RUNC_START: lambda tag, n: [_check([*runc_cmd, "run", "--bundle", str(bundle), f"{ws.id_prefix}{tag}-{i}"]) for i in range(n)],
            }
            if args.floor:
                floor = Floor(ws, held.device)
                batches[FLOOR] = lambda tag, n: floor.run(n)
            rates = throughput(batches, args.workers, args.batch, args.throughput_rounds) if args.workers else None
            load.append(bench._loadavg())
            steps = profile(held_image, args.profile) if args.profile else None
            floor_steps = None
            if args.floor:
                floor_steps = floor.steps(args.floor)
                floor.close()
    finally:
        ws.cleanup()
    print(f"load average (1, 5, 15 min) at the start, after the rounds, after the throughput: {' | '.join(load)}\n")
    for name, why in skipped.items():
        print(f"(no {name} row: {why})")
    print(table(times))
    print(targets({name: bench.median(values) for name, values in times.items()}, rates))
    if rates:
        print(throughput_table(rates, args.workers, args.batch))
    if steps:
        print(profile_table(steps, args.profile))
    if floor_steps:
        print(f"\nThe same kernel work from a C process (bench/floor.c, {args.floor} starts of the held image, medians):\n")
        print("| step | median ms |\n|---|---:|")
        print("\n".join(f"| {name} | {ms} |" for name, ms in floor_steps))
    return 0


class Floor:
    """bench/floor.c, built, on the held image's loop device, its cgroups in one of the
    workspace's (which removes it if we do not)."""

    def __init__(self, ws, device):
        self.binary, self.device = ws.tmp / "floor", device
        bench.run(["gcc", "-O2", "-o", str(self.binary), str(HERE / "floor.c")])
        self.cgroups = ws.cgroup_root / f"{ws.id_prefix}floor"
        self.cgroups.mkdir()

    def run(self, n):
        """n starts; its output: a line per step, name TAB median ms."""
        return bench.run([str(self.binary), self.device, str(n), str(self.cgroups)], timeout=600).stdout

    def steps(self, n):
        return [tuple(line.split("\t")) for line in self.run(n).splitlines()]

    def close(self):
        self.cgroups.rmdir()


def throughput(batches, workers, batch, rounds):
    """Per row, starts per second in each round: `workers` forked processes at once, each
    making `batch` starts one after another; the rows in a new shuffled order each round."""
    rates = {name: [] for name in batches}
    for round_ in range(rounds):
        order = list(batches)
        random.shuffle(order)
        for name in order:
            began = time.perf_counter()
            pids = []
            for worker in range(workers):
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        batches[name](f"t{round_}-{worker}", batch)
                        code = 0
                    finally:
                        os._exit(code)
                pids.append(pid)
            failed = [pid for pid in pids if os.waitpid(pid, 0)[1] != 0]
            if failed:
                raise SystemExit(f"bench/lifecycle.py: {name}: {len(failed)} of {workers} workers failed")
            rates[name].append(workers * batch / (time.perf_counter() - began))
    return rates


def throughput_table(rates, workers, batch):
    lines = ["", f"Throughput: {workers} processes at once, {batch} starts each, one after another (median of the rounds):", ""]
    lines += ["| what | starts/s | rounds |", "|---|---:|---|"]
    for name, values in rates.items():
        lines.append(f"| {name} | {bench.median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} |")
    return "\n".join(lines)


def _idle_bundle(bundle):
    """The same bundle with an init that waits, for runc exec to join."""
    idle = bundle.parent / "bundle-idle"
    idle.mkdir()
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["/bin/sleep", "3600"]
    (idle / "config.json").write_text(json.dumps(config))
    return idle


def _check(argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def _ok(result):
    if result.status != 0:
        raise SystemExit(f"failed: {result}")


def table(times):
    """Each row's median, p90, rate, and its ratio to runc's (a start's to runc run's, an
    exec's to runc exec's) and to crun's start."""
    medians = {name: bench.median(values) for name, values in times.items()}
    crun = next((m for name, m in medians.items() if name.startswith("start, crun ")), None)
    lines = ["| what | median ms | p90 ms | per second | x runc | x crun |", "|---|---:|---:|---:|---:|---:|"]
    for name, values in times.items():
        middle = medians[name]
        starts = name.startswith("start")
        runc = medians[RUNC_START if starts else RUNC_EXEC]
        to_crun = f"{middle / crun:.2f}" if starts and crun else "-"
        lines.append(f"| {name} | {middle:.1f} | {bench.p90(values):.1f} | {1000 / middle:.0f} | {middle / runc:.2f} | {to_crun} |")
    return "\n".join(lines)


def targets(medians, rates):
    """Issue 10's targets, each as the measured value over its bound (<= 1: met)."""
    runc_start, runc_exec = medians[RUNC_START], medians[RUNC_EXEC]
    rows = []
    for name, how in ((INPROCESS_START, ""), (HELD_START, ", image held")):
        start = medians[name]
        rows += [
            (f"in-process start{how} <= 0.25 x runc's CLI start", start / (0.25 * runc_start), f"{start / runc_start:.2f} x runc"),
            (f"in-process starts{how} >= 150/s, one after another", 150 / (1000 / start), f"{1000 / start:.0f}/s"),
        ]
        if rates:
            rate = bench.median(rates[name])
            rows.append((f"in-process starts{how} >= 150/s, concurrent", 150 / rate, f"{rate:.0f}/s"))
    rows += [
        ("exec (CLI) <= runc exec's median", medians[CLI_EXEC] / runc_exec, f"{medians[CLI_EXEC] / runc_exec:.2f} x runc exec"),
        ("exec (in-process) <= runc exec's median", medians[INPROCESS_EXEC] / runc_exec, f"{medians[INPROCESS_EXEC] / runc_exec:.2f} x runc exec"),
    ]
    lines = ["", "| target | measured | over its bound |", "|---|---:|---:|"]
    lines += [f"| {what} | {measured} | {ratio:.2f} {'met' if ratio <= 1 else 'missed'} |" for what, ratio, measured in rows]
    return "\n".join(lines)


# -- where an in-process start goes ----------------------------------------------------
# (from, to, what): consecutive marks each start's processes write; the steps of one start.
STEPS = (
    ("call", "main", "to the command line's main() (the caller's stdio lent to it)"),
    ("main", "janitor fork", "options, plugins chosen, every plugin's prepare()"),
    ("janitor fork", "janitor forked", "the janitor's fork"),
    ("janitor forked", "clone", "clone arguments"),
    ("clone", "cloned", "clone3 of the container's init (in the runtime)"),
    ("cloned", "child setup", "setup_parent, until the child goes on"),
    ("child setup", "execve", "the child's setup: mounts, pivot_root, hardening (setup_child)"),
    ("execve", "reaped", "exec of /bin/true, its run and exit, the runtime's wait"),
    ("reaped", "dismiss", "every plugin's teardown"),
    ("dismiss", "dismissed", "the janitor dismissed and reaped"),
    ("dismissed", "returned", "main() returns, the caller's stdio back, the output read"),
)


def profile(image, n):
    """Per step, the durations (ms) over n in-process starts, from marks every process of a
    start writes to one O_APPEND file (CLOCK_MONOTONIC: one clock for all of them)."""
    marks_path = f"/tmp/demo-runtime-bench-marks-{os.getpid()}"
    fd = os.open(marks_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    restore = _instrument(fd)
    try:
        for _ in range(n):
            _ok(runtime.run(image, ["/bin/true"]))
    finally:
        restore()
        os.close(fd)
    starts, current = [], None
    with open(marks_path) as f:
        for line in f:
            label, _, ns = line.rstrip("\n").rpartition(" ")
            if label == "call":
                current = {}
                starts.append(current)
            current.setdefault(label, int(ns))
    os.unlink(marks_path)
    steps = {what: [(s[b] - s[a]) / 1e6 for s in starts if a in s and b in s] for a, b, what in STEPS}
    steps["whole start"] = [(s["returned"] - s["call"]) / 1e6 for s in starts]
    for cls in plugins.ORDER:  # the prepare() step, plugin by plugin
        a, b = f"prepare {cls.name}", f"prepared {cls.name}"
        steps[f"prepare: {cls.name}"] = [(s[b] - s[a]) / 1e6 for s in starts if a in s and b in s]
    return steps


def _instrument(fd):
    """Wrap the calls a start passes so that each writes a mark; returns the undo."""

    def mark(label):
        os.write(fd, f"{label} {time.monotonic_ns()}\n".encode())

    originals = {}

    def wrap(owner, name, before=None, after=None):
        original = getattr(owner, name)
        originals[(owner, name)] = original

        def wrapped(*a, **kw):
            if before:
                mark(before)
            result = original(*a, **kw)
            if after:
                after(result)
            return result

        setattr(owner, name, wrapped)

    wrap(api, "invoke", "call", lambda result: mark("returned"))
    wrap(cli, "main", "main")
    wrap(container._Janitor, "__init__", "janitor fork", lambda _: mark("janitor forked"))
    wrap(Linux, "clone", "clone", lambda pid: pid and mark("cloned"))
    wrap(plugins.ORDER[0], "setup_child", "child setup")  # the child's first step once told to go
    for cls in plugins.ORDER:
        if "prepare" in vars(cls):
            wrap(cls, "prepare", f"prepare {cls.name}", lambda _, name=cls.name: mark(f"prepared {name}"))
    wrap(Linux, "execve", "execve")
    wrap(Linux, "waitpid", None, lambda result: mark("reaped"))
    wrap(container._Janitor, "dismiss", "dismiss", lambda _: mark("dismissed"))

    def restore():
        for (owner, name), original in originals.items():
            setattr(owner, name, original)

    return restore


def profile_table(steps, n):
    whole = bench.median(steps["whole start"])
    lines = ["", f"Where an in-process start goes ({n} starts, medians; the steps' sum need not be the whole's):", ""]
    lines += ["| step | median ms | share |", "|---|---:|---:|"]
    for _, _, what in STEPS:
        if steps[what]:
            lines.append(f"| {what} | {bench.median(steps[what]):.2f} | {bench.median(steps[what]) / whole:.0%} |")
    lines.append(f"| whole start (`runtime.run`) | {whole:.2f} | 100% |")
    lines += ["", "| prepare() of | median ms |", "|---|---:|"]
    lines += [f"| {what.removeprefix('prepare: ')} | {bench.median(v):.2f} |" for what, v in steps.items() if what.startswith("prepare: ") and v]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
