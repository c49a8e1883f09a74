"""Hooks: called in the lifecycle's order, each with the container's state on stdin.

config.md, POSIX-platform Hooks: "The state of the container MUST be passed to hooks
over stdin"; runtime.md, Lifecycle 3-4, 9, 13: prestart and createRuntime during
create, poststart after start, poststop after delete; "If any prestart hook fails, the
runtime MUST generate an error, stop the container, and continue the lifecycle at step
12"; poststop: "the runtime MUST log a warning, but the remaining hooks and lifecycle
continue as if the hook had succeeded". startContainer: "MUST be called as part of the
start operation and before the container process is executed", "in the container
namespace", its path "resolved in the container namespace".
"""

import json


def _hook(log, name, code=0):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"printf '%s %s\\n' {name} \"$(cat)\" >> {log}; exit {code}"]}


def test_hooks_run_in_order_with_the_state(oci, host, bundle, ids):
    log = f"{bundle()}/hooks.log"  # a directory that outlives the test's bundle

    def hooks(config):
        config["hooks"] = {name: [_hook(log, name)] for name in ("prestart", "createRuntime", "poststart", "poststop")}

    path, container_id = bundle(("sleep", "1000"), hooks), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    pid = int(host.check_output("cat %s/pid", path))
    assert oci("start", container_id).rc == 0
    assert oci("delete", "--force", container_id).rc == 0
    assert exit_code() == 137
    lines = host.check_output("cat %s", log).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["prestart", "createRuntime", "poststart", "poststop"]
    states = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert {s["id"] for s in states} == {container_id} and {s["bundle"] for s in states} == {path}
    assert [s["status"] for s in states] == ["creating", "creating", "running", "stopped"]
    assert [s["pid"] for s in states[:3]] == [pid, pid, pid]


def test_a_failing_create_runtime_hook_fails_create_and_leaves_nothing(oci, host, bundle, ids):
    log = f"{bundle()}/hooks.log"
    path, container_id = bundle(("sleep", "1000"), lambda c: c.update(hooks={"createRuntime": [_hook(log, "createRuntime", 3)]})), ids()
    out, _ = oci.create(path, container_id)
    assert out.rc == 125 and "createRuntime hook 0" in out.stderr and "status 3" in out.stderr, out.stderr
    assert oci("state", container_id).rc == 71  # and the residue check: no process, cgroup or state


def test_a_hook_past_its_timeout_is_killed(oci, bundle, ids):
    hook = {"path": "/bin/sleep", "args": ["sleep", "1000"], "timeout": 1}
    path, container_id = bundle(("true",), lambda c: c.update(hooks={"prestart": [hook]})), ids()
    out, _ = oci.create(path, container_id)
    assert out.rc == 125 and "timed out after 1 s" in out.stderr, out.stderr


def test_a_failing_poststop_hook_is_a_warning(oci, host, bundle, ids):
    log = f"{bundle()}/hooks.log"
    path, container_id = bundle(("true",), lambda c: c.update(hooks={"poststop": [_hook(log, "poststop", 1)]})), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0 and oci("start", container_id).rc == 0 and exit_code() == 0
    deleted = oci("delete", container_id)
    assert deleted.rc == 0 and "warning: poststop hook 0" in deleted.stderr
    assert oci("state", container_id).rc == 71


def test_start_container_hooks_run_in_the_container_before_its_command(oci, host, bundle, ids):
    # The hook writes into the container's root (its own /tmp) and sees the container's
    # mount namespace; the command then finds what the hook left, and poststart comes after.
    log, container_id = f"{bundle()}/hooks.log", ids()
    hooked = f"/tmp/hooked-{container_id}"  # in the session's shared rootfs, written through
    marker = f"cat > {hooked}; echo >> {hooked}; readlink /proc/self/ns/mnt >> {hooked}"

    def hooks(config):
        config["hooks"] = {
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", marker]}],
            "poststart": [_hook(log, "poststart")],
        }

    path = bundle(("sh", "-c", f"cat {hooked}; rm {hooked}; readlink /proc/self/ns/mnt"), hooks)
    out = oci("run", "--bundle", path, container_id)
    assert out.rc == 0, out.stderr
    state, hook_ns, command_ns = out.stdout.splitlines()
    state = json.loads(state)
    assert (state["id"], state["status"]) == (container_id, "running")
    assert hook_ns == command_ns != host.check_output("readlink /proc/self/ns/mnt")
    assert host.check_output("cat %s", log).startswith("poststart ")


def test_a_failing_start_container_hook_stops_the_container(oci, bundle, ids):
    failing = {"path": "/bin/sh", "args": ["sh", "-c", "echo no >&2; exit 4"]}
    path, container_id = bundle(("echo", "ran"), lambda c: c.update(hooks={"startContainer": [failing]})), ids()
    out, exit_code = oci.create(path, container_id)
    assert out.rc == 0, out.stderr
    started = oci("start", container_id)
    assert started.rc == 125 and "exited before it could start" in started.stderr, started.stderr
    assert exit_code() == 125
    assert oci("state", container_id).stdout and oci("delete", container_id).rc == 0
