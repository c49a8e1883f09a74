"""`podman run -t` and `podman exec -t`: the runtime hands conmon the pty master over the
console socket, and the command runs on the pty's other end."""

from ..containers import NAME_PREFIX
from .clients import IMAGE, leftovers


def test_podman_run_tty(podman, runtime_under_test, host):
    cidfile = f"{podman.base}/cid-tty-{runtime_under_test}"
    out = podman.run(runtime_under_test, "--rm", "-t", "--cidfile", cidfile, IMAGE, "sh", "-c", "tty; exit 4")
    assert (out.rc, out.stdout) == (4, "/dev/pts/0\r\n"), out.stderr
    assert leftovers(host, host.check_output("cat %s", cidfile), runtime_under_test.root) == {}


def test_podman_exec_tty(podman, runtime_under_test):
    name = f"{NAME_PREFIX}-tty-{runtime_under_test}"
    podman.check("run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "1000", runtime=runtime_under_test)
    try:
        out = podman("exec", "-t", name, "sh", "-c", "tty; exit 6", runtime=runtime_under_test)
        assert (out.rc, out.stdout) == (6, "/dev/pts/0\r\n"), out.stderr
    finally:
        podman.check("rm", "--force", "--time", "0", name, runtime=runtime_under_test)
