"""Fixtures for the real clients: the OCI runtimes they drive, an image made offline from the
test image, podman with a private store, a private containerd."""

from pathlib import Path

import pytest

from .clients import IMAGE, Containerd, Podman, make_tempdir, oci_runtime, require

RUNTIMES = ("runc", "crun", "demo-runtime-oci")
HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test here drives runtimes through the OCI command line: the lab's VMs leave them to the local stage."""
    independent = pytest.mark.kernel_independent("OCI clients (podman, containerd) driving the runtimes' command-line protocol")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(independent)


def pytest_generate_tests(metafunc):
    """Each client test runs once per OCI runtime, the same assertions for each."""
    if "runtime_under_test" in metafunc.fixturenames:
        metafunc.parametrize("runtime_under_test", RUNTIMES, indirect=True)


@pytest.fixture
def runtime_under_test(request, target):
    return oci_runtime(target, request.param)


@pytest.fixture(scope="session")
def rootfs_tar(host, target):
    """The test image's tree as a tarball, for `podman import` (debugfs: no mount)."""
    base = make_tempdir(host, "rootfs")
    try:
        host.check_output("debugfs -R %s %s", f"rdump / {base}", target.image)
        host.check_output("tar -C %s -cf %s .", base, f"{base}.tar")
        yield f"{base}.tar"
    finally:
        host.run("rm -rf %s %s", base, f"{base}.tar")


@pytest.fixture(scope="module")
def podman(host, target, rootfs_tar):
    """podman with a store of its own holding IMAGE; removed with all its containers."""
    require(target, "podman")
    base = make_tempdir(host, "podman")
    client = None
    try:
        client = Podman(host, base)
        client.check("import", rootfs_tar, IMAGE)
        yield client
    finally:
        if client:
            client.remove_all()
        host.run("rm -rf %s", base)


@pytest.fixture(scope="module")
def containerd(host, target, podman):
    """A private containerd holding IMAGE, imported from a docker-archive that podman saved."""
    require(target, "containerd")
    base = make_tempdir(host, "containerd")
    daemon = Containerd(host, base)
    try:
        daemon.start()
        podman.check("save", "--format", "docker-archive", "-o", f"{base}/image.tar", IMAGE)
        daemon.check("image", "import", f"{base}/image.tar")
        yield daemon
    finally:
        daemon.stop()
        host.run("rm -rf %s", base)
