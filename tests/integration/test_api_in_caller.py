"""runtime.run in its caller: from a single-threaded process the runtime runs in that
process and clones the container's init from it (one fork fewer); from one with other
threads, or for what must not run there, in a fork of it, as before. Either way the
same Result, and the caller as it was.

Each test runs a small caller of its own (a new interpreter), whose threads it controls."""

import pytest

from . import api_callers

pytestmark = pytest.mark.property("process")

# CALLER IMAGE THREADS [OPTION...]: the runs; prints one JSON line: the caller's pid, its state
# before and after the runs, and each Result.
CALLER = api_callers.PRELUDE + r"""
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


def test_a_single_threaded_caller_is_the_runtime_and_stays_as_it_was(api_image):
    seen = api_callers.caller(CALLER, api_image, 0)
    assert seen["results"][0][:2] == [0, f"{seen['pid']}\n"]  # the init's parent: the caller
    assert seen["after"] == seen["before"]


def test_a_caller_with_threads_forks_the_runtime(api_image):
    seen = api_callers.caller(CALLER, api_image, 2)
    parent = int(seen["results"][0][1])
    assert parent != seen["pid"]  # the control: a fork of the caller was the runtime
    assert seen["after"] == seen["before"]


def test_either_way_the_same_results(api_image):
    here, forked = api_callers.caller(CALLER, api_image, 0)["results"][1:], api_callers.caller(CALLER, api_image, 1)["results"][1:]
    assert here == forked
    status, stdout, stderr = here[0]
    assert (status, stdout, stderr.partition("\n")[0]) == (3, "in\n" + "x" * 200000, "err")  # then --disable pid's note
    assert here[1][0] == 127 and "command not found in the image: /no/such/command" in here[1][2]


def test_a_plugin_that_changes_the_runtime_process_runs_forked(api_image):
    # unshare(CLONE_NEWTIME) would put every later child of the caller in the container's
    # time namespace: the run goes to a fork, and the caller's namespaces stay.
    seen = api_callers.caller(CALLER, api_image, 0, "time_offset=1000")
    assert int(seen["results"][0][1]) != seen["pid"]
    assert seen["after"] == seen["before"]


# Starts one container and waits: the test SIGKILLs it.
KILLED = "import runtime, sys\nruntime.run(sys.argv[1], ['sleep', '1003'])\n"


def test_the_caller_sigkilled_mid_run_takes_the_container_along(api_image, host):
    api_callers.sigkill_mid_call(host, KILLED, api_image, sleep=1003, what="the container's")
    # The residue check after the test: the janitor removed the container's cgroup.
