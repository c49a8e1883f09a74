"""`podman run -d`, `podman exec`, `podman stop`, `podman rm`: the runtime's create/start, exec,
kill and delete as conmon and podman call them, and nothing left once the container is removed."""

from ..containers import NAME_PREFIX
from .clients import IMAGE, leftovers

# An init that ends on SIGTERM with a status of its own: the stop reached it, and its status
# came back. (`sleep & wait`: a shell runs its trap only between commands.)
INIT = ["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 1000 & wait $!; done"]


def test_podman_detach_exec_stop_rm(podman, runtime_under_test, host):
    name = f"{NAME_PREFIX}-lifecycle-{runtime_under_test}"
    ident = podman.check(
        "run", "-d", "--name", name, "--network", "none", IMAGE, *INIT, runtime=runtime_under_test
    ).strip()
    try:
        assert podman.check("inspect", "--format", "{{.State.Status}}", name).strip() == "running"

        show_init = "cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5"
        out = podman("exec", name, "sh", "-c", show_init, runtime=runtime_under_test)
        assert (out.rc, out.stdout) == (5, " ".join(INIT) + " \n"), out.stderr

        podman.check("stop", "--time", "10", name, runtime=runtime_under_test)
        state = podman.check("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        assert state.split() == ["exited", "7"]
    finally:
        podman.check("rm", "--force", name, runtime=runtime_under_test)
    assert podman("inspect", name).rc != 0
    assert leftovers(host, ident, runtime_under_test.root) == {}


def test_podman_kill_status(podman, runtime_under_test, host):
    """`podman kill` goes through the runtime's kill; SIGKILL of the init is status 137."""
    name = f"{NAME_PREFIX}-kill-{runtime_under_test}"
    ident = podman.check(
        "run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "1000", runtime=runtime_under_test
    )
    try:
        podman.check("kill", "--signal", "KILL", name, runtime=runtime_under_test)
        assert podman.check("wait", name, runtime=runtime_under_test) == "137\n"
    finally:
        podman.check("rm", "--force", name, runtime=runtime_under_test)
    assert leftovers(host, ident.strip(), runtime_under_test.root) == {}
