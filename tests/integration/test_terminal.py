"""With a terminal, the runtime behaves like `docker run -it`: a pty inside, job control,
Ctrl-C for the foreground job, the window size followed."""

import os
import select
import signal
import time

import pexpect
import pytest

from .netns import HANG, until, wait_for

pytestmark = pytest.mark.property("terminal")
PROMPT = "PROMPT> "


@pytest.fixture
def shell(runtime):
    options = ("-e", f"PS1={PROMPT}")
    argv = runtime.target.interactive(runtime.argv("/bin/sh", options=options))
    child = pexpect.spawn(
        argv[0], argv[1:], dimensions=(30, 90), timeout=HANG, encoding="utf-8", preexec_fn=_hangup_ends_it
    )
    child.expect_exact(PROMPT)
    yield child
    if child.isalive():
        child.terminate(force=True)


def _hangup_ends_it():
    """The terminal's client as a user's terminal starts it: SIGHUP not ignored. Started
    under nohup (or by a CI runner that ignores SIGHUP) ssh keeps ignoring it, sees only
    EOF when its terminal goes away, and passes that on; sshd cannot give a pty an
    EOF, so the remote container would live on."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def say(shell, line):
    """Run a line at the prompt; its output. An end marker, not the prompt, delimits it:
    busybox's line editor may redraw the prompt (after SIGWINCH, for one)."""
    shell.sendline(f"{line}; echo E''OT")
    shell.expect_exact("\r\nEOT\r\n")
    return shell.before.rsplit("E''OT\r\n", 1)[-1].replace("\r\n", "\n").strip()


def test_a_private_pty_is_the_controlling_terminal(shell):
    assert say(shell, "tty") == "/dev/pts/0"
    assert say(shell, "ls /dev/pts").split() == ["0", "ptmx"]


def test_window_size_follows_the_terminal(shell):
    assert say(shell, "stty size") == "30 90"
    shell.setwinsize(40, 120)
    # The runtime passes the new size on when its SIGWINCH comes: wait for it there.
    assert say(shell, until('[ "$(stty size)" = "40 120" ]') + "; stty size") == "40 120"


def test_ctrl_c_interrupts_the_foreground_job_not_the_container(shell, host):
    # A sleep of a length no other process has, so the host can see when it runs: a ^C
    # sent before it starts would reach the shell instead.
    seconds = f"30.{os.getpid()}{time.monotonic_ns() % 1000:03d}"
    shell.sendline(f"sleep {seconds}; echo after-sleep")
    wait_for(lambda: host.run(f"pgrep -fx 'sleep {seconds}'").rc == 0, f"sleep {seconds} to run", lambda: not shell.isalive() and "the shell ended")
    shell.sendintr()
    shell.expect_exact(PROMPT)
    assert "after-sleep" not in shell.before.replace("echo after-sleep", "")
    assert say(shell, "echo still-here") == "still-here"


def test_job_control(shell):
    say(shell, "sleep 60 & true")
    assert "sleep 60" in say(shell, "jobs")
    say(shell, "kill %1")


def test_exit_status_of_the_shell(shell):
    shell.sendline("exit 5")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 5


def test_hangup_of_our_terminal_ends_the_container(shell):
    # As when an ssh connection drops: the terminal goes away under a running job.
    shell.sendline("sleep 300")
    shell.expect_exact("sleep 300")
    ended = os.pidfd_open(shell.pid)
    os.close(shell.child_fd)
    # the terminal's process (the runtime, or ssh) exits on the hangup: wait for that
    # event; the bound only keeps a broken run from hanging
    assert select.select([ended], [], [], HANG)[0], "the hangup did not end the terminal's process"
    os.close(ended)
    # no_residue then checks that the container went too
