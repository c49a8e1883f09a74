"""config.json's mounts: binds and tmpfs mounts become the volumes plugin's, resolved
inside the root; what no plugin mounts is refused (test_bad_bundle).

config.md, Mounts: "The runtime MUST mount entries in the listed order"; "options: Mount
options of the filesystem to be used"; a bind's source is a host path.
"""


def test_binds_and_tmpfs_mounts_of_the_config(oci, host, bundle, ids, workdir):
    shared = f"{bundle()}"
    host.check_output("echo from-host > %s/note", shared)

    def mounts(config):
        config["mounts"] += [
            {"destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "ro"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ]

    script = "cat /shared/note; touch /shared/x 2>/dev/null || echo read-only; grep ' /run ' /proc/mounts; stat -c %a /run"
    path, container_id = bundle(("sh", "-c", script), mounts), ids()
    out = oci("run", "--bundle", path, container_id)
    assert out.rc == 0, out.stderr
    note, read_only, run, mode = out.stdout.splitlines()
    assert (note, read_only, mode) == ("from-host", "read-only", "755")
    assert run.split()[2] == "tmpfs" and "size=65536k" in run and "nosuid" in run
