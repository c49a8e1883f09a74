"""The lifecycle: create -> created -> start -> running -> (exit) stopped -> delete.

runtime.md, State: "created: the runtime has finished the create operation ..., and the
container process has neither exited nor executed the user-specified program";
"running: the container process has executed the user-specified program but has not
exited"; "stopped: the container process has exited". Create: "process.args MUST NOT
be applied until triggered by the start operation". Delete: "Once a container is
deleted its ID MAY be used by a subsequent container."
"""


def test_state_follows_the_lifecycle(oci, host, bundle, ids):
    path, container_id = bundle(("sh", "-c", "read line; echo got $line")), ids()
    # stdin of the init is /dev/null (the subreaper's): `read` ends at once after start.
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    state = oci.state(container_id)
    assert (state["status"], state["id"], state["bundle"]) == ("created", container_id, path)
    assert state["pid"] == int(host.check_output("cat %s/pid", path)) > 0
    assert host.check_output("cat %s/out", path) == ""  # the program has not run
    assert oci("start", container_id).rc == 0
    assert exit_code() == 0
    assert oci.state(container_id)["status"] == "stopped"
    assert host.check_output("cat %s/out", path) == "got"
    assert oci("delete", container_id).rc == 0
    assert oci("state", container_id).rc == 71
    again, exit_again = oci.create(path, container_id)  # the ID is free again
    assert again.rc == 0, again.stderr
    oci("delete", "--force", container_id)
    exit_again()


def test_running_until_the_process_exits(oci, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    assert oci("start", container_id).rc == 0
    assert oci.state(container_id)["status"] == "running"
    assert oci("kill", container_id, "KILL").rc == 0
    assert exit_code() == 128 + 9
    assert oci.state(container_id)["status"] == "stopped"
    assert oci.state(container_id)["pid"] == 0


def test_list_shows_the_containers(oci, bundle, ids):
    path, container_id = bundle(), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    import json

    listed = {s["id"]: s for s in json.loads(oci("list", "--format", "json").stdout)}
    assert listed[container_id]["status"] == "created"
    table = oci("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert any(line.split()[:3] == [container_id, str(listed[container_id]["pid"]), "created"] for line in table[1:])
    assert oci("delete", container_id).rc == 0  # a created one goes without --force, as in runc
    assert exit_code() == 128 + 9
