"""--pid-file: the init's host pid, there when create exits (conmon and containerd's
shim read it then and wait for that pid as its subreaper).

runtime.md, State: "pid (int, REQUIRED when status is created or running on Linux) is
the ID of the container process ... as seen by the runtime."
"""


def test_the_pid_file_names_the_waiting_init(oci, host, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    pid = host.check_output("cat %s/pid", path)
    assert str(oci.state(container_id)["pid"]) == pid
    # In its own PID namespace it is PID 1; its parent is the subreaper, create is gone.
    status = dict(line.split(":\t", 1) for line in host.check_output("cat /proc/%s/status", pid).splitlines() if ":\t" in line)
    assert "python" in host.check_output("readlink /proc/%s/exe", pid)  # waiting, not yet exec'd
    assert status["NSpid"].split()[-1] == "1"
    assert "python3" in host.check_output("cat /proc/%s/cmdline | tr '\\0' ' '", status["PPid"])
    assert oci("start", container_id).rc == 0
    # Once started it is the program, no longer the runtime's interpreter.
    assert "python" not in host.check_output("readlink /proc/%s/exe", pid)
    assert oci("kill", container_id).rc == 0  # SIGTERM by default: an init without a handler ignores it
    assert oci.state(container_id)["status"] == "running"
    assert oci("kill", container_id, "9").rc == 0
    assert exit_code() == 137
