#!/usr/bin/env python3
"""Start-up benchmark: demo-runtime against its peers, measured side by side.

Starts ``/bin/true`` in the same image with

* ``demo-runtime IMAGE /bin/true``        (ext4 image through a loop device)
* ``floor``  unshare --fork --pid --mount --uts --ipc --net chroot DIR /bin/true
* ``bwrap``  bwrap --unshare-all --ro-bind DIR / --proc /proc --dev /dev /bin/true
* ``crun``   crun run --bundle BUNDLE ID    (OCI bundle whose root is DIR)
* ``runc``   runc run --bundle BUNDLE ID

where DIR is the image's content as a plain directory.  The runtimes are
interleaved round-robin (shuffled order in each round) and the script reports
median / p90 wall time per start, ratios to runc and to the floor, sequential
starts per second and the peak RSS of each runtime's process tree, as a
Markdown table (and JSON with --json).  See bench/README.md.

Must run as root.  The whole benchmark runs in a private mount namespace in
which /sys/fs/cgroup is a cgroup2 mount (crun 1.8 refuses the host's
v1/hybrid layout); nothing mounted there is visible outside, and everything
the script creates (temp dir, loop devices, runc/crun state, cgroups) is
removed on exit, on error and on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
CMD = ["/bin/true"]
TARGET_P90_X_K1 = 3.0  # p90 of one start at the largest K <= this many K=1 medians
ORDER = ["demo-runtime", "floor", "bwrap", "crun", "runc"]
CONCURRENT = ("demo-runtime", "crun", "runc")  # the rows of the concurrency table



class BenchError(Exception):
    pass


def log(msg: str = "") -> None:
    print(msg, file=sys.stderr, flush=True)


def _sigterm(signum, frame):  # turn SIGTERM/SIGHUP into the Ctrl-C path
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------
# small helpers


def run(argv, check=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    cp = subprocess.run(argv, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))}: exit {cp.returncode}: {(cp.stderr or '').strip()[:500]}")
    return cp


def first_line(argv) -> str:
    try:
        cp = run(argv, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    out = (cp.stdout or cp.stderr or "?").strip().splitlines()
    return out[0].strip() if out else "?"


def median(xs):
    return statistics.median(xs) if xs else None


def interleaved(rows: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Each row's call timed (ms) in ROUNDS rounds, the rows in a new shuffled order each round,
    after one untimed round that warms the caches."""
    times: dict[str, list[float]] = {name: [] for name in rows}
    for round_ in range(rounds + 1):
        order = list(rows)
        random.shuffle(order)
        for name in order:
            began = time.perf_counter()
            rows[name]()
            if round_:
                times[name].append((time.perf_counter() - began) * 1000)
    return times


def p90(xs):
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


# --------------------------------------------------------------------------
# the workspace: everything we create, and how to undo it


