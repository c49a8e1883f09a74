"""The logic of the container subcommands, without root: signals, framing, joining."""

import errno
import os
from types import SimpleNamespace

import pytest

from runtime import cli, commands, enter, errors, supervisor
from runtime.linux import CLONE_NEWNET, CLONE_NEWUTS

from .fake_linux import Exited, FakeLinux


@pytest.mark.parametrize("text, number", [("TERM", 15), ("sigterm", 15), ("SIGKILL", 9), ("usr1", 10), ("9", 9)])
def test_signal_names(text, number):
    assert commands.signal_number(text) == number


@pytest.mark.parametrize("text", ["NOPE", "SIG_DFL", "0", "999", ""])
def test_bad_signal_names(text):
    with pytest.raises(cli.UsageError):
        commands.signal_number(text)


def test_every_container_subcommand_is_in_the_table_and_has_help(capsys):
    for name in ("exec", "ps", "logs", "stop", "kill", "rm", "inspect"):
        assert name in cli.COMMANDS
        assert cli.main([name, "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"usage: demo-runtime {name}")


def test_subcommands_want_their_names(capsys):
    for argv in (["stop"], ["logs"], ["exec", "web"], ["logs", "a", "b"], ["ps", "extra"]):
        assert cli.main(argv) == errors.USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "usage: demo-runtime" in err


def test_the_supervisors_last_word_after_warnings():
    read_end, write_end = os.pipe()
    os.write(write_end, b"demo-runtime: warning: x\n\0" + b"0\nweb" + b"\0")
    os.close(write_end)
    assert supervisor._last_word(FakeLinux(), read_end) == ("demo-runtime: warning: x\n", 0, "web")
    os.close(read_end)


def test_a_supervisor_that_dies_silently():
    read_end, write_end = os.pipe()
    os.close(write_end)
    text, code, message = supervisor._last_word(FakeLinux(), read_end)
    assert code == errors.RUNTIME_FAILURE and "supervisor died" in message
    os.close(read_end)


def test_join_uses_one_setns_on_the_pidfd():
    fake = FakeLinux()
    enter._join(fake, os.getpid(), 99, [("uts", CLONE_NEWUTS), ("net", CLONE_NEWNET)])
    assert fake.named("setns") == [(99, CLONE_NEWUTS | CLONE_NEWNET)]


def test_join_falls_back_to_one_fd_per_namespace_before_linux_5_8():
    class OldKernel(FakeLinux):
        def setns(self, fd, nstype=0):
            super().setns(fd, nstype)
            if fd == 99:  # a pidfd: EINVAL before 5.8
                raise OSError(errno.EINVAL, "Invalid argument")

    fake = OldKernel()
    enter._join(fake, os.getpid(), 99, [("uts", CLONE_NEWUTS), ("net", CLONE_NEWNET)])
    calls = fake.named("setns")
    assert calls[0] == (99, CLONE_NEWUTS | CLONE_NEWNET)
    assert [flag for _, flag in calls[1:]] == [CLONE_NEWUTS, CLONE_NEWNET]


def test_exec_environment_is_the_inits():
    fake = FakeLinux(files={"/proc/7/environ": "PATH=/bin\0HOME=/root\0EMPTY=\0A=b=c\0"})
    assert enter._environment(fake, 7) == {"PATH": "/bin", "HOME": "/root", "EMPTY": "", "A": "b=c"}


def test_describe_status():
    assert commands.describe_status({"status": "running"}) == "running"
    assert commands.describe_status({"status": "exited", "exit_code": 3}) == "exited (3)"
    assert commands.describe_status({"status": "exited", "exit_code": None, "reason": "its supervisor died"}) == "exited: its supervisor died"


def test_the_exec_command_is_undumpable_before_anything_else_of_the_container():
    """From its fork it is visible in the container's PID namespace while still the
    runtime's interpreter: non-dumpable, the container cannot open its /proc/PID/exe."""
    from runtime.errors import ContainerError
    from runtime.plugin import Context, Plugin

    class Tell(Plugin):
        def setup_child(self, ctx):  # the first process plugin: report what was called so far
            raise ContainerError(99, ",".join(call[0] for call in ctx.linux.calls))

    read_end, write_end = os.pipe()
    ctx = Context("img", ["true"], SimpleNamespace(), FakeLinux())
    with pytest.raises(Exited) as exited:
        enter._command(ctx, [Tell()], write_end, None)  # ends in exit_now
    os.close(write_end)
    report = os.read(read_end, 4096).decode()
    os.close(read_end)
    assert exited.value.code == 99
    assert report.split("\n", 1)[1].split(",") == ["set_parent_death_signal", "make_undumpable", "set_signal_handlers"]
