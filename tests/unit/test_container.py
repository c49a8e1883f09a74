"""The parent's side of the clone/exec path: hook order and teardown on failure."""

import errno
import os
import signal
import subprocess

import pytest

from runtime import container
from runtime.linux import Linux
from runtime.plugin import Context, Plugin

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
        container.run(Context("img", ["true"], options(), fake), plugins)
    assert log == [("a", "prepare"), ("b", "prepare"), ("b", "teardown"), ("a", "teardown")]
    assert fake.named("clone") == []


def test_failed_clone_tears_everything_down():
    log = []
    fake = FakeLinux(fail={"clone": OSError(errno.EPERM, "Operation not permitted")})
    plugins = [recording("a", log, flags=1), recording("b", log, flags=4)]
    with pytest.raises(OSError):
        container.run(Context("img", ["true"], options(), fake), plugins)
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
        container.run(Context("img", ["true"], options(), fake), [recording("a", log), Broken()])
    assert log == [("a", "prepare"), ("a", "clone_flags"), "broken", ("a", "teardown")]


class Marker(Plugin):
    name = "marker"
    teardown_after_sigkill = True

    def __init__(self, path):
        self.path = path

    def teardown(self, ctx):
        with open(self.path, "a") as f:
            f.write("torn down\n")


def test_janitor_tears_down_when_the_runtime_vanishes(tmp_path):
    marker = tmp_path / "marker"
    # A real fork: the double forks no process.
    janitor = container._Janitor(Context("img", ["true"], options(), Linux()), [Marker(marker)])
    janitor._socket.close()  # what the kernel does when the runtime is SIGKILLed
    os.waitpid(janitor.pid, 0)
    assert marker.read_text() == "torn down\n"


def test_janitor_kills_the_init_when_the_runtime_vanishes():
    """Through a pidfd, so the container cannot outlive the runtime even if its init
    cleared its parent-death signal. A real process and real pidfds (no root needed)."""
    init = subprocess.Popen(["sleep", "600"])
    try:
        janitor = container._Janitor(Context("img", ["true"], options(), Linux()), [])
        janitor.watch(init.pid)
        janitor._socket.close()
        os.waitpid(janitor.pid, 0)
        assert init.wait(timeout=60) == -signal.SIGKILL
    finally:
        init.kill()
        init.wait()


def test_dismissed_janitor_leaves_the_init_alone():
    init = subprocess.Popen(["sleep", "600"])
    try:
        janitor = container._Janitor(Context("img", ["true"], options(), Linux()), [])
        janitor.watch(init.pid)
        janitor.dismiss()
        assert init.poll() is None
    finally:
        init.kill()
        init.wait()


def test_dismissed_janitor_does_nothing(tmp_path):
    marker = tmp_path / "marker"
    container._Janitor(Context("img", ["true"], options(), Linux()), [Marker(marker)]).dismiss()
    assert not marker.exists()


def test_clone_gets_the_plugins_flags_and_arguments():
    class IntoCgroup(Plugin):
        name = "into-cgroup"

        def clone_flags(self, ctx):
            return 8

        def clone_args(self, ctx):
            return {"cgroup": 42}

    fake = FakeLinux(fail={"clone": OSError(errno.EPERM, "Operation not permitted")})
    with pytest.raises(OSError):
        container.run(Context("img", ["true"], options(), fake), [recording("a", [], flags=1), IntoCgroup()])
    assert fake.named("clone") == [(9, 42)]


class SetsUpTheParent(Plugin):
    name = "parent-side"

    def __init__(self, log):
        self.log = log

    def setup_parent(self, ctx):
        self.log.append(("setup_parent", ctx.pid))


def test_a_successful_start_runs_the_parent_side_then_lets_the_child_go_and_waits():
    log, fake = [], FakeLinux()
    fake.statuses[fake.next_pid] = 3 << 8  # the command exits 3
    ctx = Context("img", ["true"], options(), fake)
    status = container.run(ctx, [recording("a", log, flags=1), SetsUpTheParent(log)])
    assert status == 3 and ctx.pid == 0
    assert log == [("a", "prepare"), ("a", "clone_flags"), ("setup_parent", fake.next_pid), ("a", "teardown")]
    names = [c[0] for c in fake.calls]
    # The go byte only after the parent side is set up, then the child's report read to
    # EOF (the fake's child never writes: as at a successful exec), then the wait.
    assert names.index("clone") < names.index("write") < names.index("waitpid")
    assert ("write", fake.calls[names.index("write")][1], b"go") in fake.calls
    janitor = fake.next_pid + 1  # the double's fork
    assert fake.named("waitpid") == [(fake.next_pid,), (janitor,)]  # the container, then the dismissed janitor
    assert fake.named("kill") == []  # nothing left to kill


