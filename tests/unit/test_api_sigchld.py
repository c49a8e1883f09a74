"""The Python API's children and a caller's SIGCHLD handler that reaps any child
(tests/integration/test_api_sigchld.py runs it for real): the fork that runs the runtime
exits with no signal and is waited for with __WALL, an in-caller run holds SIGCHLD
blocked while the runtime runs, and the children that exec take neither the blocked
SIGCHLD nor the caller's handler into the container."""

import os
import signal
import sys
from types import SimpleNamespace

import pytest

from runtime import api, cli, container, enter
from runtime.linux import WALL
from runtime.plugin import Context

from .fake_linux import Exited, FakeLinux
from .test_plugins import options


@pytest.fixture
def streams(monkeypatch):
    """sys.std* put back after the test: the API points them at fds 0, 1 and 2."""
    for name in ("stdin", "stdout", "stderr"):
        monkeypatch.setattr(sys, name, getattr(sys, name))


@pytest.mark.parametrize("already", [set(), {signal.SIGCHLD}], ids=["unblocked", "blocked by the caller"])
def test_an_in_caller_run_holds_sigchld_blocked_and_then_gives_the_caller_its_mask_back(monkeypatch, streams, already):
    fake = FakeLinux()
    fake.blocked = set(already)
    seen = []
    monkeypatch.setattr(cli, "main", lambda argv, in_caller: seen.append(set(fake.blocked)) or 0)
    assert api._in_caller(fake, ["run", "img"], b"").status == 0
    assert seen == [{signal.SIGCHLD}]
    assert fake.blocked == already


def test_the_fork_that_runs_the_runtime_sends_no_sigchld_where_the_caller_has_a_handler(monkeypatch):
    fake = FakeLinux()
    fake.handlers[signal.SIGCHLD] = "the caller's"
    monkeypatch.setattr(api, "Linux", lambda: fake)
    assert api._forked(fake, ["stop", "x"], b"").status == 0
    assert (fake.named("clone"), fake.named("fork")) == ([(0, {"exit_signal": 0})], [])
    assert fake.named("waitpid") == [(fake.next_pid, WALL)]


def test_without_a_handler_the_runtime_runs_in_a_plain_fork(monkeypatch):
    fake = FakeLinux()
    monkeypatch.setattr(api, "Linux", lambda: fake)
    assert api._forked(fake, ["stop", "x"], b"").status == 0
    assert (fake.named("clone"), fake.named("fork")) == ([], [()])
    assert fake.named("waitpid") == [(fake.next_pid + 1, WALL)]


def test_in_the_fork_the_callers_sigchld_handler_is_gone_before_the_runtime_runs(monkeypatch, streams):
    fake = FakeLinux()
    fake.next_pid = 0  # clone returns 0: the child's path
    fake.handlers[signal.SIGCHLD] = "the caller's"
    monkeypatch.setattr(api, "Linux", lambda: fake)
    seen = []
    monkeypatch.setattr(cli, "main", lambda argv: seen.append(fake.handlers[signal.SIGCHLD]) or 0)
    stdio = [os.open(os.devnull, os.O_RDWR) for _ in range(3)]
    with pytest.raises(Exited):
        api.start(["stop", "x"], stdio)
    assert seen == [signal.SIG_DFL]


@pytest.mark.parametrize("handler", [signal.SIG_DFL, signal.SIG_IGN, "the caller's"])
def test_a_caller_that_ignores_sigchld_has_its_run_forked(monkeypatch, handler):
    fake = FakeLinux()
    fake.handlers[signal.SIGCHLD] = handler
    monkeypatch.setattr(fake, "listdir", lambda path: ["1"])  # a single thread
    monkeypatch.setattr(api, "_in_caller", lambda linux, argv, input: "in the caller")
    monkeypatch.setattr(api, "_forked", lambda linux, argv, input: "forked")
    monkeypatch.setattr(api, "Linux", lambda: fake)
    assert api.invoke(["run", "img"]) == ("forked" if handler == signal.SIG_IGN else "in the caller")


def test_the_init_resets_and_unblocks_sigchld_before_its_exec():
    fake = FakeLinux()
    fake.blocked = {signal.SIGCHLD}  # as an in-caller run holds it
    fake.handlers[signal.SIGCHLD] = "the caller's"
    go_read, go_write = os.pipe()
    report_read, report_write = os.pipe()
    os.write(go_write, b"go")
    with pytest.raises(Exited):
        container._child(Context("img", ["/bin/true"], options(), fake), [], go_read, report_write, None)
    for fd in (go_read, go_write, report_read, report_write):
        os.close(fd)
    assert fake.handlers[signal.SIGCHLD] == signal.SIG_DFL and fake.blocked == set()
    names = [c[0] for c in fake.calls]
    assert names.index("unblock_signals") < names.index("execve")


def test_an_exec_command_unblocks_sigchld_before_its_exec():
    fake = FakeLinux()
    fake.blocked = {signal.SIGCHLD}
    read_end, write_end = os.pipe()
    with pytest.raises(Exited):
        enter._command(Context("img", ["/bin/true"], SimpleNamespace(), fake), [], write_end, None)
    os.close(read_end)
    assert fake.blocked == set()
    names = [c[0] for c in fake.calls]
    assert names.index("unblock_signals") < names.index("execve")
