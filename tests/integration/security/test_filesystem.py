"""Filesystem escapes: out through the root switch, mount, a device node of the host's disk."""

import pytest

from .conftest import blocked, breached


@pytest.mark.property("mount")
def test_chroot_escape_is_blocked_by_pivot_root(probe, host_marker):
    # chroot is allowed (CAP_SYS_CHROOT is in Docker's 14), but there is no host root
    # above the image to climb to: pivot_root detached it.
    assert blocked(probe("chroot-escape", host_marker))


@pytest.mark.property("mount")
def test_chroot_escape_works_when_the_root_is_entered_by_chroot(probe, host_marker):
    # Its protection off: clean-mounts enters the image with chroot() instead.
    assert breached(probe("chroot-escape", host_marker, options=("--chroot",)))


@pytest.mark.property("caps")
def test_mount_is_blocked(probe):
    assert blocked(probe("mount"))


@pytest.mark.property("caps")
def test_mount_works_with_cap_sys_admin(probe):
    # Its protection: CAP_SYS_ADMIN is dropped, and the seccomp profile (as Docker's)
    # allows mount only to a container that has it. So one switch turns both off.
    assert breached(probe("mount", options=("--cap-add", "SYS_ADMIN")))


@pytest.mark.property("caps")
def test_mount_is_still_blocked_by_caps_without_seccomp(probe):
    # Defence in depth: without the filter, the missing capability still refuses it.
    v = probe("mount", options=("--seccomp", "unconfined"))
    assert blocked(v) and "EPERM" in v.line, v


@pytest.mark.property("nodev")
def test_device_node_of_the_host_disk_cannot_be_opened(probe, host_block_device):
    major, minor, _ = host_block_device
    v = probe("mknod-read", "b", major, minor)
    # mknod itself works (CAP_MKNOD is one of Docker's 14); the open does not: nodev.
    assert blocked(v) and "open of the new device node" in v.line, v


@pytest.mark.property("nodev")
def test_device_node_of_the_host_disk_reads_without_nodev(probe, host_block_device):
    major, minor, _ = host_block_device
    assert breached(probe("mknod-read", "b", major, minor, options=("--disable", "nodev")))


@pytest.mark.property("caps")
def test_without_cap_mknod_no_node_is_made(probe, host_block_device):
    major, minor, _ = host_block_device
    v = probe("mknod-read", "b", major, minor, options=("--disable", "nodev", "--cap-drop", "MKNOD"))
    assert blocked(v) and "mknod" in v.line, v
