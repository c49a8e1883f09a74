"""A container's mounts stay in the container when the host's mount is shared (systemd
makes / shared): a directory root, a volume and what the runtime mounts on them (/dev,
a read-only bind) never appear on the host, and a shared directory works as a --rw root
(pivot_root refuses a shared one)."""

import pytest

pytestmark = pytest.mark.property("mount")


@pytest.fixture
def shared_mount(host, workdir):
    """A tmpfs on the host, made shared: a mount in its peer group appears on it."""
    path = host.check_output("mktemp -d %s/shared-mount.XXXXXX", workdir)
    host.check_output("mount -t tmpfs -o mode=0755 demo-runtime-tests %s && mount --make-shared %s", path, path)
    yield path
    host.run("umount -R %s; rmdir %s", path, path)


def mounts_on(host, path):
    """The host's mount points at `path` and under it."""
    return host.check_output("awk -v p=%s '$5 == p || index($5, p \"/\") == 1 { print $5 }' /proc/self/mountinfo", path).split()


def test_the_control_a_mount_in_its_peer_group_appears_on_the_host(host, shared_mount):
    """What the tests below would see if the container's mounts propagated out."""
    host.check_output("mkdir %s/probe && unshare -m --propagation unchanged mount -t tmpfs none %s/probe", shared_mount, shared_mount)
    assert mounts_on(host, shared_mount) == [shared_mount, f"{shared_mount}/probe"]
    host.check_output("umount %s/probe", shared_mount)


def test_a_directory_on_a_shared_mount_is_a_rw_root_that_keeps_its_mounts(runtime, host, shared_mount):
    root = f"{shared_mount}/root"
    host.check_output("mkdir %s && debugfs -R %s %s 2>/dev/null", root, f"rdump / {root}", runtime.target.image)
    out = runtime.sh("grep -c ' /dev' /proc/self/mountinfo", options=("--rw",), image=root)
    assert out.rc == 0 and int(out.stdout) >= 2, out.stderr  # /dev and what is under it
    assert mounts_on(host, shared_mount) == [shared_mount]


def test_a_volume_on_a_shared_mount_keeps_its_mounts(runtime, host, shared_mount):
    out = runtime.sh("grep -c ' /data ' /proc/self/mountinfo", options=("-v", f"{shared_mount}:/data", "--read-only-path", "/data"))
    assert (out.rc, out.stdout) == (0, "2\n"), out.stderr  # the volume and the read-only bind on it
    assert mounts_on(host, shared_mount) == [shared_mount]
