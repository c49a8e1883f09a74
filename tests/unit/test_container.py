"""The parent's side of the clone/exec path: hook order and teardown on failure."""

import errno

import pytest

from runtime import container
from runtime.plugin import Container, Plugin

from .fake_linux import FakeLinux
from .test_plugins import options


def recording(name, log, fail_in=None, flags=0):
    class Recorder(Plugin):
        def prepare(self, ctx):
            log.append((name, "prepare"))
            if fail_in == "prepare":
                raise RuntimeError(f"{name} failed")

        def clone_flags(self, ctx):
            log.append((name, "clone_flags"))
            return flags

        def teardown(self, ctx):
            log.append((name, "teardown"))

    Recorder.name = name
    return Recorder()


def test_failed_prepare_tears_down_what_was_entered_in_reverse_and_never_clones():
    log, fake = [], FakeLinux()
    plugins = [recording("a", log), recording("b", log, fail_in="prepare"), recording("c", log)]
    with pytest.raises(RuntimeError, match="b failed"):
        container.run(Container("img", ["true"], options(), fake), plugins)
    assert log == [("a", "prepare"), ("b", "prepare"), ("b", "teardown"), ("a", "teardown")]
    assert fake.named("clone") == []


def test_failed_clone_tears_everything_down():
    log = []
    fake = FakeLinux(fail={"clone": OSError(errno.EPERM, "Operation not permitted")})
    plugins = [recording("a", log, flags=1), recording("b", log, flags=4)]
    with pytest.raises(OSError):
        container.run(Container("img", ["true"], options(), fake), plugins)
    assert fake.named("clone") == [(5,)]
    assert log[-2:] == [("b", "teardown"), ("a", "teardown")]


def test_a_failing_teardown_does_not_stop_the_others():
    log = []

    class Broken(Plugin):
        name = "broken"

        def teardown(self, ctx):
            log.append("broken")
            raise OSError(errno.EIO, "teardown failed")

    fake = FakeLinux(fail={"clone": OSError(errno.EPERM, "Operation not permitted")})
    with pytest.raises(OSError, match="Operation not permitted"):
        container.run(Container("img", ["true"], options(), fake), [recording("a", log), Broken()])
    assert log == [("a", "prepare"), ("a", "clone_flags"), "broken", ("a", "teardown")]
