"""--cgroup-path (linux.cgroupsPath of an OCI config): the container's cgroup at that path
from each hierarchy's root, made for the run and removed after it, with the directories
above it that the runtime made; a directory that existed stays; a path in use is refused."""

import uuid

import pytest

from .containers import NAME_PREFIX

pytestmark = pytest.mark.property("cgroup")


@pytest.fixture
def base(host):
    """A top-level cgroup name of this test's own; every hierarchy is checked clean of it after."""
    name = f"{NAME_PREFIX}-cgpath-{uuid.uuid4().hex[:6]}"
    yield name
    left = host.run("find /sys/fs/cgroup -maxdepth 4 -depth -type d -path %s", f"*/{name}*").stdout.split()
    for directory in left:  # deepest first
        host.run("rmdir %s", directory)
    assert not left, f"left behind: {left}"


def cgroup_lines(out):
    """/proc/self/cgroup's lines of the hierarchies the container is in, as seen from the host's view."""
    return [line for line in out.stdout.splitlines() if line.split(":")[1] in ("", "pids")]


def test_the_container_runs_in_the_cgroup_at_the_path(runtime, host, base):
    path = f"/{base}/c1"
    # --cgroupns host: the container sees the host's cgroup paths, so its own shows the path.
    out = runtime.run("cat", "/proc/self/cgroup", options=("--cgroup-path", path, "--cgroupns", "host", "--pids-limit", "64"))
    assert out.rc == 0, out.stderr
    lines = cgroup_lines(out)
    assert lines and all(line.split(":", 2)[2] == path for line in lines), out.stdout
    assert host.run("find /sys/fs/cgroup -maxdepth 3 -name %s", base).stdout == ""  # both levels removed


def test_the_limit_is_in_the_cgroup_at_the_path(runtime, host, base):
    script = "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; true"
    out = runtime.sh(script, options=("--cgroup-path", f"/{base}/c1", "--pids-limit", "64"))
    assert (out.rc, out.stdout) == (0, "64\n"), out.stderr


def v2_root(host):
    return host.check_output("findmnt -n -t cgroup2 -o TARGET | tail -1")


def test_a_directory_above_that_existed_stays(runtime, host, base):
    above = f"{v2_root(host)}/{base}"
    host.check_output("mkdir %s", above)
    out = runtime.run("true", options=("--cgroup-path", f"/{base}/c1"))
    assert out.rc == 0, out.stderr
    assert host.run("test -d %s", f"{above}/c1").rc != 0
    assert host.run("test -d %s", above).rc == 0
    host.check_output("rmdir %s", above)


def test_a_path_that_exists_already_is_refused_and_left_alone(runtime, host, base):
    taken = f"{v2_root(host)}/{base}/c1"
    host.check_output("mkdir -p %s", taken)
    out = runtime.run("true", options=("--cgroup-path", f"/{base}/c1"))
    assert out.rc == 72, out.stderr
    assert out.stderr.strip().splitlines()[-1].endswith(f"--cgroup-path /{base}/c1: {taken} exists already (another cgroup's)")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert host.run("test -d %s", taken).rc == 0
    host.check_output("rmdir %s %s", taken, taken.rsplit("/", 1)[0])


@pytest.mark.parametrize("bad", ["relative/c1", "/a/../c1"])
def test_a_relative_or_unclean_path_is_refused(runtime, host, bad):
    out = runtime.run("true", options=("--cgroup-path", bad))
    assert out.rc == 64
    assert out.stderr.strip() == f"demo-runtime: --cgroup-path {bad!r}: an absolute path from the cgroup root, with no '.', '..' or empty names"