def test_a_command_killed_by_a_signal_is_128_plus_n():
    fake = FakeLinux()
    fake.statuses[fake.next_pid] = 9  # WTERMSIG 9
    assert container.run(Context("img", ["true"], options(), fake), []) == 137


def test_a_failing_setup_parent_kills_and_reaps_the_child():
    class Broken(Plugin):
        name = "broken"

        def setup_parent(self, ctx):
            raise OSError(errno.EIO, "veth failed")

    fake = FakeLinux()
    with pytest.raises(OSError, match="veth failed"):
        container.run(Context("img", ["true"], options(), fake), [Broken()])
    assert fake.named("kill") == [(fake.next_pid, 9)]
    assert fake.named("waitpid")[0] == (fake.next_pid,)
    assert fake.named("write") == []  # the child never got the go


class MeetsTheChild(Plugin):
    """The parent's part of a setup_child that waits for it midway (OCI's create hooks)."""

    name = "meets"

    def __init__(self, failure=None):
        self.failure = failure

    def meet_child(self, ctx):
        ctx.linux.calls.append(("meet_child", ctx.pid))
        if self.failure:
            raise self.failure


def test_the_parent_meets_the_child_after_letting_it_go_and_before_its_report():
    fake = FakeLinux()
    assert container.run(Context("img", ["true"], options(), fake), [SetsUpTheParent([]), MeetsTheChild()]) == 0
    names = [c[0] for c in fake.calls]
    assert names.index("write") < names.index("meet_child") < names.index("read")  # go, meet, the report
    assert ("meet_child", fake.next_pid) in fake.calls


def test_a_failing_meet_kills_and_reaps_the_child():
    fake = FakeLinux()
    with pytest.raises(OSError, match="hook failed"):
        container.run(Context("img", ["true"], options(), fake), [MeetsTheChild(OSError(errno.EIO, "hook failed"))])
    assert fake.named("kill") == [(fake.next_pid, 9)]
    assert fake.named("waitpid")[0] == (fake.next_pid,)


class Signalled(Plugin):
    """A SIGTERM reaching the runtime in this hook: the double delivers it by calling the
    handler the runtime set."""

    name = "signalled"

    def __init__(self, hook):
        self.hook = hook

    def prepare(self, ctx):
        if self.hook == "prepare":
            ctx.linux.handlers[signal.SIGTERM](signal.SIGTERM, None)

    def setup_parent(self, ctx):
        if self.hook == "setup_parent":
            ctx.linux.handlers[signal.SIGTERM](signal.SIGTERM, None)


def test_a_signal_before_the_clone_interrupts_the_start_and_the_handlers_are_restored():
    log, fake = [], FakeLinux()
    with pytest.raises(container.Interrupted) as caught:
        container.run(Context("img", ["true"], options(), fake), [recording("a", log), Signalled("prepare")])
    assert caught.value.signum == signal.SIGTERM
    assert log == [("a", "prepare"), ("a", "teardown")] and fake.named("clone") == []
    assert fake.handlers == {s: signal.SIG_DFL for s in container.FORWARDED}


def test_a_signal_once_the_init_exists_is_forwarded_to_it_and_the_clone_ran_with_them_blocked():
    fake = FakeLinux()
    assert container.run(Context("img", ["true"], options(), fake), [Signalled("setup_parent")]) == 0
    assert fake.named("kill") == [(fake.next_pid, signal.SIGTERM)]
    names = [c[0] for c in fake.calls]
    # No handler may run between the clone and ctx.pid being known.
    assert names.index("block_signals") < names.index("clone") < names.index("unblock_signals")
    assert fake.blocked == set() and fake.handlers == {s: signal.SIG_DFL for s in container.FORWARDED}
