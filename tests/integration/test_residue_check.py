"""The residue check (conftest's no_residue) sees each kind of thing a run could leave:
made on the host by hand here, each must show in a snapshot, and be gone from the
next one once removed."""

import os
import select
import signal
import socket
import struct
import subprocess
import sys

import pytest

from . import descendants, residue
from .conftest import _DESCENDANTS, _snapshot, our_paths
from .containers import OUR_TEST_DIRS, TEST_DIRS
from .targets import REPO_ROOT

pytestmark = pytest.mark.property("residue check")


def test_the_snapshot_sees_a_loop_device_a_mount_a_process_and_a_temporary_directory(host, target, workdir):
    before = _snapshot(host, target, workdir)
    host.check_output("truncate -s 1M %s/disk && mkdir %s/mnt && mount -t tmpfs lab-check %s/mnt", workdir, workdir, workdir)
    loop = host.check_output("losetup -f --show %s/disk", workdir)
    sleeper = host.check_output("cp /bin/sleep %s/sleeper && %s/sleeper 300 >/dev/null 2>&1 & echo $!", workdir, workdir)
    tmp = host.check_output("mktemp -d /tmp/demo-runtime-residue.XXXXXX")
    try:
        seen = _snapshot(host, target, workdir)
        left = {kind: seen[kind] - before[kind] for kind in seen}
        assert left["attached loop devices"] == {f"{loop.rpartition('/')[2]} {workdir}/disk"}
        assert left["host mounts"] == {f"{workdir}/mnt"}
        assert any(f"{workdir}/sleeper 300" in p for p in left["processes"])
        assert left["temporary directories"] == {tmp.rpartition("/")[2]}
    finally:
        host.run("kill %s; losetup -d %s; umount %s/mnt; rmdir %s", sleeper, loop, workdir, tmp)
    host.run("while kill -0 %s 2>/dev/null; do sleep 0.05; done", sleeper)
    after = _snapshot(host, target, workdir)
    # Only what was made here: on a shared machine others' containers come and go (and
    # mount their clients' root filesystems under /var/tmp meanwhile).
    names = (workdir, tmp.rpartition("/")[2])
    assert {kind: {e for e in after[kind] - before[kind] if any(n in e for n in names)} for kind in after} == {kind: set() for kind in after}


def test_a_loop_device_on_an_image_in_another_scratch_directory_of_this_run_is_seen(host, target, workdir):
    """As the imported image of test_image_import is, in /var/tmp, not in workdir."""
    scratch = host.check_output(f"mktemp -d /var/tmp/{OUR_TEST_DIRS}XXXXXX")
    before = _snapshot(host, target, workdir)
    loop = host.check_output("truncate -s 1M %s/app.img && losetup -f --show %s/app.img", scratch, scratch)
    try:
        seen = _snapshot(host, target, workdir)["attached loop devices"] - before["attached loop devices"]
    finally:
        host.run("losetup -d %s; rm -rf %s", loop, scratch)
    assert seen == {f"{loop.rpartition('/')[2]} {scratch}/app.img"}


def test_a_second_loop_device_of_an_image_is_seen(host, target, workdir):
    """As one a test leaves in a module whose container holds the image's first device."""
    first = host.check_output("losetup -f --show -r %s", target.image)
    second = None
    try:
        before = _snapshot(host, target, workdir)
        second = host.check_output("losetup -f --show -r %s", target.image)
        seen = _snapshot(host, target, workdir)["attached loop devices"] - before["attached loop devices"]
    finally:
        host.run("losetup -d %s %s", first, second or "")
    assert seen == {f"{second.rpartition('/')[2]} {target.image}"}


def test_a_loop_device_and_a_process_on_this_sessions_image_are_seen_on_another_sessions_not(host, target, workdir):
    """Each session runs containers of a copy of the image of its own (conftest's target),
    as pytest -n's workers do at once: what names this one's is this run's, what names
    the other worker's copy (in its scratch directory, named after its run) is not."""
    theirs = host.check_output(f"mktemp -d /var/tmp/{TEST_DIRS[0]}tother.image-XXXXXX")
    images = {"ours": target.image, "theirs": f"{theirs}/{target.image.rpartition('/')[2]}"}
    host.check_output("cp %s %s", images["ours"], images["theirs"])
    before = _snapshot(host, target, workdir)
    loops = {who: host.check_output("losetup -f --show -r %s", image) for who, image in images.items()}
    # (not forked by this run in the other worker: only its command line could make it ours)
    readers = {who: host.check_output("tail -c 0 -f %s >/dev/null 2>&1 & echo $!", image) for who, image in images.items()}
    try:
        seen = _snapshot(host, target, workdir)["attached loop devices"] - before["attached loop devices"]
        named = residue.remote(host, (), our_paths(target, workdir))["proc"]
    finally:
        host.run("kill %s %s; losetup -d %s %s; rm -rf %s", *readers.values(), *loops.values(), theirs)
    assert OUR_TEST_DIRS in target.image
    assert seen == {f"{loops['ours'].rpartition('/')[2]} {images['ours']}"}
    assert {p.split(" ", 1)[0] for p in named} & set(readers.values()) == {readers["ours"]}


