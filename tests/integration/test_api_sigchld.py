"""runtime.run and Container.exec in a caller with a SIGCHLD handler of its own that
reaps every child that exited (waitpid(-1, WNOHANG) in a loop: old asyncio child
watchers, supervisord-like harnesses). The runtime's children are not that handler's
to reap: each Result is still the command's, both where the runtime runs in the caller
and where it runs in a fork of it, and the caller is as it was.

Each test runs a small caller of its own (a new interpreter), whose threads it controls."""

import pytest

from . import api_callers

pytestmark = pytest.mark.property("process")

# The controls' part of a caller: a child of its own that exits at once; own_child_taken()
# says whether a waitpid for it then finds nothing (reaped: the handler's list, awaited first).
OWN_CHILD = r"""
import time

def own_child_taken(reaped=None):
    child = os.fork()
    if child == 0:
        os._exit(0)
    for _ in range(30000):  # the bound of a hang (300 s), not a time this takes
        if reaped is None or child in reaped:
            break
        time.sleep(0.01)
    try:
        os.waitpid(child, 0)
        return child, False
    except ChildProcessError:
        return child, True
"""

# CALLER IMAGE THREADS, after api_callers.PRELUDE: the reaping handler, then the
# control (a child of the caller's own, os.fork()'d, is the handler's: our waitpid for
# it finds nothing), then runs and execs, each three times (a theft is a race: the child
# must exit while the caller is not yet in its waitpid). Prints one JSON line.
CALLER = api_callers.PRELUDE + OWN_CHILD + r"""
reaped = []
def reap(signum, frame):
    os.write(2, b"reaper ran in %d\n" % os.getpid())  # in a process of the runtime's: its Result says so
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reaped.append(pid)
signal.signal(signal.SIGCHLD, reap)
child, stolen = own_child_taken(reaped)

before = state()
results = []
def record(r):
    results.append([r.status, r.stdout, r.stderr])
for _ in range(3):
    # The init's parent (pid: off, so the host's /proc): this caller, or a fork of it.
    record(runtime.run(image, ["sh", "-c", "cut -d ' ' -f 4 /proc/$$/stat; echo err >&2; exit 3"], disable="pid"))
with runtime.Container(image, disable="pid") as box:
    for _ in range(3):
        # The joiner's parent: this caller, or a fork of it.
        record(box.exec("sh", "-c", "cut -d ' ' -f 4 /proc/$(cut -d ' ' -f 4 /proc/$$/stat)/stat; echo err >&2; exit 4"))
    # What the exec'd command has blocked: nothing the runtime held (SIGCHLD) is left.
    record(box.exec("grep", "SigBlk", "/proc/self/status"))
record(runtime.run(image, ["grep", "SigBlk", "/proc/self/status"], disable="pid"))
# The init forks a helper (the uid map's writer) and waits for it before its exec.
record(runtime.run(image, ["id", "-u"], userns=True, disable="pid"))
after = state()
print(json.dumps({"pid": os.getpid(), "control": [child, stolen], "reaped": reaped, "results": results, "before": before, "after": after}))
"""


@pytest.mark.parametrize("threads", [0, 2], ids=["in the caller", "in a fork (threads)"])
def test_a_caller_reaping_every_child_on_sigchld_gets_the_right_results(api_image, threads):
    seen = api_callers.caller(CALLER, api_image, threads)
    child, stolen = seen["control"]
    assert stolen and seen["reaped"][:1] == [child]  # the control: the handler reaps what is its caller's
    runs, execs, masks, userns = seen["results"][:3], seen["results"][3:6], seen["results"][6:8], seen["results"][8]
    for status, stdout, stderr in runs:
        assert (status, stderr.partition("\n")[0]) == (3, "err")  # then --disable pid's note
        assert (int(stdout) == seen["pid"]) == (threads == 0)  # the path this caller takes
    for status, stdout, stderr in execs:
        assert (status, stderr) == (4, "err\n")
        assert (int(stdout) == seen["pid"]) == (threads == 0)
    assert [m[:2] for m in masks] == [[0, "SigBlk:\t0000000000000000\n"]] * 2
    assert userns[:2] == [0, "0\n"]
    assert not [r for r in seen["results"] if "reaper" in r[2]]  # the handler ran in none of the runtime's processes
    assert seen["reaped"] == [child]  # none of the runtime's children reached the handler
    assert seen["after"] == seen["before"]


# CALLER IMAGE THREADS, after api_callers.PRELUDE: SIGCHLD ignored, then the control (the
# kernel reaps a child of the caller's own as it exits: a waitpid for it finds nothing),
# then a run and an exec. Prints one JSON line.
IGNORING = api_callers.PRELUDE + OWN_CHILD + r"""
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
_, reaped_by_the_kernel = own_child_taken()
before = state()
results = [runtime.run(image, ["sh", "-c", "echo out; exit 3"])]
with runtime.Container(image) as box:
    results.append(box.exec("sh", "-c", "echo out; exit 4"))
after = state()
print(json.dumps({"control": reaped_by_the_kernel, "results": [[r.status, r.stdout] for r in results], "before": before, "after": after}))
"""


@pytest.mark.parametrize("threads", [0, 2], ids=["single-threaded", "with threads"])
def test_a_caller_that_ignores_sigchld_gets_the_right_results(api_image, threads):
    seen = api_callers.caller(IGNORING, api_image, threads)
    assert seen["control"]  # SIG_IGN: the kernel reaps the caller's children itself
    assert seen["results"] == [[3, "out\n"], [4, "out\n"]]
    assert seen["after"] == seen["before"]
