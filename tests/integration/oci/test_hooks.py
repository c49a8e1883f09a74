"""Hooks: called in the lifecycle's order, each with the container's state on stdin.

config.md, POSIX-platform Hooks: "The state of the container MUST be passed to hooks
over stdin"; runtime.md, Lifecycle 3-4, 9, 13: prestart and createRuntime during
create, poststart after start, poststop after delete; "If any prestart hook fails, the
runtime MUST generate an error, stop the container, and continue the lifecycle at step
12"; poststop: "the runtime MUST log a warning, but the remaining hooks and lifecycle
continue as if the hook had succeeded". createContainer: "MUST be called after the
createRuntime hooks", "in the container namespace", "before pivot_root", its path
resolved "in the runtime namespace". startContainer: "MUST be called as part of the
start operation and before the container process is executed", "in the container
namespace", its path "resolved in the container namespace". Compared with runc and crun
where the spec leaves room (or they differ from it: README).
"""

import json


def _hook(log, name, code=0):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"printf '%s %s\\n' {name} \"$(cat)\" >> {log}; exit {code}"]}


# The state's status each hook gets: the spec's (runtime.md, State: `created` until the
# user's program is executed).
STATUS = {
    "prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
    "startContainer": "created", "poststart": "running", "poststop": "stopped",
}  # fmt: skip
# Where runc 1.1 and crun 1.8 give another state (README): runc runs poststart at the end
# of create; crun says created during create, pid 0 (and bundle "/") in the container,
# and "starting", no state of the spec, to startContainer. Either value passes for them
# (a later version may follow the spec); demo-runtime-oci gives the spec's.
DIFFERENT = {
    "runc": {"poststart": {"status": "created"}},
    "crun": {
        "prestart": {"status": "created"}, "createRuntime": {"status": "created"},
        "createContainer": {"status": "created", "pid": 0},
        "startContainer": {"status": "starting", "pid": 0, "bundle": "/"},
    },
}  # fmt: skip
# The hooks create runs, in order; runc 1.1 runs poststart at its end, not after start.
CREATE = ["prestart", "createRuntime", "createContainer"]
CREATE_ALSO = {"runc": ["poststart"]}


def _logged(name, log):
    # The hook's root as device:inode (the host's before pivot_root, the image's after), its state.
    return {"path": "/bin/sh", "args": ["sh", "-c", f"printf '%s %s %s\\n' {name} \"$(stat -c %d:%i /)\" \"$(cat)\" >> {log}"]}


def test_hooks_run_in_order_with_the_state(any_runtime, host, bundle, rootfs, ids):
    # One log for the hooks that run before pivot_root or outside the container, by a
    # path outside /tmp (demo-runtime-oci stages the root there, covering the host's);
    # startContainer's in the container's root (written through: root.readonly is false).
    container_id = ids()
    log, inside = f"/var/tmp/{container_id}-hooks.log", f"hooks-{container_id}.log"
    outside = [hook for hook in STATUS if hook != "startContainer"]

    def hooks(config):
        config["hooks"] = {hook: [_logged(hook, log)] for hook in outside}
        config["hooks"]["startContainer"] = [_logged("startContainer", f"/{inside}")]

    path = bundle(("sleep", "1000"), hooks)
    try:
        out, exit_code = any_runtime.create(path, container_id)
        assert out.rc == 0, out.stderr
        pid = int(host.check_output("cat %s/pid", path))
        created = host.check_output("cat %s", log).splitlines()
        assert any_runtime("start", container_id).rc == 0
        assert any_runtime("delete", "--force", container_id).rc == 0
        assert exit_code() == 137
        lines = host.check_output("cat %s %s/%s", log, rootfs, inside).splitlines()
    finally:
        host.run("rm -f %s %s/%s", log, rootfs, inside)
    by_create = [line.split(" ", 1)[0] for line in created]
    assert by_create in (CREATE, CREATE + CREATE_ALSO.get(any_runtime.name, []))
    assert [line.split(" ", 1)[0] for line in lines] == by_create + [h for h in outside if h not in by_create] + ["startContainer"]
    roots = {line.split(" ")[0]: line.split(" ")[1] for line in lines}
    states = {line.split(" ")[0]: json.loads(line.split(" ", 2)[2]) for line in lines}
    host_root, image_root = (host.check_output("stat -c %%d:%%i %s", where) for where in ("/", rootfs))
    assert roots == dict({hook: host_root for hook in outside}, startContainer=image_root)
    # The init's pid as the runtime sees it, and in the container as it sees itself (PID 1).
    pids = {"createContainer": 1, "startContainer": 1}
    spec = {hook: {"id": container_id, "bundle": path, "status": STATUS[hook], "pid": pids.get(hook, pid)} for hook in STATUS}
    del spec["poststop"]["pid"]  # the spec asks for it while created or running only
    allowed = DIFFERENT.get(any_runtime.name, {})
    for hook, wanted in spec.items():
        given = {key: states[hook][key] for key in wanted}
        assert given == {key: given[key] if given[key] == allowed.get(hook, {}).get(key) else value for key, value in wanted.items()}, hook


def test_a_failing_create_container_hook_fails_create_and_leaves_nothing(any_runtime, bundle, ids):
    failing = {"path": "/bin/sh", "args": ["sh", "-c", "echo no mounts for you >&2; exit 3"]}
    path, container_id = bundle(("true",), lambda c: c.update(hooks={"createContainer": [failing]})), ids()
    out, _ = any_runtime.create(path, container_id)
    assert out.rc != 0 and out.stderr.strip(), out.stderr
    if any_runtime.name == "demo-runtime-oci":
        assert out.rc == 125 and out.stderr.splitlines() == [
            "demo-runtime-oci: createContainer hook 0 (/bin/sh) failed with status 3: no mounts for you"
        ], out.stderr
    assert any_runtime("state", container_id).rc != 0  # and the residue check: no process, cgroup or state


def test_a_create_container_hooks_path_resolves_in_the_runtimes_namespace(any_runtime, host, bundle, ids):
    # A script in the bundle (under /tmp, which demo-runtime-oci's staging tmpfs covers in
    # the container's mount namespace before pivot_root): found as the runtime finds it.
    path, container_id = bundle(), ids()
    script, log = f"{path}/hook.sh", f"/var/tmp/{container_id}-hook.log"
    host.check_output("printf '#!/bin/sh\\necho ran >> %s\\n' > %s && chmod +x %s", log, script, script)
    path = bundle(("true",), lambda c: c.update(hooks={"createContainer": [{"path": script}]}))
    try:
        out, exit_code = any_runtime.create(path, container_id)
        assert out.rc == 0, out.stderr
        assert host.check_output("cat %s", log) == "ran"
        assert any_runtime("start", container_id).rc == 0 and exit_code() == 0
    finally:
        host.run("rm -f %s", log)


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
    assert (state["id"], state["status"]) == (container_id, "created")  # runc's: it has not executed the program yet
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
