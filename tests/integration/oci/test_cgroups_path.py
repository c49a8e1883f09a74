"""linux.cgroupsPath: the container's cgroup at that path, made by create, removed by
delete; the same test against demo-runtime-oci, runc and crun.

config-linux.md, Cgroups path: "For absolute paths (starting with /), the runtime MUST
take the path to be relative to the cgroups mount point." "If the value is specified,
the cgroups MUST be created at the path given" (runc: in every hierarchy; demo-runtime-
oci: in those of its limits, README). Relative paths ("MAY interpret the path relative to
a runtime-determined location") are refused by demo-runtime-oci (test_bad_bundle's kind).
delete removes the directories above the cgroup that create made, if empty; runc leaves them.
"""

import pytest


def init_cgroups(host, pid):
    """{controllers: path} of the init's /proc/PID/cgroup ("" is v2's line)."""
    lines = host.check_output("cat /proc/%s/cgroup", str(pid)).splitlines()
    return {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines}


def test_the_init_is_in_the_cgroup_at_the_path_until_delete(any_runtime, host, bundle, ids):
    container_id = ids()
    path = f"/{container_id}-parent/{container_id}"

    def change(config):
        config["linux"]["cgroupsPath"] = path
        config["linux"]["resources"] = {"pids": {"limit": 64}}

    directory = bundle(("sleep", "1000"), change)
    out, exit_code = any_runtime.create(directory, container_id)
    assert out.rc == 0, out.stderr
    seen = init_cgroups(host, any_runtime.state(container_id)["pid"])
    assert seen[""] == path and seen.get("pids", path) == path, seen  # v2, and v1's pids where it is one
    assert any_runtime("delete", "--force", container_id).rc == 0
    assert exit_code() == 137
    assert host.run("find /sys/fs/cgroup -maxdepth 3 -name %s", container_id).stdout == ""
    parents = host.run("find /sys/fs/cgroup -maxdepth 2 -name %s", f"{container_id}-parent").stdout.split()
    if any_runtime.name != "demo-runtime-oci":  # runc leaves the directories above that it made
        for parent in parents:
            host.check_output("rmdir %s", parent)
        parents = []
    assert parents == []


@pytest.mark.kernel_independent("a relative cgroupsPath: refused by the bundle checks, no cgroup made")
def test_a_relative_path_is_refused_naming_the_field(oci, host, bundle, ids):
    container_id = ids()
    directory = bundle(("true",), lambda config: config["linux"].update(cgroupsPath=f"{container_id}/c1"))
    out, _ = oci.create(directory, container_id)
    assert out.rc == 91, out.stderr
    assert out.stderr.strip() == (
        f"demo-runtime-oci: config.json: linux.cgroupsPath: '{container_id}/c1': "
        "an absolute path from the cgroup root, with no '.', '..' or empty names"
    )
    assert oci("state", container_id).rc == 71  # nothing created
