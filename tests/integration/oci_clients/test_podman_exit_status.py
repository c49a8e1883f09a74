"""Exit status through podman and conmon: a failing command's own status, and podman's 127
and 126 when the runtime cannot find or execute the command (a signal's 128+N:
test_podman_lifecycle.py, since PID 1 cannot be killed from inside)."""

import pytest

from .clients import IMAGE


@pytest.mark.parametrize(
    "command, status",
    [(["false"], 1), (["sh", "-c", "exit 42"], 42)],
    ids=["false", "exit-42"],
)
def test_podman_exit_status(podman, runtime_under_test, command, status):
    out = podman.run(runtime_under_test, "--rm", IMAGE, *command)
    assert (out.rc, out.stderr) == (status, "")


# podman's 126 is also any other error of the runtime's: the message must be about the command.
@pytest.mark.parametrize(
    "command, status, why",
    [("/no/such/command", 127, "no such file or directory"), ("/etc/passwd", 126, "permission denied")],
    ids=["missing", "not-executable"],
)
def test_podman_command_not_run(podman, runtime_under_test, command, status, why):
    out = podman.run(runtime_under_test, "--rm", IMAGE, command)
    assert out.rc == status and command in out.stderr and why in out.stderr.lower(), out.stderr
