"""podman (with conmon) and containerd's ctr on the target, each with a private store, driving
an OCI runtime given by path: runc, crun or demo-runtime-oci."""

import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.testing import podman

from ..containers import NAME_PREFIX, OUR_TEST_DIRS

REPO_ROOT = Path(__file__).resolve().parents[3]
IMAGE = f"localhost/{NAME_PREFIX}-oci-clients:latest"
# Where the fixtures keep their stores, daemons and runtime state: one directory each.
TMP_PATTERN = f"/var/tmp/{OUR_TEST_DIRS}{{}}-XXXXXX"


# Each runtime's default --root, where it keeps its containers' state. podman passes it no
# --root (and `--runtime-flag root=DIR` does not reach the `delete` of its cleanup process).
DEFAULT_ROOTS = {"runc": "/run/runc", "crun": "/run/crun", "demo-runtime-oci": "/run/demo-runtime-oci"}


@dataclass
class OciRuntime:
    name: str
    path: str  # on the target

    @property
    def root(self):
        return DEFAULT_ROOTS[self.name]

    def __str__(self):
        return self.name


def require(target, command):
    """COMMAND's path on the target. setup.sh installs every client and runtime here; the VM
    lab's machines have none of them (lab/packages.txt), so there it is a skip that says so."""
    path = target.host.run("command -v %s", command).stdout.strip()
    if not path:
        if target.kind != "local":
            pytest.skip(f"no {command} on {target.name}: lab/packages.txt does not install the OCI clients")
        pytest.fail(f"{command} is not installed on {target.name}: setup.sh installs it")
    return path


def oci_runtime(target, name):
    """The runtime NAME on the target, or a skip that says why it cannot run there."""
    host = target.host
    if name == "demo-runtime-oci":
        if not (REPO_ROOT / "bin" / "demo-runtime-oci").exists():
            pytest.skip("demo-runtime-oci is not in this checkout yet (issue 11: runtime/oci/)")
        path = str(Path(shlex.split(target.runtime)[0]).with_name("demo-runtime-oci"))
        if host.run("test -x %s", path).rc != 0:
            pytest.fail(f"no {path} on {target.name}: setup.sh installs it next to demo-runtime")
        return OciRuntime(name, path)
    path = require(target, name)
    if name == "crun" and host.run("stat -fc %%T %s", "/sys/fs/cgroup").stdout.strip() != "cgroup2fs":
        # crun 1.8 says "cgroups in hybrid mode not supported" under podman and ctr alike, even
        # with podman's --cgroups=disabled; a private cgroup2 mount does not save it either
        # (its devices BPF program first raises RLIMIT_MEMLOCK, EPERM without CAP_SYS_RESOURCE).
        pytest.skip(f"crun 1.8 refuses the cgroup v1/hybrid layout of {target.name}'s /sys/fs/cgroup")
    return OciRuntime(name, path)


def make_tempdir(host, what):
    return host.check_output("mktemp -d %s", TMP_PATTERN.format(what))


class Podman:
    """podman on the target with a store of its own in BASE (runtime.testing.podman)."""

    def __init__(self, host, base):
        self.host = host
        self.base = base
        conf = podman.containers_conf(
            host.check_output("cat /proc/self/limits"), int(host.check_output("cat /proc/sys/kernel/pid_max"))
        )
        host.check_output("printf %%s %s > %s", conf, f"{base}/containers.conf")

    def argv(self, runtime, *args):
        return [*podman.argv(self.base, runtime and runtime.path), *args]

    def __call__(self, *args, runtime=None):
        """podman ARGS (with --runtime RUNTIME): testinfra's CommandResult."""
        return self.host.run(shlex.join(self.argv(runtime, *args)))

    def run(self, runtime, *args):
        """`podman run --network none ARGS`: testinfra's CommandResult."""
        return self("run", "--network", "none", *args, runtime=runtime)

    def check(self, *args, runtime=None):
        out = self(*args, runtime=runtime)
        assert out.rc == 0, f"podman {shlex.join(args)}: {out.stderr}"
        return out.stdout

    def remove_all(self):
        self.host.run(shlex.join(self.argv(None, "rm", "--all", "--force", "--time", "0")))


