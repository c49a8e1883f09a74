"""The default pids limit (2048, as podman): a fork bomb takes the container's PIDs, not
the host's; --pids-limit 0 lifts it."""

import random

import pytest

from ..netns import LONG, wait_for
from .conftest import blocked, breached

pytestmark = pytest.mark.property("cgroup")

DEFAULT = 2048


def bomb_processes(host, tag):
    return host.check_output(f"ps -eo args | grep -c '^/usr/local/bin/probe fork-bomb {tag}$'; true")


def test_fork_bomb_is_bounded_by_the_default_limit(probe, host):
    # The bomb's own ceiling, above the limit, keeps the host safe should the limit fail;
    # an odd number, to tell its processes from any other test's.
    ceiling = str(DEFAULT * 2 + random.randrange(1, 1000))
    v = probe("fork-bomb", ceiling)
    # PID 1 (the probe) and 2047 children: the 2048th fork is refused.
    assert blocked(v) and v.line == f"DENIED EAGAIN fork refused after {DEFAULT - 1} processes", v
    assert bomb_processes(host, ceiling) == "0"  # and all gone when the runtime returns


def test_fork_bomb_goes_past_the_default_with_a_higher_limit(probe, host):
    # The control: with the limit raised, the same bomb is not refused at 2048 (it stops
    # at its own ceiling, still below the raised limit).
    ceiling = str(DEFAULT + 100 + random.randrange(1, 100))
    v = probe("fork-bomb", ceiling, options=("--pids-limit", str(DEFAULT * 2)))
    assert breached(v) and v.line == f"OK forked {ceiling} processes, none refused", v
    assert bomb_processes(host, ceiling) == "0"


def pids_max(host, runtime, workdir, options):
    """pids.max of each cgroup the runtime makes for one container, read on the host while
    the container runs (its cgroups are named after the runtime's pid)."""
    out = f"{workdir}/pids-{random.randrange(1 << 30)}.out"
    line = runtime.line(*LONG, options=options)
    pid = host.check_output(f"{line} >{out} 2>&1 </dev/null & echo $!")
    try:
        wait_for(lambda: "trapped" in host.run(f"cat {out}").stdout, "the container's TERM trap")
        return host.check_output(
            f"for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -path '*/demo-runtime/{pid}-*'); do"
            " cat $d/pids.max 2>/dev/null; done; true"
        ).split()
    finally:
        host.run(f"kill {pid}")
        wait_for(lambda: host.run(f"ps -o stat= -p {pid} | grep -qv Z").rc != 0, "the runtime to exit")


def test_the_default_limit_is_in_the_containers_cgroup(host, runtime, workdir):
    assert pids_max(host, runtime, workdir, ()) == [str(DEFAULT)]


@pytest.mark.parametrize("lifted", ["0", "unlimited"])
def test_pids_limit_0_lifts_it(host, runtime, workdir, lifted):
    # No pids limit of ours anywhere: no pids.max, or "max" where the controller is on.
    assert set(pids_max(host, runtime, workdir, ("--pids-limit", lifted))) <= {"max"}
