import pytest

pytestmark = pytest.mark.property("pid")


def test_command_is_pid_1(runtime):
    assert runtime.run("cat", "/proc/1/cmdline").stdout == "cat\0/proc/1/cmdline\0"
    assert runtime.run("cat", "/proc/self/stat").stdout.split()[0] == "1"


def test_only_the_containers_processes_are_visible(runtime, host):
    out = runtime.run("find", "/proc", "-maxdepth", "1", "-name", "[0-9]*")
    assert out.stdout.split() == ["/proc/1"]
    assert int(host.check_output("ls -d /proc/[0-9]* | wc -l")) > 2


def test_host_process_is_neither_visible_nor_signalable(runtime, host):
    pid = host.check_output("sleep 300 >/dev/null 2>&1 & echo $!")
    try:
        out = runtime.sh(f"test -e /proc/{pid} && echo visible; kill -0 {pid} 2>/dev/null && echo signalled; true")
        assert out.stdout.strip() == ""
    finally:
        host.run("kill %s", pid)


def test_without_the_pid_plugin_host_processes_show(runtime):
    # The control: the check above can fail.
    out = runtime.run("find", "/proc", "-maxdepth", "1", "-name", "[0-9]*", options=("--disable", "pid"))
    assert len(out.stdout.split()) > 2
