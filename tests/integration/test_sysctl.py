"""--sysctl in real containers: the container's own namespaces get the setting, the
host keeps its own, and settings of the host's kernel (or of a namespace shared with
the host) are refused."""

import pytest

pytestmark = pytest.mark.property("sysctl")


@pytest.mark.parametrize("key, value", [("kernel.shmmni", "99"), ("net.ipv4.ip_forward", "1"), ("kernel.domainname", "op-domain")])
def test_a_namespaced_setting_is_the_containers_alone(runtime, host, key, value):
    path = "/proc/sys/" + key.replace(".", "/")
    before = host.check_output("cat %s", path)
    assert before != value  # else the test could not tell
    out = runtime.run("cat", path, options=("--sysctl", f"{key}={value}"))
    assert (out.rc, out.stdout) == (0, f"{value}\n"), out.stderr
    assert host.check_output("cat %s", path) == before


@pytest.mark.parametrize(
    "options, words",
    [
        (("--sysctl", "vm.swappiness=1"), "would change the host's kernel"),
        (("--sysctl", "kernel.hostname=x"), "use --hostname"),
        # The protection: with the host's network namespace, net.* is the host's setting.
        (("--net", "host", "--sysctl", "net.ipv4.ip_forward=1"), "shares the host's net namespace"),
        (("--disable", "ipc", "--sysctl", "kernel.shmmni=99"), "shares the host's ipc namespace"),
        (("--sysctl", "net.core.no_such_setting=1"), "write /proc/sys/net/core/no_such_setting: No such file"),
    ],
)
def test_the_rest_is_refused_and_the_host_unchanged(runtime, host, options, words):
    before = host.check_output("cat /proc/sys/vm/swappiness /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")
    out = runtime.run("true", options=options)
    # One line for the error (after a warning that --net host or --disable ipc print first).
    assert out.rc == (125 if "no_such" in words else 64), out.stderr
    assert words in out.stderr.splitlines()[-1] and "Traceback" not in out.stderr
    assert host.check_output("cat /proc/sys/vm/swappiness /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni") == before
