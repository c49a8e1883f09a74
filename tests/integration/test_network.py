import pytest

from .netns import until

pytestmark = pytest.mark.property("net")


def test_only_loopback_and_it_is_up(container):
    assert container.check_output("ls /sys/class/net") == "lo"
    link = container.check_output("ip -o link show lo")
    assert "UP" in link.split("<")[1].split(">")[0].split(",")


def test_loopback_works_inside(container):
    # Retried until the listener answers: it starts in the background.
    script = "nc -l -p 8123 -e echo pong & " + until('out=$(nc 127.0.0.1 8123 </dev/null) && [ -n "$out" ]') + "; echo $out"
    out = container.run(script)
    assert out.rc == 0 and out.stdout.strip() == "pong", out.stderr


def test_host_loopback_service_unreachable(runtime, host, listener):
    # The control: the listener answers on the host itself.
    assert host.run("python3 -c %s", f"import socket; socket.create_connection(('127.0.0.1', {listener}), 2)").rc == 0
    out = runtime.sh(f"if nc -w 2 127.0.0.1 {listener} </dev/null; then echo connected; else echo refused; fi")
    assert (out.rc, out.stdout.strip()) == (0, "refused"), out.stderr


def test_without_the_net_plugin_host_loopback_reachable(runtime, listener):
    out = runtime.sh(f"if nc -w 2 127.0.0.1 {listener} </dev/null; then echo connected; else echo refused; fi", options=("--disable", "net"))
    assert (out.rc, out.stdout.strip()) == (0, "connected"), out.stderr


def test_explicit_none_is_the_default(runtime):
    out = runtime.sh("ls /sys/class/net; cat /proc/net/route | wc -l", options=("--net", "none"))
    assert out.rc == 0
    assert out.stdout.split() == ["lo", "1"]  # only lo, and no route but the header line
