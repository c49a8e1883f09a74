"""Filesystem escapes: out through the root switch, mount, a device node of the host's disk."""

import pytest

from .conftest import blocked, breached


@pytest.mark.property("mount")
def test_chroot_escape_is_blocked_by_pivot_root(probe, host_marker):
    # chroot is allowed (CAP_SYS_CHROOT is in podman's 11 and Docker's 14), but there is no host root
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


@pytest.mark.property("caps")
def test_device_node_of_the_host_disk_cannot_be_made(probe, host_block_device):
    major, minor, _ = host_block_device
    # CAP_MKNOD is not among podman's 11 (Docker keeps it): not even a node is made,
    # also with nodev off.
    for options in ((), ("--disable", "nodev")):
        v = probe("mknod-read", "b", major, minor, options=options)
        assert blocked(v) and "EPERM mknod" in v.line, (options, v)


@pytest.mark.property("nodev")
def test_device_node_of_the_host_disk_cannot_be_opened_with_cap_mknod(probe, host_block_device):
    major, minor, _ = host_block_device
    v = probe("mknod-read", "b", major, minor, options=("--cap-add", "MKNOD"))
    # mknod itself works with CAP_MKNOD (as in Docker); the open does not: nodev.
    assert blocked(v) and "open of the new device node" in v.line, v


@pytest.mark.property("nodev")
def test_device_node_of_the_host_disk_reads_with_cap_mknod_and_without_nodev(probe, host_block_device):
    # The control of both protections: each one alone stops the read.
    major, minor, _ = host_block_device
    assert breached(probe("mknod-read", "b", major, minor, options=("--cap-add", "MKNOD", "--disable", "nodev")))
