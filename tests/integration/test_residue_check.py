"""The residue check (conftest's no_residue) sees each kind of thing a run could leave:
made on the host by hand here, each must show in a snapshot, and be gone from the
next one once removed."""

import pytest

from .conftest import _snapshot

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
        assert left["attached loop devices"] == {f"{workdir}/disk"}
        assert left["host mounts"] == {f"{workdir}/mnt"}
        assert any(f"{workdir}/sleeper 300" in p for p in left["processes"])
        assert left["temporary directories"] == {tmp.rpartition("/")[2]}
    finally:
        host.run("kill %s; losetup -d %s; umount %s/mnt; rmdir %s", sleeper, loop, workdir, tmp)
    host.run("while kill -0 %s 2>/dev/null; do sleep 0.05; done", sleeper)
    after = _snapshot(host, target, workdir)
    made = ("attached loop devices", "host mounts", "processes", "temporary directories")
    # (only the kinds made here: on a shared machine others' containers come and go)
    assert {kind: after[kind] - before[kind] for kind in made if after[kind] - before[kind]} == {}
