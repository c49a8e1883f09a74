"""Starts and execs of demo-runtime through the command line and the in-process Python API,
next to nsenter (which joins the namespaces and nothing else), interleaved round-robin.

    .venv/bin/python bench/lifecycle.py [IMAGE] [--rounds N]      (as root)

Rows: a start to completion of /bin/true (CLI, then runtime.run), and /bin/true exec'd into
one running container (CLI `exec`, Container.exec, nsenter -t PID -a). Medians and p90 in
ms, and per second for the in-process start. runc exec is not measured (yet).
"""

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

import runtime

HERE = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(HERE.parent / "testcontainer" / "container.img"))
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    cli = str(Path(sys.executable).parent / "demo-runtime")
    with runtime.Container(args.image) as container:
        pid = str(container.inspect()["pid"])
        rows = {
            "start, CLI (`demo-runtime IMG true`)": lambda: subprocess.run([cli, args.image, "/bin/true"], check=True),
            "start, in-process (`runtime.run`)": lambda: _ok(runtime.run(args.image, ["/bin/true"])),
            "exec, CLI (`demo-runtime exec`)": lambda: subprocess.run([cli, "exec", "-T", container.name, "/bin/true"], check=True),
            "exec, in-process (`Container.exec`)": lambda: _ok(container.exec("/bin/true")),
            "nsenter -t PID -a (no hardening)": lambda: subprocess.run(["nsenter", "-t", pid, "-a", "/bin/true"], check=True),
        }
        times = {name: [] for name in rows}
        for _ in range(args.rounds):
            order = list(rows)
            random.shuffle(order)
            for name in order:
                began = time.perf_counter()
                rows[name]()
                times[name].append((time.perf_counter() - began) * 1000)
    print("| what | median ms | p90 ms | per second |\n|---|---:|---:|---:|")
    for name, values in times.items():
        values.sort()
        middle = values[len(values) // 2]
        print(f"| {name} | {middle:.1f} | {values[int(len(values) * 0.9)]:.1f} | {1000 / middle:.0f} |")
    return 0


def _ok(result):
    if result.status != 0:
        raise SystemExit(f"failed: {result}")


if __name__ == "__main__":
    sys.exit(main())
