import pytest

pytestmark = pytest.mark.property("ipc")


def test_host_shared_memory_is_invisible(runtime, host_shm):
    out = runtime.sh("cat /proc/sysvipc/shm")
    assert out.rc == 0
    ids = [line.split()[1] for line in out.stdout.splitlines()[1:]]
    assert host_shm not in ids


def test_without_the_ipc_plugin_it_shows(runtime, host_shm):
    out = runtime.sh("cat /proc/sysvipc/shm", options=("--disable", "ipc"))
    ids = [line.split()[1] for line in out.stdout.splitlines()[1:]]
    assert host_shm in ids