@pytest.mark.skipif(_DESCENDANTS is None, reason="no process events (CONFIG_PROC_EVENTS off, or not root): any run's cgroups count")
def test_a_dead_runtimes_cgroup_counts_only_if_that_runtime_was_this_runs(host, target, workdir):
    """Two container cgroups as a killed runtime leaves them, one named after a process
    this run forked (and that is gone), one after a pid no process of this run had."""
    if target.kind != "local":
        pytest.skip("the process events are the local kernel's")
    ours = int(host.check_output("sh -c 'echo $$'"))
    theirs = next(p for p in range(int(open("/proc/sys/kernel/pid_max").read()) - 1, 1, -1) if not os.path.exists(f"/proc/{p}") and p not in _DESCENDANTS.pids())
    mount = next(line.split()[4] for line in open("/proc/self/mountinfo") if " - cgroup2 " in line or " - cgroup " in line)
    parent = f"{mount}/residue-check-{os.getpid()}/demo-runtime"
    before = _snapshot(host, target, workdir)
    os.makedirs(f"{parent}/{ours}-000001")
    os.mkdir(f"{parent}/{theirs}-000002")
    try:
        seen = _snapshot(host, target, workdir)["container cgroups"] - before["container cgroups"]
    finally:
        for path in (f"{parent}/{ours}-000001", f"{parent}/{theirs}-000002", parent, parent.rpartition("/")[0]):
            os.rmdir(path)
    assert seen == {f"{parent}/{ours}-000001"}


@pytest.mark.skipif(_DESCENDANTS is None, reason="no process events (CONFIG_PROC_EVENTS off, or not root): only command lines tell ours")
def test_a_process_this_run_forked_counts_whatever_its_command_line(host, target, workdir):
    """As a runtime forked through the Python API has pytest's command line: one left
    running, reparented (its shell is gone), naming neither the image nor workdir."""
    if target.kind != "local":
        pytest.skip("the process events are the local kernel's")
    before = _snapshot(host, target, workdir)
    started = subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True)
    pid = int(started.stdout)
    pidfd = os.pidfd_open(pid)
    try:
        seen = _snapshot(host, target, workdir)["processes"] - before["processes"]
    finally:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        select.select([pidfd], [], [])  # readable once it has exited
        os.close(pidfd)
    assert seen == {f"{pid} sleep 300"}


def test_no_recorder_of_forks_where_the_kernel_reports_none(target):
    """In a PID namespace of its own, the kernel takes the listen request and ignores it
    (and another listener's events carry the initial namespace's pids): descendants.start()
    is None there, not a recorder that sees no fork. The control is pytest's own namespace."""
    if target.kind != "local" or os.geteuid() != 0:
        pytest.skip("a PID namespace of the machine pytest runs on, made as root")
    start = [sys.executable, "-c", "from tests.integration import descendants; print(descendants.start() is None)"]
    alone = subprocess.run(["unshare", "--pid", "--fork", *start], cwd=REPO_ROOT, capture_output=True, text=True)
    here = subprocess.run(start, cwd=REPO_ROOT, capture_output=True, text=True)
    assert (alone.stdout, here.stdout) == ("True\n", f"{_DESCENDANTS is None}\n"), alone.stderr + here.stderr


def test_a_pid_counts_as_this_runs_until_its_process_exits_and_another_takes_it():
    """The events a busy machine gives (pid_max wraps): this run forks A, A exits, and
    another run's process gets A's pid; a thread this run starts in B is no new process."""

    def event(what, *pids):
        return bytes(descendants._HEADERS) + struct.pack("IIQ", what, 0, 0) + struct.pack(f"{len(pids)}I", *pids).ljust(24, b"\0")

    recorder = object.__new__(descendants.Descendants)
    recorder.socket, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    recorder.socket.setblocking(False)
    recorder.known, recorder.running, recorder.complete = {100}, {100}, True
    fork, exit = descendants._PROC_EVENT_FORK, descendants._PROC_EVENT_EXIT
    try:
        for message in (event(fork, 100, 100, 200, 200), event(fork, 100, 100, 300, 300), event(fork, 1, 1, 301, 300)):
            kernel.send(message)
        assert (recorder.pids(), recorder.living()) == ({100, 200, 300}, {100, 200, 300})
        kernel.send(event(exit, 200, 200))
        assert (recorder.pids(), recorder.living()) == ({100, 200, 300}, {100, 300})
        kernel.send(event(fork, 1, 1, 200, 200))
        assert (recorder.pids(), recorder.living()) == ({100, 300}, {100, 300})
    finally:
        recorder.socket.close()
        kernel.close()


def test_mounts_in_another_runs_scratch_directory_are_not_ours(workdir):
    from .conftest import _in_another_runs_directory

    assert not _in_another_runs_directory(f"{workdir}/mnt")
    assert not _in_another_runs_directory("/tmp/demo-runtime-staging/rootfs")
    assert _in_another_runs_directory("/tmp/dr-tests.tabc123.Xy12Zq/shared-mount")
    assert _in_another_runs_directory("/var/tmp/demo-runtime-tests.containerd-szD0O1/state/rootfs")
    assert _in_another_runs_directory("/var/tmp/demo-runtime-bench-z7vx8j9j/root/vfs-containers/x/userdata/shm")


def test_the_network_snapshot_sees_a_link_an_address_a_route_a_rule_and_a_state_directory(netns):
    """The netns fixture's check: what a bridged run could leave in the test's namespace."""
    made = "ip link add dr-probe0 type veth peer name dr-probe1 && ip addr add 10.77.0.1/24 dev dr-probe0 && ip link set dr-probe0 up && ip route add 10.78.0.0/24 via 10.77.0.2"
    netns.check(f"{made} && nft add table ip dr-probe")
    state = f"/run/demo-runtime/net/{netns.host.check_output(f'stat -L -c %i /run/netns/{netns.name}')}-probe"
    netns.host.check_output(f"mkdir -p {state}")
    try:
        seen = netns.snapshot()
        for part in ("dr-probe0", "dr-probe1", "10.77.0.1/24", "10.78.0.0", "table ip dr-probe", state):
            assert part in seen and part not in netns.before, part
    finally:
        netns.check("ip link del dr-probe0 && nft delete table ip dr-probe")
        netns.host.check_output(f"rmdir {state}")
    # The fixture then finds the namespace as it was.
