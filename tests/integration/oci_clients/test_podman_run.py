"""`podman --runtime PATH run --rm IMAGE CMD`: conmon starts the runtime, the command's output
and exit status come back through podman, and the removed container leaves nothing."""

from .clients import IMAGE, leftovers


def test_podman_run_passes_output_and_status(podman, runtime_under_test, host):
    cidfile = f"{podman.base}/cid-run-{runtime_under_test}"
    out = podman.run(
        runtime_under_test, "--rm", "--cidfile", cidfile, IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"
    )
    assert (out.rc, out.stdout, out.stderr) == (3, "out\n", "err\n")
    ident = host.check_output("cat %s", cidfile)
    assert leftovers(host, ident, runtime_under_test.root) == {}


def test_podman_run_is_in_the_image_and_its_own_namespaces(podman, runtime_under_test, host, target):
    """The root is the imported image; the command is PID 1; its network has only lo."""
    out = podman.run(runtime_under_test, "--rm", IMAGE, "sh", "-c", "cat /etc/os-release; echo $$; ls /sys/class/net")
    assert out.rc == 0, out.stderr
    os_release = host.check_output("debugfs -R %s %s", "cat /etc/os-release", target.image)
    assert out.stdout == f"{os_release}\n1\nlo\n"
