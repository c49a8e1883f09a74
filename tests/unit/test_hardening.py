"""Hardening plugins (issue 4) against the fake syscall layer: caps and masked paths
(seccomp: test_seccomp.py, cgroup: test_cgroup.py)."""

from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins import caps, masked_paths

from .fake_linux import FakeLinux


def opts(**kw):
    values = dict(
        cap_add=[], cap_drop=[], privileged=False, mask=[], unmask=[], seccomp=None,
        memory=None, pids_limit=None, cpus=None, cgroupns=None, cgroup_path=None, cpu_shares=None,
    )  # fmt: skip
    values.update(kw)
    return SimpleNamespace(**values)


def ctx(fake=None, **kw):
    return Context("/img", ["/bin/true"], opts(**kw), fake or FakeLinux())


PODMAN_CAPS = 0x800405FB  # Docker's 14 less NET_RAW (13), MKNOD (27), AUDIT_WRITE (29)


def test_default_caps_are_podmans_11():
    assert caps.mask(caps.capabilities(opts())) == PODMAN_CAPS == 0xA80425FB & ~(1 << 13 | 1 << 27 | 1 << 29)
    assert caps.capabilities(opts(cap_add=["NET_RAW,MKNOD", "AUDIT_WRITE"])) == caps.DEFAULT | {"NET_RAW", "MKNOD", "AUDIT_WRITE"}


def test_cap_add_drop_all_and_names():
    assert caps.capabilities(opts(cap_drop=["ALL"], cap_add=["net_admin,CAP_CHOWN"])) == {"NET_ADMIN", "CHOWN"}
    assert caps.capabilities(opts(cap_add=["ALL"], cap_drop=["SYS_ADMIN"])) == set(caps.NAMES) - {"SYS_ADMIN"}
    with pytest.raises(ContainerError):
        caps.capabilities(opts(cap_add=["WARP"]))


def test_caps_child_drops_bounding_and_sets_the_rest():
    fake = FakeLinux()
    fake.get_caps = lambda: (0, (1 << 41) - 1, 0)
    c = ctx(fake)
    plugin = caps.Capabilities()
    plugin.prepare(c)
    plugin.setup_child(c)
    dropped = {call[0] for call in fake.named("drop_bounding_cap")}
    assert dropped == set(range(41 + 1)) - {caps.NUMBER[n] for n in caps.DEFAULT}
    assert fake.named("set_caps") == [(PODMAN_CAPS, PODMAN_CAPS, 0)]
    assert fake.named("clear_ambient_caps") == [()]


def test_masked_plan_and_unmask():
    masked, read_only = masked_paths.plan(opts())
    assert len(masked) == 12 and len(read_only) == 5
    masked, read_only = masked_paths.plan(opts(unmask=["/proc/keys,/proc/sys"]))
    assert "/proc/keys" not in masked and "/proc/sys" not in read_only
    assert masked_paths.plan(opts(unmask=["ALL"])) == ((), ())


def test_mask_paths_must_be_absolute():
    from types import SimpleNamespace

    from runtime.errors import ContainerError
    from runtime.plugins import masked_paths

    with pytest.raises(ContainerError, match="not an absolute path"):
        masked_paths.plan(SimpleNamespace(privileged=False, mask=["proc/kcore"], unmask=[]))
