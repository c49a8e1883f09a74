"""exec: one more process in a running container, as conmon and containerd's shim run
it (`exec --process process.json --detach --pid-file F ID`), and in the foreground.

runc's exec, which podman and containerd rely on: the process joins the container's
namespaces and cgroup, takes the process object's args, env, cwd and user, and with
--detach exec returns once it runs, its pid in the pid file.
"""

import json


def _running(oci, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0 and oci("start", container_id).rc == 0, out.stderr
    return path, container_id, exit_code


def test_exec_in_the_foreground_gives_its_status_and_output(oci, bundle, ids):
    path, container_id, exit_code = _running(oci, bundle, ids)
    out = oci("exec", container_id, "sh", "-c", "echo $$ in $(hostname); exit 5")
    assert (out.rc, out.stdout) == (5, "2 in runc\n"), out.stderr  # PID 2 of the container's namespace
    oci("kill", container_id, "KILL")
    exit_code()


def test_exec_detached_from_a_process_file(oci, host, bundle, ids):
    path, container_id, exit_code = _running(oci, bundle, ids)
    process = {"args": ["sh", "-c", "echo $WHO $(pwd) $(id -u) > /tmp/said; sleep 1000"], "env": ["WHO=exec"], "cwd": "/tmp",
               "user": {"uid": 0, "gid": 0}}  # fmt: skip
    host.check_output("printf %%s %s > %s/process.json", json.dumps(process), path)
    assert oci.detached(path, "exec", "--process", f"{path}/process.json", "--detach", "--pid-file", f"{path}/exec.pid", container_id) == (0, "")
    pid = host.check_output("cat %s/exec.pid", path)
    init = host.check_output("cat %s/pid", path)
    # In the init's PID namespace, and alive after exec returned.
    assert host.check_output("readlink /proc/%s/ns/pid", pid) == host.check_output("readlink /proc/%s/ns/pid", init)
    said = host.run("timeout 60 sh -c %s", f"until test -s {path}/rootfs-said; do cat /proc/{pid}/root/tmp/said > {path}/rootfs-said 2>/dev/null; done")
    assert said.rc == 0
    assert host.check_output("cat %s/rootfs-said", path) == "exec /tmp 0"
    oci("kill", container_id, "KILL")  # the whole PID namespace goes with its init
    assert exit_code() == 137


def test_exec_in_a_stopped_container_is_refused(oci, bundle, ids):
    path, container_id = bundle(("true",)), ids()
    out, exit_code = oci.create(path, container_id)
    assert oci("start", container_id).rc == 0 and exit_code() == 0
    out = oci("exec", container_id, "true")
    assert out.rc == 73 and "stopped" in out.stderr and len(out.stderr.splitlines()) == 1
