"""A directory as the root (`demo-runtime run DIR`): it runs as an image does, its
writes stay off the directory unless --rw, --read-only makes the root unwritable, and
its paths are resolved inside it as an image's are."""

import pytest

from .test_errors import assert_clean_failure

pytestmark = pytest.mark.property("mount")


@pytest.fixture
def rootfs(host, runtime, workdir):
    """The test image's tree unpacked into a directory (debugfs: no mount on the host)."""
    parent = host.check_output("mktemp -d %s/rootfs.XXXXXX", workdir)
    path = f"{parent}/root"
    host.check_output("mkdir %s && debugfs -R %s %s 2>/dev/null", path, f"rdump / {path}", runtime.target.image)
    host.check_output("echo from-the-directory > %s/etc/marker", path)
    yield path
    host.run("rm -rf %s", parent)


def test_a_directory_runs_as_the_root(runtime, rootfs):
    out = runtime.sh("cat /etc/marker; mount | head -1; cat /proc/1/cmdline | tr '\\0' ' '", image=rootfs)
    assert out.rc == 0, out.stderr
    marker, root_mount, pid1 = out.stdout.splitlines()
    assert marker == "from-the-directory"
    assert root_mount.startswith("root on / type overlay (rw,") and "lowerdir=/tmp/image-read-only" in root_mount
    assert pid1.startswith("/bin/sh -c")


def test_writes_stay_off_the_directory_unless_rw(runtime, host, rootfs):
    out = runtime.sh("echo written > /etc/marker && cat /etc/marker", image=rootfs)
    assert (out.rc, out.stdout) == (0, "written\n"), out.stderr
    assert host.check_output("cat %s/etc/marker", rootfs) == "from-the-directory"
    control = runtime.sh("echo written > /etc/marker", options=("--rw",), image=rootfs)
    assert control.rc == 0, control.stderr
    assert host.check_output("cat %s/etc/marker", rootfs) == "written"


@pytest.mark.parametrize("root", ["directory", "image"])
def test_read_only_root_refuses_writes_and_keeps_nodev(runtime, rootfs, root):
    image = rootfs if root == "directory" else None
    out = runtime.sh("mount | head -1; touch /etc/new", options=("--read-only",), image=image)
    assert out.rc == 1 and "Read-only file system" in out.stderr, out.stderr
    assert " (ro,nodev," in out.stdout  # nodev, remounted after it, kept it read-only
    control = runtime.sh("touch /etc/new", image=image)
    assert control.rc == 0, control.stderr


def test_read_only_and_rw_are_refused_together(runtime, rootfs):
    assert_clean_failure(runtime.run("true", options=("--read-only", "--rw"), image=rootfs), 64, "exclude each other")


def test_a_symlink_in_the_directory_resolves_inside_it(runtime, host, rootfs, host_marker):
    """Its /etc/hostname pointing at a host file names nothing inside the root: the
    hostname comes from the directory's name, not from the host file."""
    host.check_output("echo host-secret > %s && ln -sf %s %s/etc/hostname", host_marker, host_marker, rootfs)
    out = runtime.run("hostname", image=rootfs)
    assert (out.rc, out.stdout) == (0, "root\n"), out.stderr
    control = host.check_output("cat %s/etc/hostname", rootfs)  # the host would follow it
    assert control == "host-secret"


def test_a_directory_whose_proc_is_a_symlink_is_refused(runtime, host, rootfs):
    host.check_output("rmdir %s/proc && ln -s / %s/proc", rootfs, rootfs)
    assert_clean_failure(runtime.run("true", image=rootfs), 70, "/proc is a symlink")


def test_disabling_the_directory_root_is_refused(runtime, rootfs):
    assert_clean_failure(runtime.run("true", options=("--disable", "rootfs"), image=rootfs), 64, "proc needs rootfs")
