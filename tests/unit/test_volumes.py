"""-v and --tmpfs: parsing, and the host side checked before anything starts.
(Mounting, and refusing a symlinked target: tests/integration/test_volumes.py.)"""

from types import SimpleNamespace

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.linux import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_STRICTATIME
from runtime.plugins.volumes import Volumes, parse_tmpfs, parse_volume

LOCKED = MS_NOSUID | MS_NODEV

from .fake_linux import FakeLinux


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("/srv/data:/data", ("/srv/data", "/data", LOCKED, False)),
        ("/srv/data:/data/:ro", ("/srv/data", "/data", LOCKED | MS_RDONLY, False)),
        ("/srv/new:/var//lib/./x:rw,create", ("/srv/new", "/var/lib/x", LOCKED, True)),
        ("/srv/new:/x:create,ro", ("/srv/new", "/x", LOCKED | MS_RDONLY, True)),
        # podman's noexec (an OCI config's bind options: podman's /dev/shm)
        ("/srv/shm:/dev/shm:noexec", ("/srv/shm", "/dev/shm", LOCKED | MS_NOEXEC, False)),
        ("/srv/x:/x:ro,exec", ("/srv/x", "/x", LOCKED | MS_RDONLY, False)),
    ],
)
def test_parse_volume(spec, parsed):
    assert parse_volume(spec) == parsed


@pytest.mark.parametrize(
    "spec",
    ["/a", "/a:", ":/b", "rel:/b", "/a:b", "/a:/b:rw,ro", "/a:/b:z", "/a:/b:ro:x", "/a:/", "/a:/proc", "/a:/sys/fs", "/a:/x/../y", "/a:/b:exec,noexec", "/a:/b:suid"],
)
def test_bad_volumes_are_usage_errors(spec):
    with pytest.raises(ContainerError) as caught:
        parse_volume(spec)
    assert caught.value.code == errors.USAGE


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("/run", ("/run", LOCKED, "mode=1777")),
        ("/cache:64m", ("/cache", LOCKED, "mode=1777,size=64m")),
        ("/t:50%", ("/t", LOCKED, "mode=1777,size=50%")),
        # docker's option form, as an OCI config's tmpfs mounts give it
        ("/run:rw,noexec,nosuid,size=65536k,mode=755", ("/run", LOCKED | MS_NOEXEC, "mode=755,size=65536k")),
        ("/ro:ro", ("/ro", LOCKED | MS_RDONLY, "mode=1777")),
        # containerd's /run
        ("/run:nosuid,strictatime,mode=755,size=65536k", ("/run", LOCKED | MS_STRICTATIME, "mode=755,size=65536k")),
    ],
)
def test_parse_tmpfs(spec, parsed):
    assert parse_tmpfs(spec) == parsed


@pytest.mark.parametrize("spec", ["/t:", "/t:0", "/t:lots", "/t:64mb", "t", "/proc/x", "/t:dev", "/t:suid,size=1m", "/t:mode=999", "/t:size=0"])
def test_bad_tmpfs(spec):
    with pytest.raises(ContainerError) as caught:
        parse_tmpfs(spec)
    assert caught.value.code == errors.USAGE


def prepare(*volumes):
    plugin = Volumes()
    ctx = Context("img", ["true"], SimpleNamespace(volume=list(volumes), tmpfs=[]), FakeLinux())
    plugin.prepare(ctx)
    return plugin, ctx


def test_a_missing_host_path_is_refused_and_create_makes_it(tmp_path):
    with pytest.raises(ContainerError) as caught:
        prepare(f"{tmp_path}/missing:/data")
    assert caught.value.code == errors.VOLUME_ERROR and "add ,create" in str(caught.value)
    assert not (tmp_path / "missing").exists()
    plugin, ctx = prepare(f"{tmp_path}/made/here:/data:create")
    assert (tmp_path / "made" / "here").is_dir()
    assert [b[1:] for b in plugin.binds] == [(f"{tmp_path}/made/here", "/data", LOCKED, True)]
    plugin.teardown(ctx)
    assert plugin.binds == [] and ctx.linux.calls[-1][0] == "close"  # the detached copy is freed


def test_a_host_file_is_bound_as_a_file(tmp_path):
    (tmp_path / "config").write_text("x")
    plugin, ctx = prepare(f"{tmp_path}/config:/etc/app.conf:ro,create")  # create: a file is not made a directory
    assert plugin.binds[0][3:] == (LOCKED | MS_RDONLY, False)
    plugin.teardown(ctx)


def test_the_child_refuses_a_symlinked_target_and_mounts_the_rest(tmp_path):
    from runtime.linux import MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REMOUNT

    (tmp_path / "config").write_text("x")
    options = SimpleNamespace(volume=[f"{tmp_path}:/data:ro", f"{tmp_path}/config:/etc/app.conf"], tmpfs=["/scratch:8m"])
    fake = FakeLinux()
    ctx = Context("img", ["true"], options, fake)
    ctx.rootfs = "/tmp/root"
    plugin = Volumes()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    assert fake.named("attach_tree_in_root") == [("/data", "dir"), ("/etc/app.conf", "file")]
    assert fake.named("mount_in_root") == [
        ("/data", None, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_RDONLY, None),
        ("/etc/app.conf", None, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, None),
        ("/scratch", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=8m"),
    ]
    fake.symlinks.add("/etc/app.conf")
    with pytest.raises(ContainerError) as caught:
        plugin.setup_child(ctx)
    assert caught.value.code == errors.VOLUME_ERROR and "is a symlink in the image" in str(caught.value)
    plugin.teardown(ctx)
