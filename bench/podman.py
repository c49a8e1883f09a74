"""`podman run --rm IMAGE /bin/true` with demo-runtime-oci, crun and runc as podman's OCI runtime,
interleaved round-robin, as medians and ratios from one run.

    .venv/bin/python bench/podman.py [IMAGE] [--rounds N]      (as root)

podman gets a private store in a temporary directory (runtime.testing.podman: vfs, cgroupfs,
file events, --network none) holding IMAGE's tree (default: the test image), imported with
`podman import`. Each row is one whole `podman run --rm`: podman, conmon, the runtime's
create/start/delete and podman's cleanup. A runtime that is missing or cannot run the
container here is left out with a line saying why. Everything is removed at the end.

Every row sees the same cgroups: a private mount namespace with cgroup2 at /sys/fs/cgroup
(crun 1.8 refuses a hybrid v1+v2 layout), and no pids limit (`--pids-limit=-1`: on a
hybrid host the pids controller is v1's, so cgroup2 has none). Where crun cannot make
its cgroup even so (its v2 device filter raises RLIMIT_MEMLOCK: EPERM where root lacks
CAP_SYS_RESOURCE), its row runs `--cgroups=disabled` (podman allows that for crun alone)
and is named so: a cgroup fewer than the others make.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bench  # bench/bench.py: interleaved rounds
from runtime.testing import podman

HERE = Path(__file__).resolve().parent
IMAGE = "localhost/demo-runtime-bench:latest"
RUNTIMES = ("demo-runtime-oci", "crun", "runc")
NO_CGROUP = ["--cgroups=disabled"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(HERE.parent / "testcontainer" / "container.img"))
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    if not Path(args.image).is_file():  # debugfs says so on stderr only, with status 0
        raise SystemExit(f"bench/podman.py: no image {args.image}")
    load = [bench._loadavg()]
    ws = bench.Workspace()
    base = tempfile.mkdtemp(prefix="demo-runtime-bench-", dir="/var/tmp")
    try:
        ws.enter_private_mountns(cgroup2=True)
        store(base, args.image)
        runtimes = {name: found for name in RUNTIMES if (found := usable(base, name))}
        if not runtimes:
            raise SystemExit("bench/podman.py: no runtime could run the container")
        rows = {row: lambda path=path, extra=extra: run(base, path, extra) for row, path, extra in runtimes.values()}
        times = bench.interleaved(rows, args.rounds)
    finally:
        subprocess.run([*podman.argv(base), "rm", "--all", "--force", "--time", "0"], capture_output=True)
        shutil.rmtree(base)
        ws.cleanup()
    load.append(bench._loadavg())
    print(table(times))
    print(f"\n{args.rounds} rounds, interleaved; load average before/after: {load[0]} / {load[1]}")
    return 0


def store(base, image):
    """The private store, holding IMAGE's tree as the image IMAGE."""
    limits = Path("/proc/self/limits").read_text()
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    Path(base, "containers.conf").write_text(podman.containers_conf(limits, pid_max))
    tree = Path(base, "rootfs")
    tree.mkdir()
    for step in (
        ["debugfs", "-R", f"rdump / {tree}", image],
        ["tar", "-C", tree, "-cf", f"{tree}.tar", "."],
        [*podman.argv(base), "import", f"{tree}.tar", IMAGE],
    ):
        out = subprocess.run(step, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"bench/podman.py: {step[0]}: {out.stderr.strip()}")


def usable(base, name):
    """(row name, path, extra podman options) if podman can run the container with NAME
    here, else None (and why): with a cgroup, else (crun) with none."""
    beside = Path(sys.executable).with_name(name)
    path = str(beside) if beside.exists() else shutil.which(name)
    if path is None:
        print(f"{name}: not installed, left out", file=sys.stderr)
        return None
    out = run(base, path, check=False)
    if out.returncode == 0:
        return name, path, []
    if name == "crun" and run(base, path, NO_CGROUP, check=False).returncode == 0:
        print(f"{name}: no cgroup ({out.stderr.strip().splitlines()[-1]})", file=sys.stderr)
        return f"{name} {NO_CGROUP[0]}", path, NO_CGROUP
    print(f"{name}: left out: {out.stderr.strip().splitlines()[-1]}", file=sys.stderr)
    return None


def run(base, runtime, extra=(), check=True):
    return subprocess.run(
        [*podman.argv(base, runtime), "run", "--rm", "--network", "none", "--pids-limit=-1", *extra, IMAGE, "/bin/true"],
        check=check, capture_output=True, text=True,
    )  # fmt: skip


def table(times):
    medians = {name: sorted(values)[len(values) // 2] for name, values in times.items()}
    ratios = [peer for peer in medians if peer.split()[0] in ("crun", "runc")]
    lines = [
        "| `podman run --rm IMAGE /bin/true` with | median ms | p90 ms |" + "".join(f" × {p} |" for p in ratios),
        "|---|---:|---:|" + "---:|" * len(ratios),
    ]
    for name, values in times.items():
        values.sort()
        cells = "".join(f" {medians[name] / medians[p]:.2f} |" for p in ratios)
        lines.append(f"| {name} | {medians[name]:.1f} | {values[int(len(values) * 0.9)]:.1f} |{cells}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
