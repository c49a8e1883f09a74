"""The -t console against the double: the child's pty setup, the master handed to the
runtime, and the relay's end (real ptys and sockets, no root; the double only records
what would change this process's own terminal)."""

import os

from runtime.console import Console

from .fake_linux import FakeLinux


def attached():
    fake = FakeLinux()
    console = Console(fake)
    console.attach()  # what the child does
    console.receive()  # what the runtime does
    return fake, console


def test_the_child_makes_a_pty_its_controlling_terminal_and_stdio():
    fake, console = attached()
    try:
        master, slave = fake.named("send_fd")[0][0], fake.named("set_controlling_terminal")[0][0]
        names = [c[0] for c in fake.calls]
        assert names.index("send_fd") < names.index("setsid") < names.index("set_controlling_terminal") < names.index("dup2")
        assert ("set_window_size", slave, fake.winsize) in fake.calls  # the caller's window size
        assert fake.named("dup2") == [(slave, 0), (slave, 1), (slave, 2)]
        assert ("close", master) in fake.calls and ("close", slave) in fake.calls  # the child keeps only stdio
        assert console.master is not None  # the runtime got the master, a descriptor of its own
    finally:
        console.close()


def test_the_runtime_gets_none_when_the_child_failed_before_attaching():
    fake = FakeLinux()
    console = Console(fake)
    console._child_end.close()  # the child died: EOF
    console.receive()
    assert console.master is None
    console.close()


def test_the_relay_drains_what_the_container_wrote_and_restores_the_terminal(capfd):
    fake = FakeLinux()
    console = Console(fake)
    master, slave = os.openpty()
    console.master = master
    os.write(slave, b"last words\n")
    try:
        status = console.relay(fake.next_pid)  # the fake's container has exited already
    finally:
        os.close(slave)
        console.close()
    assert status == 0
    assert "last words" in capfd.readouterr().out
    assert fake.named("raw_mode") == [(0,)] and fake.named("restore_mode") == [(0, "saved-mode")]
    assert fake.named("waitpid") == [(fake.next_pid, os.WNOHANG)]