class Workspace:
    def __init__(self, keep_tmp: bool = False):
        self.tmp = Path(tempfile.mkdtemp(prefix="demo-bench-"))
        self.keep_tmp = keep_tmp
        self.id_prefix = f"drb{os.getpid()}-"
        self.mounts: list[Path] = []          # to umount, innermost last
        self.state_roots: list[tuple[str, Path]] = []  # (oci binary, --root)
        self.cgroup_root: Path | None = None  # our private cgroup2 mount
        self.watch_images: dict[Path, set[str]] = {}   # image -> loop devs before
        self.child: subprocess.Popen | None = None     # in-flight start
        self.leftovers: list[str] = []        # what we had to clean up

    # ---- private mount namespace + cgroup2 view
    def enter_private_mountns(self, cgroup2: bool) -> None:
        # The runtime's own syscall layer (the installed package: bench/ is sys.path[0]).
        from runtime.linux import CLONE_NEWNS, MS_PRIVATE, MS_REC, Linux

        linux = Linux()
        try:
            linux.unshare(CLONE_NEWNS)
            linux.mount(None, "/", None, MS_REC | MS_PRIVATE)
        except OSError as e:
            raise BenchError(f"private mount namespace: {e}") from None
        if not cgroup2:
            return
        cg = Path("/sys/fs/cgroup")
        if _fstype(cg) != "cgroup2":
            try:
                linux.mount("cgroup2", str(cg), "cgroup2")
            except OSError as e:
                raise BenchError(f"mount -t cgroup2 at {cg} (private namespace): {e}") from None
        self.cgroup_root = cg

    def watch_loops(self, image: Path) -> None:
        self.watch_images[image.resolve()] = set(loops_of(image))

    # ---- cleanup, idempotent, never raises
    def cleanup(self) -> None:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._cleanup()
        finally:
            signal.signal(signal.SIGINT, old)

    def _cleanup(self) -> None:
        if self.child is not None and self.child.poll() is None:
            try:
                self.child.kill()
                self.child.wait(timeout=10)
            except Exception:
                pass
        # runc/crun containers still registered in our private state roots
        for binary, root in self.state_roots:
            try:
                cp = run([binary, "--root", str(root), "list", "-q"], check=False, timeout=20)
                for cid in (cp.stdout or "").split():
                    self.leftovers.append(f"{Path(binary).name} container {cid}")
                    run([binary, "--root", str(root), "delete", "--force", cid], check=False, timeout=20)
            except Exception:
                pass
        # cgroups runc/crun made for our containers (cgroupfs driver, v2)
        if self.cgroup_root is not None:
            for d in sorted(self.cgroup_root.glob(self.id_prefix + "*")):
                if d.is_dir():
                    self.leftovers.append(f"cgroup {d.name}")
                    _rmdir_tree(d)
        for m in reversed(self.mounts):
            if os.path.ismount(m):
                if run(["umount", str(m)], check=False, timeout=30).returncode != 0:
                    run(["umount", "-l", str(m)], check=False, timeout=30)
        self.mounts.clear()
        # loop devices that appeared on our images during the run
        for image, before in self.watch_images.items():
            new = [d for d in loops_of(image) if d not in before]
            if new:  # autoclear may lag the unmount a little
                time.sleep(0.2)
            for dev in loops_of(image):
                if dev not in before:
                    self.leftovers.append(f"loop device {dev} on {image.name}")
                    run(["losetup", "-d", dev], check=False, timeout=20)
        if self.keep_tmp:
            log(f"kept temp dir {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _fstype(path: Path) -> str | None:
    best = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                parts = line.split()
                mnt = parts[4]
                fstype = parts[parts.index("-") + 1]
                if mnt == str(path):
                    best = fstype
    except OSError:
        pass
    return best


def _rmdir_tree(d: Path) -> None:
    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        d.rmdir()
    except OSError:
        pass


def loops_of(image: Path) -> list[str]:
    if not shutil.which("losetup"):
        return []
    try:
        cp = run(["losetup", "-j", str(image.resolve())], check=False, timeout=20)
    except Exception:
        return []
    return [ln.split(":", 1)[0] for ln in (cp.stdout or "").splitlines() if ln.strip()]


# --------------------------------------------------------------------------
# the image and its content as a plain directory


def build_image(ws: Workspace) -> Path:
    """The project's own image builder, offline (busybox): the image the tests use."""
    img = ws.tmp / "busybox.ext4"
    script = REPO / "testcontainer" / "build.sh"
    log(f"building image with {script.relative_to(REPO)} --busybox ...")
    run(["bash", str(script), "--busybox", "-o", str(img)], timeout=600)
    if not img.is_file():
        raise BenchError(f"{script} --busybox wrote no image; pass --image")
    return img


def image_to_dir(ws: Workspace, image: Path, mode: str) -> Path:
    root = ws.tmp / "rootfs"
    root.mkdir()
    if mode == "mount":
        # read-only loop mount inside our private mount namespace; util-linux
        # sets LO_FLAGS_AUTOCLEAR so the loop device goes with the unmount
        ws.mounts.append(root)
        run(["mount", "-o", "ro,loop", str(image), str(root)])
    else:
        if not shutil.which("debugfs"):
            raise BenchError("debugfs not found (apt-get install e2fsprogs); or use --peer-root mount")
        run(["debugfs", "-R", f"rdump / {root}", str(image)], timeout=300)
    if not os.path.lexists(root / CMD[0].lstrip("/")):
        raise BenchError(f"image {image} has no {CMD[0]} (content in {root}: {sorted(os.listdir(root))})")
    return root


def make_bundle(ws: Workspace, rootdir: Path, oci_bin: str) -> Path:
    """One OCI bundle shared by runc and crun (same config for both)."""
    bundle = ws.tmp / "bundle"
    if (bundle / "config.json").exists():
        return bundle
    bundle.mkdir(exist_ok=True)
    if Path(oci_bin).name == "crun":
        run([oci_bin, "spec", "-b", str(bundle)])
    else:
        run([oci_bin, "spec", "--bundle", str(bundle)])
    cfgp = bundle / "config.json"
    cfg = json.loads(cfgp.read_text())
    cfg["process"]["args"] = list(CMD)
    cfg["process"]["terminal"] = False
    cfg["root"] = {"path": str(rootdir), "readonly": True}
    lin = cfg.setdefault("linux", {})
    lin["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]
    lin.pop("uidMappings", None)
    lin.pop("gidMappings", None)
    # The spec default "resources": {"devices": [deny all]} makes crun load an
    # eBPF device program, which needs RLIMIT_MEMLOCK raised, which needs
    # CAP_SYS_RESOURCE (this sandbox lacks it).  Dropped for both runtimes so
    # they run the same config; runc still installs its default device rules.
    lin.pop("resources", None)
    cfgp.write_text(json.dumps(cfg, indent=2))
    return bundle


# --------------------------------------------------------------------------
# runtimes


@dataclass
class Runtime:
    name: str
    argv: Callable[[], list[str]]
    version: str
    what: str
    samples: list[float] = field(default_factory=list)   # wall s per start
    cpu: list[float] = field(default_factory=list)       # user+sys s per start
    starts_per_s: float | None = None
    seq_n: int = 0
    rss_kib: int | None = None
    failed: str | None = None
    batches: dict = field(default_factory=dict)  # K -> [(batch wall s, [wall s per start])]


def find_demo_runtime(explicit: str | None) -> Path | None:
    if explicit:
        p = Path(explicit)
        return p if p.exists() else None
    for c in (Path(sys.executable).parent / "demo-runtime", REPO / ".venv" / "bin" / "demo-runtime"):
        if c.exists():
            return c
    w = shutil.which("demo-runtime")
    return Path(w) if w else None


def demo_runtime_version(path: Path) -> str:
    v = "?"
    try:
        from importlib.metadata import version
        v = version("demo-runtime")
    except Exception:
        pass
    try:
        cp = run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], check=False, timeout=10)
        if cp.returncode == 0 and cp.stdout.strip():
            v += f" (git {cp.stdout.strip()})"
    except Exception:
        pass
    return v


