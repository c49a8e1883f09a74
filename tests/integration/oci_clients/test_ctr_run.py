"""containerd's ctr: `ctr run --rm --runc-binary PATH IMAGE ID CMD`, the runc shim
(io.containerd.runc.v2) driving the runtime: output and exit status come back, and the removed
container leaves nothing."""

import pytest

from ..containers import NAME_PREFIX
from .clients import IMAGE, leftovers


def test_ctr_run_passes_output_and_status(containerd, runtime_under_test, host):
    ident = f"{NAME_PREFIX}-ctr-run-{runtime_under_test}"
    out = containerd.run(runtime_under_test, "--rm", IMAGE, ident, "sh", "-c", "echo out; echo err >&2; echo $$; exit 3")
    # (once, under load, ctr's stderr came back without "err": the daemon's log may say why)
    assert (out.rc, out.stdout, out.stderr) == (3, "out\n1\n", "err\n"), f"{out.stderr}\ncontainerd's log:\n{containerd.log_tail()}"
    assert leftovers(host, ident, containerd.runtime_root(runtime_under_test)) == {}


@pytest.mark.parametrize("command, status", [(["false"], 1), (["sh", "-c", "exit 42"], 42)], ids=["false", "exit-42"])
def test_ctr_exit_status(containerd, runtime_under_test, command, status):
    ident = f"{NAME_PREFIX}-ctr-status-{runtime_under_test}"
    out = containerd.run(runtime_under_test, "--rm", IMAGE, ident, *command)
    assert (out.rc, out.stderr) == (status, "")


def test_ctr_run_missing_command(containerd, runtime_under_test, host):
    """The runtime's create fails: ctr says so, and the shim's delete leaves nothing."""
    ident = f"{NAME_PREFIX}-ctr-missing-{runtime_under_test}"
    out = containerd.run(runtime_under_test, "--rm", IMAGE, ident, "/no/such/command")
    assert out.rc != 0 and "/no/such/command" in out.stderr, out.stderr
    containerd("container", "rm", ident)  # ctr run --rm removes only a container whose task ran
    assert leftovers(host, ident, containerd.runtime_root(runtime_under_test)) == {}