class Containerd:
    """A containerd of our own: root, state, sockets and config.toml under one directory, its
    CRI plugin off (no CNI, no host networking), started here and ended by its pid."""

    def __init__(self, host, base):
        self.host = host
        self.base = base
        self.address = f"{base}/containerd.sock"
        self.namespace = NAME_PREFIX
        config = "\n".join([
            "version = 2",
            f'root = "{base}/root"',
            f'state = "{base}/state"',
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
            f'[grpc]\naddress = "{self.address}"',
            f'[ttrpc]\naddress = "{self.address}.ttrpc"',
            '[metrics]\naddress = ""',
        ])  # fmt: skip
        host.check_output("printf '%%s\\n' %s > %s", config, f"{base}/config.toml")
        self.pid = None

    def start(self):
        """Start the daemon; returns once its log says it has booted. It listens on its socket
        before it says so, so ctr's first dial finds it accepting: `ctr version` proves it.
        (Dialling before, under load, was "connection refused", whatever ctr's timeout.)"""
        self.pid = self.host.check_output(
            "containerd --config %s >%s 2>&1 </dev/null & echo $!", f"{self.base}/config.toml", self.log
        )
        # The log followed through a fifo until the line, ending the follower after it (tail
        # also ends if containerd does, failing at once); timeout only bounds a hang.
        booted = self.host.run(
            "f=%s; mkfifo $f && { tail -n +1 -F --pid=%s %s >$f & t=$!; }"
            " && timeout 120 grep -m1 -q 'containerd successfully booted' $f; rc=$?; kill $t 2>/dev/null; rm -f $f; exit $rc",
            f"{self.base}/log.fifo", self.pid, self.log,
        )
        out = self.host.run("ctr --address %s version", self.address) if booted.rc == 0 else booted
        assert out.rc == 0, f"containerd did not come up: {out.stderr}\n{self.host.run('cat %s', self.log).stdout}"

    @property
    def log(self):
        return f"{self.base}/containerd.log"

    def log_tail(self):
        """The daemon's last log lines, its shims' warnings among them: for a failure's message."""
        return self.host.run("tail -n 40 %s", self.log).stdout

    def stop(self):
        """End the daemon by its pid and wait for it: the shims of containers it ran are gone by
        then (each test removes its own)."""
        if self.pid:
            # Until it is gone or a zombie (its parent, the shell that started it, is gone too).
            self.host.run("kill %s; while ps -o stat= -p %s | grep -qv Z; do sleep 0.05; done", self.pid, self.pid)
        # The shim puts a container in the cgroup /NAMESPACE/ID; the runtime removes ID only.
        self.host.run(
            "find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name %s -exec rmdir {} +", self.namespace
        )

    def runtime_root(self, runtime):
        return f"{self.base}/state-{runtime.name}"

    def argv(self, *args):
        return ["ctr", "--address", self.address, "--namespace", self.namespace, *args]

    def __call__(self, *args):
        return self.host.run(shlex.join(self.argv(*args)))

    def check(self, *args):
        out = self(*args)
        assert out.rc == 0, f"ctr {shlex.join(args)}: {out.stderr}"
        return out.stdout

    def run(self, runtime, *args):
        """`ctr run --runc-binary RUNTIME --runc-root ROOT ARGS`: the runc shim drives RUNTIME."""
        return self(
            "run", "--runc-binary", runtime.path, "--runc-root", self.runtime_root(runtime), *args
        )


def leftovers(host, ident, runtime_root):
    """What a container named or numbered IDENT left on the host after it was removed: its
    state under the runtime's root, cgroups, mounts, processes. Empty when nothing."""
    found = {
        "runtime state": host.run("find %s -mindepth 1 -name %s", runtime_root, f"*{ident}*").stdout.split(),
        "cgroups": host.run("find /sys/fs/cgroup -type d -name %s", f"*{ident}*").stdout.split(),
        "mounts": host.run("grep -F %s /proc/self/mountinfo", ident).stdout.splitlines(),
        "processes": [p for p in host.run("ps -eo pid=,args=").stdout.splitlines() if ident in p],
    }
    return {kind: items for kind, items in found.items() if items}