def discover(ws: Workspace, args, image: Path, rootdir: Path, skipped: dict) -> list[Runtime]:
    wanted = set(args.only.split(",")) if args.only else set(ORDER)
    rts: list[Runtime] = []
    counter = iter(range(1, 1 << 62))

    def skip(name, why):
        skipped[name] = why
        log(f"skip {name}: {why}")

    if "demo-runtime" in wanted:
        demo = find_demo_runtime(args.demo_runtime)
        if demo is None:
            skip("demo-runtime", "not found (pip install -e . into .venv, or pass --demo-runtime PATH)")
        else:
            d = str(demo)
            rts.append(Runtime("demo-runtime", lambda: [d, str(image), *CMD],
                               demo_runtime_version(demo), f"{demo} IMAGE {' '.join(CMD)}"))
            for options in args.demo_variant:  # e.g. a default turned off, timed in the same rounds
                extra = options.split()
                rts.append(Runtime(f"demo-runtime {options}", lambda extra=extra: [d, *extra, str(image), *CMD],
                                   demo_runtime_version(demo), f"{demo} {options} IMAGE {' '.join(CMD)}"))

    if "floor" in wanted:
        unshare, chroot = shutil.which("unshare"), shutil.which("chroot")
        if not (unshare and chroot):
            skip("floor", "unshare or chroot not found (util-linux, coreutils)")
        else:
            floor_argv = [unshare, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", chroot, str(rootdir), *CMD]
            rts.append(Runtime("floor", lambda: floor_argv, first_line([unshare, "--version"]),
                               "unshare --fork --pid --mount --uts --ipc --net chroot DIR"))

    if "bwrap" in wanted:
        bwrap = shutil.which("bwrap")
        if not bwrap:
            skip("bwrap", "bwrap not found (apt-get install bubblewrap)")
        else:
            bwrap_argv = [bwrap, "--unshare-all", "--ro-bind", str(rootdir), "/", "--proc", "/proc", "--dev", "/dev", *CMD]
            rts.append(Runtime("bwrap", lambda: bwrap_argv, first_line([bwrap, "--version"]),
                               "bwrap --unshare-all --ro-bind DIR / --proc /proc --dev /dev"))

    for name, pkg in (("crun", "crun"), ("runc", "runc")):
        if name not in wanted:
            continue
        binary = shutil.which(name)
        if not binary:
            skip(name, f"{name} not found (apt-get install {pkg})")
            continue
        try:
            bundle = make_bundle(ws, rootdir, binary)
        except BenchError as e:
            skip(name, f"could not make an OCI bundle: {e}")
            continue
        state = ws.tmp / f"{name}-state"
        state.mkdir()
        ws.state_roots.append((binary, state))
        pre = [binary]
        what = f"{name} run --bundle B ID"
        if name == "crun" and args.crun_cgroup_manager:
            pre.append(f"--cgroup-manager={args.crun_cgroup_manager}")
            what = f"crun --cgroup-manager={args.crun_cgroup_manager} run --bundle B ID"
        pre += ["--root", str(state), "run", "--bundle", str(bundle)]

        def oci_argv(pre=pre):
            return [*pre, f"{ws.id_prefix}{next(counter)}"]
        rts.append(Runtime(name, oci_argv, first_line([binary, "--version"]), what))
    return rts


# --------------------------------------------------------------------------
# measurement


START_TIMEOUT = 60.0


class StartTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise StartTimeout


def start_once(ws: Workspace, argv: list[str]) -> tuple[float, float, int]:
    """One start: wall seconds (perf_counter around spawn+wait), the tree's
    user+sys CPU seconds (wait4 rusage), exit code (-1: killed after
    START_TIMEOUT seconds)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, START_TIMEOUT)
    p = None
    try:
        t0 = time.perf_counter()
        p = ws.child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
    except StartTimeout:
        if p is not None:
            p.kill()
            p.wait()
        ws.child = None
        return START_TIMEOUT, 0.0, -1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    ws.child = None
    return t1 - t0, ru.ru_utime + ru.ru_stime, p.returncode


def diagnose(argv: list[str]) -> str:
    try:
        cp = run(argv, check=False, timeout=60)
    except subprocess.TimeoutExpired:
        return "timed out after 60 s"
    if cp.returncode == 0:
        return "exit 0 on retry (flaky?)"
    msg = " | ".join((cp.stderr or cp.stdout or "").strip().splitlines()[-3:])
    return f"exit {cp.returncode}: {msg[:400]}"


def preflight(ws: Workspace, rts: list[Runtime], skipped: dict) -> list[Runtime]:
    ok = []
    for rt in rts:
        try:
            cp = run(rt.argv(), check=False, timeout=60)
        except subprocess.TimeoutExpired:
            cp = None
        if cp is None or cp.returncode != 0:
            why = "timed out after 60 s" if cp is None else \
                f"exit {cp.returncode}: " + " | ".join((cp.stderr or cp.stdout or "").strip().splitlines()[-3:])[:400]
            skipped[rt.name] = f"does not start {' '.join(CMD)}: {why}"
            log(f"skip {rt.name}: {skipped[rt.name]}")
        else:
            ok.append(rt)
    return ok


def measure_rounds(ws: Workspace, rts: list[Runtime], rounds: int, warmup: int, seed: int) -> None:
    rng = random.Random(seed)
    live = list(rts)
    for r in range(-warmup, rounds):
        order = list(live)
        rng.shuffle(order)
        for rt in order:
            argv = rt.argv()
            wall, cpu, rc = start_once(ws, argv)
            if rc != 0:
                rt.failed = f"round {r}: " + (f"no exit after {START_TIMEOUT:.0f} s" if rc == -1 else diagnose(rt.argv()))
                log(f"  {rt.name} failed, dropped: {rt.failed}")
                live.remove(rt)
                continue
            if r >= 0:
                rt.samples.append(wall)
                rt.cpu.append(cpu)
        if r >= 0 and (r + 1) % 10 == 0:
            log(f"  round {r + 1}/{rounds}")


def start_batch(ws: Workspace, rt: Runtime, k: int) -> tuple[float, list[float]] | str:
    """K starts of rt at once: (batch wall s, each start's wall s), or why one failed."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, START_TIMEOUT)
    started = {}
    failure = None
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            p = subprocess.Popen(rt.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            started[p.pid] = (p, time.perf_counter())
        walls = []
        while len(walls) < k:
            pid, status = os.wait4(-1, 0)[:2]
            if pid not in started:
                continue
            p, t = started[pid]
            walls.append(time.perf_counter() - t)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0 and failure is None:
                failure = f"exit {p.returncode} in a batch of {k}"
        batch = time.perf_counter() - t0
    except StartTimeout:
        for p, _ in started.values():
            if p.returncode is None:
                p.kill()
                p.wait()
        return f"no exit after {START_TIMEOUT:.0f} s in a batch of {k}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return failure or (batch, walls)


def measure_concurrent(ws: Workspace, rts: list[Runtime], ks: list[int], rounds: int, seed: int) -> None:
    """Batches of K concurrent starts from one image (bundle), every (runtime, K)
    once per round, in a shuffled order."""
    rng = random.Random(seed)
    live = [rt for rt in rts if rt.name in CONCURRENT and not rt.failed]
    for r in range(rounds):
        order = [(rt, k) for rt in live for k in ks]
        rng.shuffle(order)
        for rt, k in order:
            if rt.failed:
                continue
            got = start_batch(ws, rt, k)
            if isinstance(got, str):
                rt.failed = f"concurrent round {r}: {got}"
                log(f"  {rt.name} failed: {rt.failed}")
                continue
            rt.batches.setdefault(k, []).append(got)
        log(f"  concurrent round {r + 1}/{rounds}")


def measure_suite() -> dict:
    """The local test suite's wall time (`pytest -q` from the checkout, as root), run
    before the benchmark enters its private mount namespace: the tests see the host."""
    t0 = time.perf_counter()
    cp = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], check=False, timeout=3600, cwd=REPO)
    wall = time.perf_counter() - t0
    lines = [ln for ln in (cp.stdout or "").splitlines() if ln.strip()]
    return {"wall_s": wall, "exit": cp.returncode, "summary": lines[-1].strip("= ") if lines else "?"}


def measure_sequential(ws: Workspace, rts: list[Runtime], n: int) -> None:
    for rt in rts:
        if rt.failed:
            continue
        t0 = time.perf_counter()
        done = 0
        for _ in range(n):
            _, _, rc = start_once(ws, rt.argv())
            if rc != 0:
                rt.failed = f"sequential start {done + 1}: " + diagnose(rt.argv())
                log(f"  {rt.name} failed: {rt.failed}")
                break
            done += 1
        dt = time.perf_counter() - t0
        rt.seq_n = done
        if done == n:
            rt.starts_per_s = n / dt
        log(f"  {rt.name}: {n} sequential starts in {dt:.2f} s")


def rss_launcher() -> str | None:
    """GNU time: a small C process that forks the runtime and reports the
    wait4() ru_maxrss of that child (see rss_note)."""
    p = "/usr/bin/time"
    if not os.path.exists(p):
        return None
    try:
        cp = run([p, "-f", "%M", "/bin/true"], check=False, timeout=10)
        int(cp.stderr.strip().splitlines()[-1])
    except Exception:
        return None  # busybox's time or something else; its %M is not KiB
    return p


def maxrss_kib(ws: Workspace, launcher: str, argv: list[str]) -> int | None:
    out = ws.tmp / "maxrss"
    cp = run([launcher, "-f", "%M", "-o", str(out), *argv], check=False, timeout=60, cwd=str(ws.tmp),
             capture_output=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if cp.returncode != 0:
        return None
    try:
        return int(out.read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def measure_rss(ws: Workspace, rts: list[Runtime], runs: int, launcher: str) -> int | None:
    def one(argv):
        return maxrss_kib(ws, launcher, argv)

    base = max((v for v in (one(CMD) for _ in range(3)) if v is not None), default=None)
    for rt in rts:
        if rt.failed:
            continue
        vals = [v for v in (one(rt.argv()) for _ in range(runs)) if v is not None]
        rt.rss_kib = max(vals) if vals else None
    return base


# --------------------------------------------------------------------------
# profile of demo-runtime's start


def script_python(script: Path) -> str:
    try:
        with open(script, "rb") as f:
            line = f.readline().decode(errors="replace").strip()
        if line.startswith("#!"):
            interp = line[2:].split()[0]
            if os.path.exists(interp) and "python" in Path(interp).name:
                return interp
    except OSError:
        pass
    return sys.executable


def _time_once(argv, cwd) -> float | None:
    """ms of one run, None if it failed."""
    t0 = time.perf_counter()
    cp = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000 if cp.returncode == 0 else None


def _time_interleaved(steps, n, cwd) -> dict:
    """{label: median ms} over n rounds, each running every step once in a shuffled order,
    so that a load change hits all steps alike (as the runtimes' rounds do)."""
    times = {label: [] for label, _ in steps}
    for _ in range(n):
        for label, argv in random.sample(steps, len(steps)):
            times[label].append(_time_once(argv, cwd))
    return {label: None if None in xs else statistics.median(xs) for label, xs in times.items()}


IMPORT_RE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def profile_demo(ws: Workspace, args, image: Path) -> dict:
    n, top = args.profile_runs, args.top
    demo = find_demo_runtime(args.demo_runtime)
    if demo is None:
        return {"error": "demo-runtime not found"}
    py = script_python(demo)
    # Every run from the temp dir: `python -c` puts its working directory first on
    # sys.path, which from the repository root would profile the checkout, not the
    # installed package that the script runs.
    cwd = str(ws.tmp)
    package = run([py, "-c", "import os, runtime; print(os.path.dirname(runtime.__file__))"], cwd=cwd).stdout.strip()
    prof: dict = {"python": py, "script": str(demo), "package": package}
    argv = [str(demo), str(image), *CMD]
    log("profiling demo-runtime ...")
    for _ in range(3):  # warm caches
        _time_once(argv, cwd)
    # what the console script imports before calling main() (pip's wrapper: re, sys, runtime.cli)
    try:
        wrapper_imports = "; ".join(
            ln.strip() for ln in demo.read_text(errors="replace").splitlines()
            if ln.startswith(("import ", "from ")))
    except OSError:
        wrapper_imports = ""
    wrapper_imports = wrapper_imports or "import runtime.cli"
    prof["wrapper_imports"] = wrapper_imports
    steps = [
        ("interpreter core", f"{Path(py).name} -I -S -c pass", [py, "-I", "-S", "-c", "pass"]),
        ("site (venv .pth files, sitecustomize)", f"{Path(py).name} -c pass", [py, "-c", "pass"]),
        ("console-script imports", f"{Path(py).name} -c '{wrapper_imports}'", [py, "-c", wrapper_imports]),
        ("main(): lazy imports, argument parsing, loop/mount/clone/exec/wait",
         "demo-runtime IMAGE " + " ".join(CMD), argv),
    ]
    prof["wall_ms"] = _time_interleaved([(label, a) for _, label, a in steps], n, cwd)
    launcher = rss_launcher()
    if launcher:
        prof["peak_rss_mib"] = {}
        for _, label, a in steps:
            vals = [v for v in (maxrss_kib(ws, launcher, a) for _ in range(3)) if v is not None]
            prof["peak_rss_mib"][label] = max(vals) / 1024 if vals else None
    prof["breakdown_ms"] = {}
    prev = 0.0
    for (what, label, _) in steps:
        v = prof["wall_ms"][label]
        if v is None:
            break
        prof["breakdown_ms"][what] = v - prev
        prev = v
    # -X importtime of the real start path (console script, all lazy imports)
    cp = run([py, "-X", "importtime", str(demo), str(image), *CMD], check=False, timeout=60, cwd=cwd)
    rows = []
    for ln in (cp.stderr or "").splitlines():
        m = IMPORT_RE.match(ln)
        if m:
            rows.append({"self_us": int(m.group(1)), "cumulative_us": int(m.group(2)),
                         "depth": (len(m.group(3)) - 1) // 2, "module": m.group(4)})
    prof["importtime_total_ms"] = sum(r["cumulative_us"] for r in rows if r["depth"] == 0) / 1000
    prof["importtime_count"] = len(rows)
    prof["importtime_top_cumulative"] = sorted(rows, key=lambda r: -r["cumulative_us"])[:top]
    prof["importtime_top_self"] = sorted(rows, key=lambda r: -r["self_us"])[:top]
    prof["importtime_toplevel"] = sorted((r for r in rows if r["depth"] == 0),
                                         key=lambda r: -r["cumulative_us"])[:top]
    # function-level profile; os._exit is wrapped (in the runtime's own process
    # only, not in forked children) so the profile is written even when the
    # runtime leaves through os._exit
    pf = ws.tmp / "demo.prof"
    driver = (
        "import cProfile, os, sys\n"
        f"OUT, SCRIPT = {str(pf)!r}, {str(demo)!r}\n"
        "pr = cProfile.Profile(); pid = os.getpid(); real_exit = os._exit\n"
        "def _exit(code):\n"
        "    if os.getpid() == pid:\n"
        "        pr.disable(); pr.dump_stats(OUT)\n"
        "    real_exit(code)\n"
        "os._exit = _exit\n"
        "sys.argv = [SCRIPT] + sys.argv[1:]\n"
        "code = compile(open(SCRIPT).read(), SCRIPT, 'exec')\n"
        "pr.enable()\n"
        "try:\n"
        "    exec(code, {'__name__': '__main__', '__file__': SCRIPT})\n"
        "finally:\n"
        "    pr.disable(); pr.dump_stats(OUT)\n")
    run([py, "-c", driver, str(image), *CMD], check=False, timeout=60, cwd=cwd)
    if not pf.exists():
        prof["cprofile_cumulative"] = "(no profile written)"
    else:
        import io
        import pstats
        s = io.StringIO()
        pstats.Stats(str(pf), stream=s).sort_stats("cumulative").print_stats(top)
        prof["cprofile_cumulative"] = s.getvalue().strip()
        pkg = re.escape(package)  # the runtime's own functions only (the installed package)
        s = io.StringIO()
        st = pstats.Stats(str(pf), stream=s).sort_stats("cumulative")
        st.print_stats(pkg, top)
        txt = s.getvalue()
        prof["cprofile_runtime_only"] = txt[txt.find("   ncalls"):].strip() if "   ncalls" in txt else ""
    if shutil.which("strace"):
        # syscall time (strace -f -w -c: wall time spent in each syscall, whole tree)
        so = ws.tmp / "strace.txt"
        run(["strace", "-f", "-w", "-c", "-o", str(so), *argv], check=False, timeout=60, cwd=cwd)
        if so.exists():
            lines = so.read_text().splitlines()
            prof["strace_summary"] = "\n".join(lines[: top + 2] + lines[-2:])
        # timeline of the steps that matter, relative to the first execve
        # (--seccomp-bpf: only the traced syscalls stop the tracee, far less distortion)
        st = ws.tmp / "strace-tl.txt"
        for extra in (["--seccomp-bpf"], []):
            cp = run(["strace", "-f", *extra, "-ttt", "-s", "64", "-o", str(st),
                      "-e", "trace=execve,clone,clone3,fork,vfork,unshare,setns,mount,umount2,pivot_root,chroot,"
                      "ioctl,wait4,exit_group", *argv], check=False, timeout=60, cwd=cwd)
            if cp.returncode == 0:
                prof["strace_timeline_mode"] = " ".join(["strace -f", *extra, "-ttt"])
                break
        if st.exists():
            tl, t0 = [], None
            for ln in st.read_text().splitlines():
                m = re.match(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$", ln)
                if not m:
                    continue
                t = float(m.group(2))
                t0 = t if t0 is None else t0
                call = m.group(3)
                if call.startswith("ioctl(") and not re.search(r"LOOP|SIOC", call):
                    continue  # tty probes and the like
                tl.append(f"{(t - t0) * 1000:8.2f} ms  [{m.group(1)}] {call[:150]}")
            prof["strace_timeline"] = "\n".join(tl[:80])
    return prof


# --------------------------------------------------------------------------
# report


def fmt(x, spec=".1f", none="–"):
    return none if x is None else format(x, spec)


def concurrency_results(rt: Runtime) -> dict:
    out = {}
    for k, batches in sorted(rt.batches.items()):
        starts = [w for _, ws in batches for w in ws]
        out[k] = {"batches": len(batches), "batch_median_ms": median([b for b, _ in batches]) * 1000,
                  "start_median_ms": median(starts) * 1000, "start_p90_ms": p90(starts) * 1000,
                  "start_max_ms": max(starts) * 1000}
    return out


def build_results(rts: list[Runtime]) -> dict:
    by = {rt.name: rt for rt in rts}
    runc_med = median(by["runc"].samples) if "runc" in by and by["runc"].samples else None
    crun_med = median(by["crun"].samples) if "crun" in by and by["crun"].samples else None
    floor_med = median(by["floor"].samples) if "floor" in by and by["floor"].samples else None
    res = {}
    for rt in sorted(rts, key=lambda r: ORDER.index(r.name.split(" ")[0])):
        med = median(rt.samples)
        res[rt.name] = {
            "command": rt.what,
            "version": rt.version,
            "n": len(rt.samples),
            "median_ms": med * 1000 if med is not None else None,
            "p90_ms": p90(rt.samples) * 1000 if rt.samples else None,
            "min_ms": min(rt.samples) * 1000 if rt.samples else None,
            "mean_ms": statistics.fmean(rt.samples) * 1000 if rt.samples else None,
            "x_runc": med / runc_med if med and runc_med else None,
            "x_crun": med / crun_med if med and crun_med else None,
            "x_floor": med / floor_med if med and floor_med else None,
            "starts_per_s": rt.starts_per_s,
            "sequential_n": rt.seq_n,
            "peak_rss_mib": rt.rss_kib / 1024 if rt.rss_kib is not None else None,
            "cpu_ms_median": median(rt.cpu) * 1000 if rt.cpu else None,
            "failed": rt.failed,
            "samples_ms": [round(s * 1000, 3) for s in rt.samples],
            "concurrent": concurrency_results(rt),
        }
    return res


def targets(res: dict) -> dict:
    """The issue's targets; value is demo-runtime's number over the bound (<= 1 is met)."""
    d, r, c = res.get("demo-runtime"), res.get("runc"), res.get("crun")
    t = {}
    if d and c and d["median_ms"] and c["median_ms"]:
        t["median <= crun's"] = {"value": d["x_crun"], "ok": d["x_crun"] <= 1}
    dk, ck = (d or {}).get("concurrent", {}), (c or {}).get("concurrent", {})
    if dk and ck and max(dk) == max(ck):
        k = max(dk)
        ratio = dk[k]["batch_median_ms"] / ck[k]["batch_median_ms"]
        t[f"K={k} batch <= crun's"] = {"value": ratio, "ok": ratio <= 1}
    if dk and 1 in dk and len(dk) > 1:
        k = max(dk)
        ratio = dk[k]["start_p90_ms"] / (TARGET_P90_X_K1 * dk[1]["start_median_ms"])
        t[f"p90 at K={k} <= {TARGET_P90_X_K1:g} x K=1 median"] = {"value": ratio, "ok": ratio <= 1}
    if d and r and d["peak_rss_mib"] is not None and r["peak_rss_mib"] is not None:
        ratio = d["peak_rss_mib"] / r["peak_rss_mib"]
        t["peak RSS <= runc's"] = {"value": ratio, "ok": ratio <= 1}
    return t


def _loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def machine_info(rts: list[Runtime]) -> dict:
    cpu = "?"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "kernel": platform.release(),
        "arch": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "loadavg": _loadavg(),
        "versions": {rt.name: rt.version for rt in rts},
    }


def markdown(doc: dict) -> str:
    m, res, cfg = doc["machine"], doc["results"], doc["config"]
    out = []
    vers = "; ".join(f"{k}: {v}" for k, v in m["versions"].items())
    out.append(f"machine: Linux {m['kernel']} {m['arch']}, {m['cpus']} CPUs ({m['cpu_model']}), "
               f"Python {m['python']}, load {m.get('loadavg_start', '?')} → {m['loadavg']}; {vers}")
    out.append(f"run: {cfg['rounds']} interleaved rounds (+{cfg['warmup']} warm-up), "
               f"{cfg['sequential']} sequential starts each, peak RSS max of {cfg['rss_runs']} runs; "
               f"command {' '.join(CMD)}; image {cfg['image']} ({cfg['image_mib']:.1f} MiB); "
               f"peers use its content as a plain directory ({cfg['peer_root']}); "
               f"cgroup view: {cfg['cgroup_view']}"
               + (f"; dropped from the environment: {', '.join(cfg['python_env_dropped'])}"
                  if cfg["python_env_dropped"] else ""))
    out.append("")
    out.append("| runtime | median ms | p90 ms | × crun | × runc | × floor | starts/s | peak RSS MiB | cpu ms |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in res.items():
        note = " (failed)" if r["failed"] else ""
        out.append(f"| {name}{note} | {fmt(r['median_ms'], '.2f')} | {fmt(r['p90_ms'], '.2f')} | "
                   f"{fmt(r['x_crun'], '.2f')} | {fmt(r['x_runc'], '.2f')} | {fmt(r['x_floor'], '.2f')} | "
                   f"{fmt(r['starts_per_s'], '.0f')} | {fmt(r['peak_rss_mib'], '.1f')} | {fmt(r['cpu_ms_median'], '.1f')} |")
    out.append("")
    if any(r["concurrent"] for r in res.values()):
        out.append(f"K concurrent starts from one image (bundle), {cfg['concurrent_rounds']} interleaved batches each:")
        out.append("")
        out.append("| runtime | K | batch ms | per start: median ms | p90 ms | max ms |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, r in res.items():
            for k, c in r["concurrent"].items():
                out.append(f"| {name} | {k} | {c['batch_median_ms']:.1f} | {c['start_median_ms']:.1f} | "
                           f"{c['start_p90_ms']:.1f} | {c['start_max_ms']:.1f} |")
        out.append("")
    for name, why in doc["skipped"].items():
        out.append(f"- skipped {name}: {why}")
    for name, r in res.items():
        if r["failed"]:
            out.append(f"- {name} failed: {r['failed']}")
    if doc["targets"]:
        out.append("- targets (demo-runtime): " + "; ".join(
            f"{k}: {v['value']:.2f} of it, {'met' if v['ok'] else 'MISSED'}" for k, v in doc["targets"].items()))
    rb = doc.get("rss_baseline_mib")
    out.append("- peak RSS = ru_maxrss from wait4() of the runtime's process, i.e. the largest RSS reached by "
               "that process or any descendant it reaped (a max over single processes, not a sum); "
               + (f"measured under GNU time, whose own forked child sets a floor of {rb:.1f} MiB (its value for "
                  f"plain {CMD[0]})." if rb is not None else "not measured (install GNU time: apt-get install time)."))
    out.append("- cpu ms = median user+sys CPU of the process tree per start (wait4 rusage).")
    try:
        busy = max(float(m.get("loadavg_start", "0").split()[0]), float(m["loadavg"].split()[0]))
        if busy > 0.5 * (m["cpus"] or 1):
            out.append(f"- WARNING: the machine was busy (1-min load up to {busy:.2f} on {m['cpus']} CPUs); "
                       "ratios from one interleaved run stay comparable, absolute numbers do not.")
    except (ValueError, IndexError):
        pass
    if doc.get("suite"):
        su = doc["suite"]
        out.append(f"- local test suite (`pytest -q`, exit {su['exit']}): {su['wall_s']:.0f} s wall; {su['summary']}")
    if doc.get("leftovers"):
        out.append("- cleaned up after the runtimes: " + ", ".join(doc["leftovers"]))
    return "\n".join(out)


def markdown_profile(p: dict) -> str:
    if "error" in p:
        return f"## demo-runtime profile\n\n{p['error']}"
    out = ["## Where demo-runtime's start time goes", ""]
    out.append(f"interpreter: {p['python']}; script: {p['script']}; package: {p.get('package')}")
    out.append("")
    out.append("| command | median wall ms | peak RSS MiB | step | step ms |")
    out.append("|---|---:|---:|---|---:|")
    steps = list(p["breakdown_ms"].items())
    rss = p.get("peak_rss_mib", {})
    for i, (k, v) in enumerate(p["wall_ms"].items()):
        step, ms = steps[i] if i < len(steps) else ("", None)
        out.append(f"| `{k}` | {fmt(v, '.2f')} | {fmt(rss.get(k), '.1f')} | {step} | {fmt(ms, '.2f')} |")
    out.append("")
    out.append(f"`-X importtime` of the real start: {p['importtime_count']} modules, "
               f"{p['importtime_total_ms']:.1f} ms in top-level imports (importtime adds its own overhead).")
    for title, key in (("top-level imports by cumulative", "importtime_toplevel"),
                       ("all modules by cumulative", "importtime_top_cumulative"),
                       ("all modules by self", "importtime_top_self")):
        out.append("")
        out.append(f"{title}:")
        out.append("")
        out.append("| module | self ms | cumulative ms |")
        out.append("|---|---:|---:|")
        for r in p[key]:
            out.append(f"| {'  ' * r['depth']}{r['module']} | {r['self_us'] / 1000:.2f} | {r['cumulative_us'] / 1000:.2f} |")
    if p.get("cprofile_cumulative"):
        out += ["", "cProfile (cumulative):", "", "```", p["cprofile_cumulative"], "```"]
    if p.get("cprofile_runtime_only"):
        out += ["", "cProfile, the runtime package's own functions (cumulative):", "", "```",
                p["cprofile_runtime_only"], "```"]
    if p.get("strace_summary"):
        out += ["", "strace -f -w -c (wall time in syscalls, whole tree, strace overhead included):",
                "", "```", p["strace_summary"], "```"]
    if p.get("strace_timeline"):
        out += ["", f"{p.get('strace_timeline_mode', 'strace')} timeline (ms since the first execve; strace slows "
                "the traced syscalls, so read the order and the gaps more than the absolute numbers):",
                "", "```", p["strace_timeline"], "```"]
    return "\n".join(out)


# --------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", help="ext4 image with /bin/true (default: build one with "
                    "testcontainer/build.sh --busybox, or a built-in busybox fallback)")
    ap.add_argument("--demo-runtime", help="path of the demo-runtime executable "
                    "(default: next to this Python, then .venv/bin, then PATH)")
    ap.add_argument("--rounds", type=int, default=50, help="interleaved rounds (default 50)")
    ap.add_argument("--warmup", type=int, default=3, help="discarded warm-up rounds (default 3)")
    ap.add_argument("--concurrent", default="1,8,32", metavar="K,K,...",
                    help="batch sizes of concurrent starts for demo-runtime, crun and runc (default 1,8,32; '' skips)")
    ap.add_argument("--concurrent-rounds", type=int, default=5, help="batches of each K (default 5)")
    ap.add_argument("--sequential", type=int, default=100,
                    help="back-to-back starts per runtime for starts/s (default 100; 0 skips)")
    ap.add_argument("--rss-runs", type=int, default=5, help="starts under GNU time per runtime (default 5; 0 skips)")
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(ORDER))
    ap.add_argument("--demo-variant", action="append", default=[], metavar="OPTIONS",
                    help="also time demo-runtime with OPTIONS (e.g. '--pids-limit 0'), in the same "
                    "interleaved rounds; repeatable")
    ap.add_argument("--peer-root", choices=("extract", "mount"), default="extract",
                    help="how peers get the image's content: extract = debugfs rdump into a temp dir "
                    "(default); mount = read-only loop mount in the private mount namespace")
    ap.add_argument("--crun-cgroup-manager", choices=("cgroupfs", "systemd", "disabled"),
                    help="pass --cgroup-manager to crun (default: crun's default, cgroupfs here)")
    ap.add_argument("--no-cgroup2", action="store_true",
                    help="do not mount cgroup2 at /sys/fs/cgroup in the private mount namespace "
                    "(crun then fails on a v1/hybrid host)")
    ap.add_argument("--seed", type=int, default=1, help="seed for the per-round order shuffle")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="write JSON to FILE, or to stdout when no FILE is given (the table then goes to stderr)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile demo-runtime's start (-X importtime, cProfile, strace -c)")
    ap.add_argument("--no-bench", action="store_true", help="skip the comparison (with --profile)")
    ap.add_argument("--profile-runs", type=int, default=20)
    ap.add_argument("--top", type=int, default=15, help="rows in profile tables")
    ap.add_argument("--suite", action="store_true", help="also time the local test suite (pytest -q), first")
    ap.add_argument("--check", action="store_true", help="exit 1 if demo-runtime misses a target")
    ap.add_argument("--keep-python-env", action="store_true",
                    help="keep PYTHON* environment variables for the runs (default: drop them)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (debugging)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench.py: must run as root (it uses loop devices, mounts and namespaces); "
              "try: sudo .venv/bin/python bench/bench.py", file=sys.stderr)
        return 2
    if args.only:
        bad = set(args.only.split(",")) - set(ORDER)
        if bad:
            print(f"bench.py: unknown runtime(s) in --only: {', '.join(sorted(bad))}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)
    dropped = []
    if not args.keep_python_env:
        # PYTHON* variables change how demo-runtime's interpreter starts (e.g.
        # PYTHONDONTWRITEBYTECODE recompiles every module on every start);
        # measure it as installed, not as this shell happens to be set up.
        for k in [k for k in os.environ if k.startswith("PYTHON")]:
            dropped.append(k)
            del os.environ[k]

    ws = Workspace(keep_tmp=args.keep_tmp)
    doc: dict = {}
    try:
        if args.suite:
            log("the local test suite (pytest -q) ...")
            doc["suite"] = measure_suite()
        load_start = _loadavg()
        ws.enter_private_mountns(cgroup2=not args.no_cgroup2)
        if args.image:
            image = Path(args.image).resolve()
            if not image.is_file():
                raise BenchError(f"--image {args.image}: no such file")
        else:
            image = build_image(ws)
        ws.watch_loops(image)
        skipped: dict = {}
        rts: list[Runtime] = []
        if not args.no_bench:
            rootdir = image_to_dir(ws, image, args.peer_root)
            rts = discover(ws, args, image, rootdir, skipped)
            rts = preflight(ws, rts, skipped)
            if rts:
                log(f"measuring {', '.join(r.name for r in rts)}: {args.rounds} rounds ...")
                measure_rounds(ws, rts, args.rounds, args.warmup, args.seed)
                ks = [int(k) for k in args.concurrent.split(",") if k]
                if ks and args.concurrent_rounds > 0:
                    log(f"concurrent starts (K = {args.concurrent}) ...")
                    measure_concurrent(ws, rts, ks, args.concurrent_rounds, args.seed)
                if args.sequential > 0:
                    log(f"sequential starts ({args.sequential} each) ...")
                    measure_sequential(ws, rts, args.sequential)
                rss_base = None
                if args.rss_runs > 0:
                    launcher = rss_launcher()
                    if launcher:
                        log("peak RSS ...")
                        rss_base = measure_rss(ws, rts, args.rss_runs, launcher)
                    else:
                        log("peak RSS skipped: GNU time (/usr/bin/time) not found (apt-get install time)")
                doc["rss_baseline_mib"] = rss_base / 1024 if rss_base is not None else None
        res = build_results(rts)
        doc.update({
            "machine": {**machine_info(rts), "loadavg_start": load_start},
            "config": {"rounds": args.rounds, "warmup": args.warmup, "sequential": args.sequential,
                       "concurrent": args.concurrent, "concurrent_rounds": args.concurrent_rounds,
                       "rss_runs": args.rss_runs, "seed": args.seed, "image": str(image),
                       "image_mib": image.stat().st_size / 2**20, "peer_root": args.peer_root,
                       "cgroup_view": "host layout" if args.no_cgroup2 else
                       "private mount namespace with cgroup2 at /sys/fs/cgroup",
                       "command": CMD, "python_env_dropped": dropped},
            "results": res,
            "targets": targets(res),
            "skipped": skipped,
        })
        if args.profile:
            doc["profile"] = profile_demo(ws, args, image)
    except BenchError as e:
        ws.cleanup()
        print(f"bench.py: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        ws.cleanup()
        print("bench.py: interrupted; cleaned up", file=sys.stderr)
        return 130
    except BaseException:
        ws.cleanup()
        raise
    ws.cleanup()
    doc["leftovers"] = ws.leftovers

    table_out = sys.stderr if args.json == "-" else sys.stdout
    if not args.no_bench:
        print(markdown(doc), file=table_out)
    if "profile" in doc:
        print("\n" + markdown_profile(doc["profile"]), file=table_out)
    if args.json:
        text = json.dumps(doc, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    if args.check and any(not t["ok"] for t in doc.get("targets", {}).values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
