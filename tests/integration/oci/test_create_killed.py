"""create killed midway (SIGKILL: no cleanup of its own) leaves what `delete --force`
removes: the init, the state, and the cgroup create made (here at a linux.cgroupsPath, as
the clients give one), as runc's delete does after its create died.

The kill comes from a prestart hook, create's own child, at a known point: the init
exists, waits at its gate, and the hooks run before create would have finished."""


def test_delete_after_a_killed_create_leaves_nothing(oci, host, bundle, ids):
    container_id = ids()
    path = f"/{container_id}-parent/{container_id}"
    suicide = {"path": "/bin/sh", "args": ["sh", "-c", "kill -KILL $PPID"]}

    def change(config):
        config["linux"]["cgroupsPath"] = path
        config["linux"]["resources"] = {"pids": {"limit": 64}}
        config["hooks"] = {"prestart": [suicide]}

    out, _ = oci.create(bundle(("sleep", "1000"), change), container_id)
    assert out.rc == 256 - 9, out.stderr  # create killed by SIGKILL (-9, as the subreaper passes it on)
    assert host.run("find /sys/fs/cgroup -maxdepth 2 -name %s", f"{container_id}-parent").stdout  # made, then left
    assert oci("delete", "--force", container_id).rc == 0
    assert oci("state", container_id).rc == 71
    assert host.run("find /sys/fs/cgroup -maxdepth 3 -name %s", f"{container_id}*").stdout == ""
    assert not [p for p in host.run("ps -eo args=").stdout.splitlines() if container_id in p]
