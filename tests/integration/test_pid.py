import pytest

pytestmark = pytest.mark.property("pid")


def test_command_is_pid_1(runtime):
    assert runtime.run("cat", "/proc/1/cmdline").stdout == "cat\0/proc/1/cmdline\0"
    assert runtime.run("cat", "/proc/self/stat").stdout.split()[0] == "1"


def test_only_the_containers_processes_are_visible(runtime, host):
    out = runtime.run("find", "/proc", "-maxdepth", "1", "-name", "[0-9]*")
    assert out.stdout.split() == ["/proc/1"]
    assert int(host.check_output("ls -d /proc/[0-9]* | wc -l")) > 2


def test_host_process_is_neither_visible_nor_signalable(runtime, host_process):
    out = runtime.sh(f"test -e /proc/{host_process} && echo visible; kill -0 {host_process} 2>/dev/null && echo signalled; true")
    assert out.stdout.strip() == ""


def test_without_the_pid_plugin_host_processes_show(runtime, host_process):
    # The control: the check above can fail.
    out = runtime.run("ls", f"/proc/{host_process}/status", options=("--disable", "pid"))
    assert out.rc == 0
