"""The opt-in namespaces against the double: the user namespace's map helper and the
time namespace's offsets."""

from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.timens import TimeNamespace
from runtime.plugins.userns import UserNamespace

from .fake_linux import FakeLinux


def ctx(fake, **values):
    return Context("/img", ["/bin/true"], SimpleNamespace(**values), fake)


def test_userns_unshares_then_lets_the_helper_write_the_maps_and_becomes_root():
    fake = FakeLinux()
    UserNamespace().setup_child(ctx(fake, userns=True, userns_base="200000"))
    names = [c[0] for c in fake.calls]
    # The helper is forked first (it keeps CAP_SETUID outside), told to go only after
    # the unshare, waited for, and only then the process takes uid 0 inside.
    assert names.index("fork") < names.index("unshare") < names.index("write") < names.index("waitpid") < names.index("become_root")
    assert ("unshare", linux.CLONE_NEWUSER) in fake.calls
    assert [c for c in fake.calls if c[0] == "write"][0][2] == b"u"
    assert fake.named("waitpid") == [(fake.next_pid + 1,)]


def test_userns_refuses_to_go_on_when_the_helper_failed():
    fake = FakeLinux()
    fake.statuses[fake.next_pid + 1] = 1 << 8  # the helper exited 1: no maps written
    with pytest.raises(ContainerError, match="could not write the uid/gid maps"):
        UserNamespace().setup_child(ctx(fake, userns=True, userns_base="100000"))
    assert fake.named("become_root") == []


@pytest.mark.parametrize("base", ["root", "0", str(2**32 - 10)])
def test_userns_base_must_leave_room_for_the_range(base):
    with pytest.raises(ContainerError):
        UserNamespace().prepare(ctx(FakeLinux(), userns=True, userns_base=base, privileged=False))


def test_timens_unshares_and_writes_both_offsets_before_any_process_enters():
    fake = FakeLinux()
    TimeNamespace().prepare(ctx(fake, time_offset="86400"))
    assert fake.calls == [
        ("unshare", linux.CLONE_NEWTIME),
        ("write_file", "/proc/self/timens_offsets", "monotonic 86400 0\nboottime 86400 0\n"),
    ]


def test_timens_offset_must_be_whole_seconds():
    with pytest.raises(ContainerError, match="whole number of seconds"):
        TimeNamespace().prepare(ctx(FakeLinux(), time_offset="1.5"))


def test_timens_kernel_refusal_reaches_the_caller():
    fake = FakeLinux(fail={"unshare": OSError(22, "Invalid argument")})
    with pytest.raises(OSError):
        TimeNamespace().prepare(ctx(fake, time_offset="1"))
    assert fake.named("write_file") == []
