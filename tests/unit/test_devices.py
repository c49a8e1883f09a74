"""--device: a host node's type and number, made off the nodev mounts, bound into place."""

import os
import stat
from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.dev import Dev, parse_device

from .fake_linux import FakeLinux


@pytest.mark.parametrize(
    "spec, expected",
    [("/dev/null", ("/dev/null", "/dev/null")), ("/dev/null:/dev/x", ("/dev/null", "/dev/x")), ("/dev/null:rwm", ("/dev/null", "/dev/null"))],
)
def test_docker_forms(spec, expected):
    assert parse_device(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [("/dev/null:r", "only the permissions rwm"), ("dev/null", "use /dev/HOST"), ("/dev/a:/dev/b:/dev/c", "use /dev/HOST")],
)
def test_bad_forms(spec, message):
    with pytest.raises(ContainerError, match=message):
        parse_device(spec)


def context(fake, *devices):
    ctx = Context("/i.img", ["/bin/sh"], SimpleNamespace(device=list(devices)), fake)
    ctx.rootfs = "/r"
    return ctx


def test_the_node_is_made_in_staging_and_bound_over_its_target():
    fake = FakeLinux()
    ctx = context(fake, "/dev/null:/dev/mynull")
    plugin = Dev()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    st = os.stat("/dev/null")
    assert fake.named("make_node") == [("/tmp/device-0", st.st_mode, 1, 3)]
    mounts = fake.named("mount_in_root")
    assert ("/dev/mynull", "/tmp/device-0", None, linux.MS_BIND, None) in mounts
    assert [m[1:3] for m in mounts if m[0] == "/dev/mqueue"] == [("mqueue", "mqueue")]  # always, as docker


def test_a_path_that_is_no_device_is_refused(tmp_path):
    with pytest.raises(ContainerError, match="is not a device node") as refused:
        Dev().prepare(context(FakeLinux(), str(tmp_path)))
    assert refused.value.code == 64
    with pytest.raises(ContainerError, match="No such file"):
        Dev().prepare(context(FakeLinux(), str(tmp_path / "none")))
    assert stat.S_ISDIR(os.stat(tmp_path).st_mode)
