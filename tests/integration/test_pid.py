import pytest

pytestmark = pytest.mark.property("pid")


def test_command_is_pid_1(runtime):
    out = runtime.run("cat", "/proc/1/cmdline")
    assert (out.rc, out.stdout) == (0, "cat\0/proc/1/cmdline\0"), out.stderr
    out = runtime.run("cat", "/proc/self/stat")
    assert out.rc == 0 and out.stdout.split()[0] == "1", out.stderr


def test_only_the_containers_processes_are_visible(runtime, host):
    out = runtime.run("find", "/proc", "-maxdepth", "1", "-name", "[0-9]*")
    assert out.rc == 0 and out.stdout.split() == ["/proc/1"], out.stderr
    assert int(host.check_output("ls -d /proc/[0-9]* | wc -l")) > 2


def test_host_process_is_neither_visible_nor_signalable(runtime, host_process):
    # "checked" last: a container that never ran cannot pass for one that saw nothing.
    out = runtime.sh(f"test -e /proc/{host_process} && echo visible; kill -0 {host_process} 2>/dev/null && echo signalled; echo checked")
    assert (out.rc, out.stdout.split()) == (0, ["checked"]), out.stderr


def test_without_the_pid_plugin_host_processes_show(runtime, host_process):
    # The control: the check above can fail.
    out = runtime.run("ls", f"/proc/{host_process}/status", options=("--disable", "pid"))
    assert out.rc == 0
