"""Linux.run_program starts a program as subprocess would: whatever signals its caller
blocks or CPython ignores (SIGPIPE, SIGXFSZ), the program starts with none blocked and
those at their defaults. The runtime runs programs while it blocks the signals it
forwards (an OCI init's createContainer hooks), and posix_spawn alone passes both on."""

import os
import signal

import pytest

from runtime.linux import Linux

READ_MASKS = ["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]


def masks(status_lines):
    return {line.split(":")[0]: int(line.split()[1], 16) for line in status_lines.splitlines()}


def bit(sig):
    return 1 << (sig - 1)


@pytest.fixture
def sigterm_blocked():
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # CPython's, at start-up
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    yield
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])


def test_a_program_starts_with_no_signal_blocked_and_sigpipe_at_its_default(sigterm_blocked):
    status, out, err = Linux().run_program(READ_MASKS)
    assert (status, err) == (0, b"")
    seen = masks(out.decode())
    assert seen["SigBlk"] == 0
    assert not seen["SigIgn"] & (bit(signal.SIGPIPE) | bit(signal.SIGXFSZ))


def test_control_posix_spawn_alone_passes_the_mask_and_sigpipe_on(sigterm_blocked):
    read, write = os.pipe()
    pid = os.posix_spawnp(READ_MASKS[0], READ_MASKS, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, write, 1)])
    os.close(write)
    with os.fdopen(read) as output:
        seen = masks(output.read())
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert seen["SigBlk"] & bit(signal.SIGTERM)
    assert seen["SigIgn"] & bit(signal.SIGPIPE)
