"""podman with a store of its own under one directory, for the client tests and the benchmark:
the vfs driver (no overlay mounts), cgroupfs, file events and, per run, no network, so it
changes nothing of the host's but what a container itself makes (its cgroup, its state under
the OCI runtime's root)."""

# podman 4.3 gives `--log-format=json --log FILE` only to the runtimes named here: its own list,
# and demo-runtime-oci.
RUNTIME_SUPPORTS_JSON = ["crun", "runc", "kata", "runsc", "youki", "krun", "demo-runtime-oci"]


def argv(base, runtime=None):
    """The podman command line of the store in BASE (which holds containers.conf), with the OCI
    runtime at the path RUNTIME. podman refuses a runroot of more than 50 characters (conmon's
    attach socket lives in it): BASE has at most 42."""
    return [
        "env", f"CONTAINERS_CONF={base}/containers.conf", "podman",
        "--root", f"{base}/root", "--runroot", f"{base}/runroot", "--tmpdir", f"{base}/tmp",
        "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        *(("--runtime", runtime) if runtime else ()),
    ]  # fmt: skip


def containers_conf(limits, pid_max):
    """containers.conf for a host whose /proc/self/limits reads LIMITS.

    Rootful podman 4.3 asks the runtime for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC of pid_max;
    where root lacks CAP_SYS_RESOURCE (a CI sandbox's bounding set) nothing above the hard
    limits can be set, and every runtime fails with EPERM. podman also lowers its own NPROC to
    pid_max at start (containers/common's default ulimits), which conmon and the runtime
    inherit. So: the hard limits, NPROC at most pid_max."""
    hard = {line[:26].strip(): line[26:].split()[1] for line in limits.splitlines()[1:]}
    nofile, nproc = hard["Max open files"], hard["Max processes"]
    nproc = min(pid_max, int(nproc) if nproc != "unlimited" else pid_max)
    supports_json = ", ".join(f'"{name}"' for name in RUNTIME_SUPPORTS_JSON)
    return (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        f"runtime_supports_json = [{supports_json}]\n"
    )
