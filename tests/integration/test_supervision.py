"""The supervisor of a detached container: it dies, the container dies; the starting
command dies, nothing is left; many containers at once."""

import shlex

import pytest

from .containers import STATE_ROOT
from .netns import wait_for

pytestmark = pytest.mark.property("supervision")


@pytest.mark.parametrize("remove", [False, True], ids=["kept", "rm"])
def test_supervisor_sigkilled_takes_the_container_with_it(runtime, host, names, remove):
    name = runtime.start(names(), options=("--rm",) if remove else ())
    state = runtime.state(name)
    host.check_output("kill -KILL %s", str(state["supervisor"]))
    # The janitor records the exit (or, with --rm, removes the state) after its teardowns.
    if remove:
        wait_for(lambda: runtime.state(name) is None, "the janitor to remove the state")
        assert runtime.state(name) is None
    else:
        wait_for(lambda: runtime.state(name)["status"] == "exited", "the janitor to record the exit")
        after = runtime.state(name)
        assert (after["status"], after["exit_code"], after["reason"]) == ("exited", None, "its supervisor died")
        assert "exited: its supervisor died" in runtime.cli("ps", "-a").stdout
        assert runtime.cli("exec", name, "true").rc == 73
    # PID 1 is dead (at most a zombie, until the host's init reaps the orphan).
    assert host.run("grep -q '^State:.*[RSDT]' /proc/%s/status", str(state["pid"])).rc != 0
    # no_residue: no loop device, cgroup or process of it left


KILLED_MID_START = r"""
import json, os, subprocess, sys, time
argv, path = sys.argv[1:-1], sys.argv[-1]
r, w = os.pipe()
os.set_blocking(w, False)
for size in (65536, 1):  # fill the pipe: printing the name then blocks the runtime
    try:
        while True:
            os.write(w, b"x" * size)
    except BlockingIOError:
        pass
os.set_blocking(w, True)
runtime = subprocess.Popen(argv, stdout=w)
os.close(w)
for _ in range(1000):
    try:
        if json.load(open(f"{path}/state.json"))["status"] == "running":
            break
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
else:
    sys.exit("never ran")
runtime.kill()  # after PID 1 runs, before the runtime has said so
runtime.wait()
for _ in range(1000):
    if not os.path.exists(path):
        print("gone")
        break
    time.sleep(0.01)
"""


def test_runtime_killed_mid_run_d_leaves_nothing(runtime, host, names):
    name = names()
    argv = runtime.target.run_argv(["run", "-d", "--name", name, runtime.target.image, "sleep", "1000"])
    out = host.run(shlex.join(["python3", "-c", KILLED_MID_START, *argv, f"{STATE_ROOT}/{name}"]))
    assert (out.rc, out.stdout) == (0, "gone\n"), out.stderr
    # no_residue: no supervisor, PID 1, loop device or cgroup either


def test_twenty_at_once_all_reachable_all_removed(runtime, host, names, workdir):
    started = [names() for _ in range(20)]

    def all_at_once(argvs):
        """The runtime's commands, all started before the first is waited for: their outputs."""
        running = [runtime.spawn_cli(*argv, out=f"{workdir}/at-once-{i}") for i, argv in enumerate(argvs)]
        wait_for(lambda: all(r.status() is not None for r in running), "every command to end")
        outputs = [host.check_output(f"cat {workdir}/at-once-{i}") for i in range(len(argvs))]
        host.run(f"rm -f {workdir}/at-once-*")
        assert [r.status() for r in running] == [0] * len(argvs), outputs
        return outputs

    image = runtime.target.image
    assert sorted(all_at_once([("run", "-d", "--name", n, "--hostname", n, image, "sleep", "1000") for n in started])) == sorted(started)
    assert sorted(all_at_once([("exec", n, "/bin/hostname") for n in started])) == sorted(started)
    assert runtime.cli("rm", "-f", *started).rc == 0
    assert all(runtime.state(n) is None for n in started)
