import pytest

pytestmark = pytest.mark.property("ipc")


@pytest.fixture
def host_shm(host):
    """A SysV shared-memory segment on the host; its id."""
    out = host.check_output("ipcmk -M 4096")
    shm_id = out.split()[-1]
    yield shm_id
    host.run("ipcrm -m %s", shm_id)


def test_host_shared_memory_is_invisible(runtime, host_shm):
    out = runtime.sh("cat /proc/sysvipc/shm")
    assert out.rc == 0
    ids = [line.split()[1] for line in out.stdout.splitlines()[1:]]
    assert host_shm not in ids


def test_without_the_ipc_plugin_it_shows(runtime, host_shm):
    out = runtime.sh("cat /proc/sysvipc/shm", options=("--disable", "ipc"))
    ids = [line.split()[1] for line in out.stdout.splitlines()[1:]]
    assert host_shm in ids
