"""The process's exit status reaches the caller's subreaper (conmon, the shim), and
`run` exits with it (runc: the process's status; 128+N for a signal N).

runtime.md, Lifecycle 10: "The container process exits. This MAY happen due to erroring
out, exiting, crashing or the runtime's kill operation being invoked."
"""

import pytest


@pytest.mark.parametrize("code", [0, 3, 42])
def test_the_init_exit_status_reaches_the_subreaper(oci, bundle, ids, code):
    path, container_id = bundle(("sh", "-c", f"exit {code}")), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    assert oci("start", container_id).rc == 0
    assert exit_code() == code


def test_a_signal_is_128_plus_its_number(oci, bundle, ids):
    # A PID namespace's init ignores signals it has no handler for: SIGKILL from outside.
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0 and oci("start", container_id).rc == 0
    assert oci("kill", container_id, "SIGKILL").rc == 0
    assert exit_code() == 128 + 9


@pytest.mark.parametrize("code", [0, 7])
def test_run_exits_with_the_process_status(oci, bundle, ids, code):
    path, container_id = bundle(("sh", "-c", f"echo out; exit {code}")), ids()
    out = oci("run", "--bundle", path, container_id)
    assert (out.rc, out.stdout) == (code, "out\n"), out.stderr
    assert oci("state", container_id).rc == 71  # run deletes it


@pytest.mark.parametrize(
    "command, why",
    [("no-such-command", "executable file not found in $PATH"), ("/no/such", "stat /no/such: no such file or directory")],
)
def test_a_command_not_in_the_container_fails_create(oci, bundle, ids, command, why):
    # As runc: the command is looked up before the init waits, so create fails (127), in
    # runc's words (podman says 127 on "no such file or directory").
    container_id = ids()
    out, _ = oci.create(bundle((command,)), container_id)
    assert out.rc == 127 and out.stderr.strip() == f'demo-runtime-oci: exec: "{command}": {why}', out.stderr
    assert oci("state", container_id).rc == 71
