"""The caller's terminal is not the container's: without -t the container cannot type
commands into the shell that started it (TIOCSTI; bubblewrap's CVE-2017-5226).

A real shell on a real pty (pexpect) starts the container with the pty as its stdin;
the container pushes `touch MARKER` into that terminal's input. Blocked by default (the
init has a session of its own, so it is not its controlling terminal); the control runs
with --privileged, whose CAP_SYS_ADMIN allows TIOCSTI on any terminal, and the shell
then runs the injected command.
"""

import pexpect
import pytest

pytestmark = pytest.mark.property("terminal")
PROMPT = "PROMPT> "


@pytest.fixture
def caller_shell(runtime, host):
    if host.run("test \"$(sysctl -n dev.tty.legacy_tiocsti 2>/dev/null || echo 1)\" = 1").rc != 0:
        pytest.skip("dev.tty.legacy_tiocsti=0: this kernel refuses TIOCSTI to everyone, so the control cannot work")
    argv = runtime.target.interactive(["env", f"PS1={PROMPT}", "sh"])
    shell = pexpect.spawn(argv[0], argv[1:], timeout=30, encoding="utf-8")
    shell.expect_exact(PROMPT)
    yield shell
    shell.terminate(force=True)


def attack(shell, runtime, marker, options, redirect):
    """Start the container from the shell, then let the shell read what is pending on its
    terminal: the injected line, if the attack worked. Returns the probe's verdict line."""
    line = runtime.line("/usr/local/bin/probe", "tiocsti", f"touch {marker}", options=("-T", *options))
    shell.sendline(f"{line}{redirect}; echo E''OT")
    shell.expect_exact("EOT\r\n")
    verdict = next(w for w in shell.before.splitlines() if w.startswith(("OK", "DENIED", "ERROR")))
    shell.sendline("echo done''-reading")  # queued behind anything injected
    shell.expect_exact("done-reading\r\n")
    return verdict


@pytest.mark.parametrize("redirect", ["", " | cat"], ids=["stdout-terminal", "stdout-piped"])
def test_the_container_cannot_type_into_the_callers_shell(caller_shell, runtime, host, workdir, redirect):
    marker = f"{workdir}/injected-{len(redirect)}"
    verdict = attack(caller_shell, runtime, marker, (), redirect)
    assert verdict.startswith("DENIED EPERM"), verdict
    assert host.run("test -e %s", marker).rc != 0


@pytest.mark.parametrize("redirect", ["", " | cat"], ids=["stdout-terminal", "stdout-piped"])
def test_control_with_privileged_the_injection_runs(caller_shell, runtime, host, workdir, redirect):
    marker = f"{workdir}/injected-privileged-{len(redirect)}"
    verdict = attack(caller_shell, runtime, marker, ("--privileged",), redirect)
    assert verdict.startswith("OK typed"), verdict
    assert host.run("test -e %s", marker).rc == 0
