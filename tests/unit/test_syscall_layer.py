"""The test double is held to the syscall layer's interface, so the two cannot drift."""

import errno
import inspect

import pytest

from runtime.linux import Linux

from .fake_linux import FakeLinux

FAKE_ONLY = {"named"}  # the double's own helper for reading what was recorded


def interface(cls):
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_the_fake_has_every_call_of_the_real_layer_with_the_same_signature():
    real, fake = interface(Linux), interface(FakeLinux)
    assert sorted(set(real) - set(fake)) == [], "calls the fake lacks"
    assert sorted(set(fake) - set(real) - FAKE_ONLY) == [], "calls the real layer lacks"
    differ = {name: (str(real[name]), str(fake[name])) for name in real if real[name] != fake[name]}
    assert differ == {}


@pytest.mark.parametrize("name", sorted(set(interface(Linux)) - {"named"}))
def test_the_fake_can_fail_any_call(name):
    # Every call the fake takes goes through its recorder, which raises what `fail` says.
    failure = OSError(errno.EIO, "injected")
    fake = FakeLinux(fail={name: failure})
    method = getattr(fake, name)
    args = [_dummy(p) for p in inspect.signature(method).parameters.values() if p.default is inspect.Parameter.empty]
    with pytest.raises(OSError, match="injected"):
        method(*args)
    assert fake.calls and fake.calls[-1][0] == name


def _dummy(parameter):
    return -1 if parameter.name in ("fd", "pid", "flags", "signum", "size", "offset", "operation", "lowest", "cap") else "/x"
