"""Container.exec in its caller: from a single-threaded process the exec's joiner is
cloned from that process (one fork fewer); from one with other threads, in a fork of it,
as before. Either way the same Result, and the caller as it was.

Each test runs a small caller of its own (a new interpreter), whose threads it controls."""

import pytest

from . import api_callers

pytestmark = pytest.mark.property("process")

# CALLER IMAGE THREADS: a container (no PID namespace of its own, so the host's pids are
# seen in it), then execs from this process, with THREADS extra threads waiting. Prints one
# JSON line: the caller's pid, its state before and after the execs, each Result.
CALLER = api_callers.PRELUDE + r"""
with runtime.Container(image, disable="pid") as box:
    before = state()
    results = []
    def run(*command, **kw):
        r = box.exec(*command, **kw)
        results.append([r.status, r.stdout, r.stderr])
    # The exec'd shell's parent is the joiner; the joiner's parent: this caller, or a fork.
    run("sh", "-c", "cut -d ' ' -f 4 /proc/$(cut -d ' ' -f 4 /proc/$$/stat)/stat")
    run("sh", "-c", "cat; head -c 200000 /dev/zero | tr '\\0' x; echo err >&2; exit 3", input=b"in\n")
    run("/no/such/command")
    after = state()
print(json.dumps({"pid": os.getpid(), "before": before, "after": after, "results": results}))
"""


def test_a_single_threaded_caller_clones_the_joiner_and_stays_as_it_was(api_image):
    seen = api_callers.caller(CALLER, api_image, 0)
    assert seen["results"][0][:2] == [0, f"{seen['pid']}\n"]
    assert seen["after"] == seen["before"]


def test_a_caller_with_threads_forks_the_runtime_for_exec(api_image):
    seen = api_callers.caller(CALLER, api_image, 2)
    assert seen["results"][0][0] == 0
    assert int(seen["results"][0][1]) != seen["pid"]  # the control: a fork of the caller ran exec
    assert seen["after"] == seen["before"]


def test_either_way_the_same_exec_results(api_image):
    here, forked = api_callers.caller(CALLER, api_image, 0)["results"][1:], api_callers.caller(CALLER, api_image, 1)["results"][1:]
    assert here == forked
    assert here[0] == [3, "in\n" + "x" * 200000, "err\n"]
    assert here[1][0] == 127 and "command not found in the image: /no/such/command" in here[1][2]


# A container named NAME, then an exec that waits: the test SIGKILLs the caller mid-exec.
KILLED = "import runtime, sys\nruntime.Container(sys.argv[1], name=sys.argv[2]).start().exec('sleep', '1005')\n"


def test_the_caller_sigkilled_mid_exec_takes_the_command_along(api_image, host, names):
    # The container outlives its caller (its supervisor is its own); `names` removes it.
    api_callers.sigkill_mid_call(host, KILLED, api_image, names(), sleep=1005, what="the exec'd")
