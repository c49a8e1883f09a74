"""/dev/mqueue: the POSIX message queues of the container's own IPC namespace (as docker
mounts it); with --disable ipc the host's show there."""

import pytest

pytestmark = pytest.mark.property("ipc")

QUEUE = "/op-mqueue-test"
MQ = "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "


@pytest.fixture
def host_queue(host):
    """A POSIX message queue in the host's IPC namespace (mq_open(3) through libc)."""
    created = host.run("python3 -c %s", MQ + f"fd = libc.mq_open({QUEUE.encode()!r}, os.O_CREAT | os.O_RDWR, 0o600, None); print(fd)")
    assert created.rc == 0 and int(created.stdout) >= 0, created.stderr
    yield QUEUE.lstrip("/")
    host.run("python3 -c %s", MQ + f"libc.mq_unlink({QUEUE.encode()!r})")


def test_the_hosts_queues_are_not_in_the_containers_mqueue(runtime, host_queue):
    out = runtime.sh("grep ' /dev/mqueue ' /proc/self/mountinfo | cut -d' ' -f9; ls -A /dev/mqueue")
    assert out.rc == 0, out.stderr
    assert out.stdout.splitlines() == ["mqueue"]  # mounted, and empty
    control = runtime.run("ls", "-A", "/dev/mqueue", options=("--disable", "ipc"))
    assert host_queue in control.stdout.split()
