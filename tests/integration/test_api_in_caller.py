"""runtime.run in its caller: from a single-threaded process the runtime runs in that
process and clones the container's init from it (one fork fewer); from one with other
threads, or for what must not run there, in a fork of it, as before. Either way the
same Result, and the caller as it was.

Each test runs a small caller of its own (a new interpreter), whose threads it controls."""

import json
import subprocess
import sys

import pytest

from .netns import wait_for

pytestmark = pytest.mark.property("process")

# PRELUDE: a caller's arguments (IMAGE THREADS [OPTION...]), its threads and state(), shared
# with test_exec_in_caller's. CALLER IMAGE THREADS [OPTION...]: with THREADS > 0, that many extra threads waiting,
# so the runtime runs in a fork. Prints one JSON line: the caller's pid, its state
# before and after the runs, and each Result.
PRELUDE = r"""
import json, os, signal, sys, threading
import runtime

image, threads, options = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])  # one the runtime blocks and unblocks
hold = threading.Event()
for _ in range(threads):
    threading.Thread(target=hold.wait, daemon=True).start()


def state():
    return {
        "handlers": [repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD)],
        "mask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "stdio": [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (0, 1, 2)],
        "streams": [id(sys.stdin), id(sys.stdout), id(sys.stderr)],
        "fds": sorted(os.listdir("/proc/self/fd")),
        "namespaces": {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in sorted(os.listdir("/proc/self/ns"))},
        "cwd": os.getcwd(),
        "children": open(f"/proc/self/task/{os.getpid()}/children").read(),
    }

"""

CALLER = PRELUDE + r"""
before = state()
results = []
def run(command, **kw):
    r = runtime.run(image, command, input=kw.pop("input", b""), disable="pid", **dict(o.split("=", 1) for o in options), **kw)
    results.append([r.status, r.stdout, r.stderr])
# Its parent's pid (pid: off, so the host's /proc): this caller's, or a fork's.
run(["sh", "-c", "cut -d ' ' -f 4 /proc/$$/stat"])
# Input in, more output than a pipe holds, both streams apart.
run(["sh", "-c", "cat; head -c 200000 /dev/zero | tr '\\0' x; echo err >&2; exit 3"], input=b"in\n")
run(["/no/such/command"])
print(json.dumps({"pid": os.getpid(), "before": before, "after": state(), "results": results}))
"""


def caller(image, threads, *options, script=CALLER):
    out = subprocess.run([sys.executable, "-c", script, image, str(threads), *options], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def image(runtime):
    if not runtime.in_process:
        pytest.skip("runtime.run is the Python API: it runs where the target's runtime is this package")
    return runtime.target.image


def test_a_single_threaded_caller_is_the_runtime_and_stays_as_it_was(image):
    seen = caller(image, 0)
    assert seen["results"][0][:2] == [0, f"{seen['pid']}\n"]  # the init's parent: the caller
    assert seen["after"] == seen["before"]


def test_a_caller_with_threads_forks_the_runtime(image):
    seen = caller(image, 2)
    parent = int(seen["results"][0][1])
    assert parent != seen["pid"]  # the control: a fork of the caller was the runtime
    assert seen["after"] == seen["before"]


def test_either_way_the_same_results(image):
    here, forked = caller(image, 0)["results"][1:], caller(image, 1)["results"][1:]
    assert here == forked
    status, stdout, stderr = here[0]
    assert (status, stdout, stderr.partition("\n")[0]) == (3, "in\n" + "x" * 200000, "err")  # then --disable pid's note
    assert here[1][0] == 127 and "command not found in the image: /no/such/command" in here[1][2]


def test_a_plugin_that_changes_the_runtime_process_runs_forked(image):
    # unshare(CLONE_NEWTIME) would put every later child of the caller in the container's
    # time namespace: the run goes to a fork, and the caller's namespaces stay.
    seen = caller(image, 0, "time_offset=1000")
    assert int(seen["results"][0][1]) != seen["pid"]
    assert seen["after"] == seen["before"]


# Starts one container and waits: the test SIGKILLs it.
KILLED = "import runtime, sys\nruntime.run(sys.argv[1], ['sleep', '1003'])\n"


def sigkill_mid_call(host, script, *args, sleep, what):
    """Runs SCRIPT ARGS... in a new interpreter, waits until its `sleep SLEEP` (WHAT) runs,
    SIGKILLs that caller and waits for the sleep to end with it."""
    killed = subprocess.Popen([sys.executable, "-c", script, *args])

    def sleeps():  # zombies aside
        return [p for p in host.check_output("ps -eo stat=,args=").splitlines() if f"sleep {sleep}" in p and not p.startswith("Z")]

    try:
        wait_for(sleeps, f"{what} sleep {sleep}", ended=lambda: killed.poll() is not None and f"the caller exited {killed.returncode}")
    finally:
        killed.kill()
        killed.wait()
    wait_for(lambda: not sleeps(), f"{what} sleep {sleep} to end with its caller")


def test_the_caller_sigkilled_mid_run_takes_the_container_along(image, host):
    sigkill_mid_call(host, KILLED, image, sleep=1003, what="the container's")
    # The residue check after the test: the janitor removed the container's cgroup.
