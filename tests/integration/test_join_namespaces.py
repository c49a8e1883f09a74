"""Joining existing namespaces by path (--net/--ipc/--uts/--pid ns:PATH), as podman pods
and Kubernetes sandboxes share them: the container sees what the namespace holds, and
with the defaults (a new namespace) it does not."""

import shlex
import uuid

import pytest

from .netns import wait_for
from .test_errors import assert_clean_failure


@pytest.fixture
def netns(host):
    """A network namespace of the test's own, with an interface only it has."""
    name = f"op-join-{uuid.uuid4().hex[:6]}"
    host.check_output("ip netns add %s", name)
    try:
        host.check_output("ip -n %s link add op-veth0 type veth peer name op-veth1", name)
        yield f"/run/netns/{name}"
    finally:
        host.run("ip netns delete %s", name)


@pytest.mark.property("net")
def test_a_joined_netns_shows_its_interfaces(runtime, netns):
    out = runtime.sh("cat /proc/net/dev; ls /sys/class/net", options=("--net", f"ns:{netns}"))
    assert out.rc == 0, out.stderr
    assert out.stdout.count("op-veth0") == 2  # /proc/net and sysfs, mounted in it
    control = runtime.sh("cat /proc/net/dev; ls /sys/class/net")
    assert control.rc == 0 and "op-veth0" not in control.stdout


@pytest.fixture
def pod(host, workdir):
    """A process in new IPC, UTS and PID namespaces (a pod's "infra" container): its
    hostname op-pod, a shared-memory segment; its host pid."""
    ready = f"{workdir}/pod-{uuid.uuid4().hex[:6]}"
    script = f"hostname op-pod && ipcmk -M 4096 | awk '{{print $NF}}' > {ready} && exec sleep 1000"
    pid = host.check_output(f"unshare --ipc --uts --pid --fork --kill-child sh -c {shlex.quote(script)} >/dev/null 2>&1 & echo $!")
    wait_for(lambda: host.run("test -s %s", ready).rc == 0, "the pod's namespaces")
    yield pid, host.check_output("cat %s", ready)
    host.run("kill -KILL %s", pid)  # unshare --fork ignores TERM; --kill-child ends the sleep
    wait_for(lambda: host.run("ps -o stat= -p %s | grep -qv Z", pid).rc != 0, "the pod to end")


@pytest.mark.property("ipc")
def test_a_joined_ipc_namespace_shows_its_segments(runtime, pod):
    pid, shm_id = pod
    out = runtime.run("cat", "/proc/sysvipc/shm", options=("--ipc", f"ns:/proc/{pid}/ns/ipc"))
    assert out.rc == 0 and shm_id in [line.split()[1] for line in out.stdout.splitlines()[1:]], out.stderr
    control = runtime.run("cat", "/proc/sysvipc/shm")
    assert shm_id not in [line.split()[1] for line in control.stdout.splitlines()[1:]]


@pytest.mark.property("uts")
def test_a_joined_uts_namespace_keeps_its_hostname(runtime, pod):
    pid, _ = pod
    out = runtime.run("hostname", options=("--uts", f"ns:/proc/{pid}/ns/uts"))
    assert (out.rc, out.stdout) == (0, "op-pod\n"), out.stderr
    assert runtime.run("hostname").stdout != "op-pod\n"


@pytest.mark.property("pid")
def test_a_joined_pid_namespace_shows_its_processes(runtime, pod):
    pid, _ = pod
    out = runtime.sh("echo $$; ps -o pid,args", options=("--pid", f"ns:/proc/{pid}/ns/pid_for_children"))
    assert out.rc == 0, out.stderr
    mine, *table = out.stdout.splitlines()
    assert mine != "1" and any(line.split() == ["1", "sleep", "1000"] for line in table), out.stdout
    control = runtime.sh("echo $$; ps -o args")
    assert control.stdout.startswith("1\n") and "sleep 1000" not in control.stdout


@pytest.mark.parametrize(
    "option, words",
    [
        (("--net", "ns:/nonexistent"), "--net ns:/nonexistent: No such file or directory"),
        (("--ipc", "ns:/proc/self/ns/net"), "setns: Invalid argument (is it a ipc namespace?)"),
        (("--uts", "private"), "invalid --uts 'private': use ns:PATH"),
        (("--pid", "ns:relative"), "must be absolute"),
    ],
)
def test_bad_namespace_paths(runtime, option, words):
    assert_clean_failure(runtime.run("true", options=option), 64, words)
