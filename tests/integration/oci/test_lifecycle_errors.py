"""Operations in the wrong state, and kill/delete races, the same test against
demo-runtime-oci, runc and crun (README: differences; runc exits 1 for every error).

runtime.md, Create: "If the ID provided is not unique ... a new container MUST NOT be
created". Start: "Attempting to start a container that is not created MUST have no
effect on the container and MUST generate an error". Kill: "Attempting to send a
signal to a container that is neither created nor running MUST have no effect on the
container and MUST generate an error". Delete: "Attempting to delete a container that
is not stopped MUST have no effect on the container and MUST generate an error".
"""


CONTAINERD_NOT_FOUND = ("container not running", "no such process", "os: process already finished", "does not exist")


def _started(client, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = client.create(path, container_id)
    assert out.rc == 0, out.stderr
    assert client("start", container_id).rc == 0
    return path, container_id, exit_code


def test_a_duplicate_id_is_refused(any_runtime, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = any_runtime.create(path, container_id)
    assert out.rc == 0, out.stderr
    again, _ = any_runtime.create(bundle(("true",)), container_id)
    assert again.rc != 0 and again.stderr.strip()
    assert any_runtime.state(container_id)["status"] == "created"  # the first one, untouched
    assert any_runtime("delete", container_id).rc == 0
    assert exit_code() == 137


def test_start_twice_is_an_error_and_changes_nothing(any_runtime, bundle, ids):
    path, container_id, exit_code = _started(any_runtime, bundle, ids)
    again = any_runtime("start", container_id)
    assert again.rc != 0 and again.stderr.strip()
    assert any_runtime.state(container_id)["status"] == "running"
    any_runtime("kill", container_id, "KILL")
    assert exit_code() == 137


def test_delete_of_a_running_container_needs_force(any_runtime, host, bundle, ids):
    path, container_id, exit_code = _started(any_runtime, bundle, ids)
    refused = any_runtime("delete", container_id)
    assert refused.rc != 0 and refused.stderr.strip()
    assert any_runtime.state(container_id)["status"] == "running"
    assert any_runtime("delete", "--force", container_id).rc == 0  # kills it, then deletes
    assert exit_code() == 137
    assert any_runtime("state", container_id).rc != 0


def test_kill_of_a_stopped_container_is_an_error(any_runtime, bundle, ids):
    path, container_id = bundle(("true",)), ids()
    out, exit_code = any_runtime.create(path, container_id)
    assert out.rc == 0 and any_runtime("start", container_id).rc == 0
    assert exit_code() == 0
    killed = any_runtime("kill", container_id, "KILL")
    assert killed.rc != 0
    # containerd's runc shim (checkKillError) takes a kill error for "process already
    # finished" only in these words; any other is a failed kill to ctr and Kubernetes.
    assert any(words in killed.stderr.lower() for words in CONTAINERD_NOT_FOUND), killed.stderr
    assert any_runtime("delete", container_id).rc == 0


def test_delete_of_a_created_container_ends_it(any_runtime, bundle, ids):
    path, container_id = bundle(("sleep", "1000")), ids()
    out, exit_code = any_runtime.create(path, container_id)
    assert out.rc == 0, out.stderr
    assert any_runtime("delete", container_id).rc == 0  # without --force, as runc does
    assert exit_code() == 137
