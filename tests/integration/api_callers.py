"""What the tests of the Python API in its caller share (test_api_in_caller, test_exec_in_caller):
a small caller of the test's own (a new interpreter, whose threads the test controls), its
state before and after, and a caller SIGKILLed mid-call. The fixture is registered in
conftest.py."""

import json
import subprocess
import sys

import pytest

from .netns import wait_for

# A caller's start: its arguments (IMAGE THREADS [OPTION...]), THREADS extra threads waiting
# (so the runtime runs in a fork where THREADS > 0), and state(): what the call must leave as it was.
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


def caller(script, image, threads, *options):
    """SCRIPT (PRELUDE and the calls) run as IMAGE THREADS OPTION...: the JSON line it prints."""
    out = subprocess.run([sys.executable, "-c", script, image, str(threads), *options], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def api_image(runtime):
    if not runtime.in_process:
        pytest.skip("the Python API runs where the target's runtime is this package")
    return runtime.target.image


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
