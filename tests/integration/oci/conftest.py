"""The OCI command line's conformance set: bundles, and the runtimes it runs them with.

A bundle is a directory with config.json (runtime.oci.spec's default, changed per
test) and the rootfs, a copy of the test image's tree (debugfs rdump, once a session).
Containers get IDs with this session's prefix and their state under WORKDIR/oci-state.
`create` leaves the init to the caller's subreaper, as conmon and containerd's shim
are: Client.create runs it under one (SUBREAPER below), which reports the init's exit.
"""

import json
import shlex
import uuid

import pytest

from runtime.oci.spec import default_config

from ..containers import NAME_PREFIX
from ..netns import HANG

RUNC, CRUN = "/usr/sbin/runc", "/usr/bin/crun"

# A tiny conmon: PR_SET_CHILD_SUBREAPER, run `create` (argv[2:]) with the container's
# stdio on files in DIR (argv[1]: out, err), give its status and stderr as its own and
# end the foreground part; in the background, wait for the init (DIR/pid) and write
# its exit code to the FIFO DIR/exit (the test reads it: an event, not a clock).
SUBREAPER = r"""
import ctypes, os, subprocess, sys
where = sys.argv[1]
read, write = os.pipe()
if os.fork():
    os.close(write)
    status = os.read(read, 16)
    sys.stderr.write(open(f"{where}/err").read())
    sys.exit(int(status or b"125"))
os.close(read)
os.setsid()
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # not inherited by fork: here
with open(f"{where}/out", "w") as out, open(f"{where}/err", "w") as err:
    rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out, stderr=err)
os.write(write, str(rc).encode()); os.close(write)
for fd in (0, 1, 2):
    os.dup2(os.open(os.devnull, os.O_RDWR), fd)
if rc != 0:
    sys.exit(0)
pid = int(open(f"{where}/pid").read())
while True:
    done, status = os.waitpid(-1, 0)
    if done == pid:
        break
with open(f"{where}/exit", "w") as fifo:
    fifo.write(str(os.waitstatus_to_exitcode(status)))
"""


def runtime_command(target):
    """demo-runtime-oci beside the demo-runtime the integration tests use (bin/, installed
    into the same venv, linked by setup.sh and the lab role)."""
    if target.runtime.endswith("/demo-runtime"):
        return target.runtime + "-oci"
    return target.runtime.replace("-m runtime", "-m runtime.oci")


class Client:
    """One OCI runtime on the target (demo-runtime-oci, or runc/crun to compare with)."""

    def __init__(self, host, command, root):
        self.host = host
        self.command = command
        self.root = root
        self.name = command.rsplit("/", 1)[-1]
        self.unread = set()  # exit FIFOs whose subreaper still waits for a reader

    def line(self, *argv):
        return shlex.join([*shlex.split(self.command), "--root", self.root, *argv])

    def __call__(self, *argv):
        """A command of the runtime: testinfra's CommandResult."""
        return self.host.run(self.line(*argv))

    def create(self, bundle, container_id, *options):
        """create under a subreaper; returns (CommandResult, exit()) where exit() waits for
        the init's end and gives its exit code (as a shell gives it: 128+N for signal N)."""
        pid_file, fifo = f"{bundle}/pid", f"{bundle}/exit"
        argv = shlex.split(self.line("create", "--bundle", bundle, "--pid-file", pid_file, *options, container_id))
        # (-I -S: the subreaper needs no site packages, and an interpreter's start is
        # ~0.3 s under TCG, of which site's ~0.1 s)
        subreaper = shlex.join(["python3", "-I", "-S", "-c", SUBREAPER, bundle, *argv])
        out = self.host.run(f"rm -f {shlex.quote(pid_file)} {shlex.quote(fifo)} && mkfifo {shlex.quote(fifo)} && {subreaper}")

        def exit_code():
            self.unread.discard(fifo)
            code = int(self.host.check_output(f"timeout {HANG} cat {fifo}"))  # a bound, should it never end
            return 128 - code if code < 0 else code

        if out.rc == 0:
            self.unread.add(fifo)

        return out, exit_code

    def detached(self, bundle, *argv):
        """A command whose process outlives it (exec --detach): its stdio on files in the
        bundle, as conmon gives it, so it holds no pipe of ours; (rc, stderr)."""
        out = self.host.run(f"{self.line(*argv)} </dev/null >{bundle}/exec.out 2>{bundle}/exec.err")
        return out.rc, self.host.check_output("cat %s/exec.err", bundle)

    def state(self, container_id):
        out = self("state", container_id)
        assert out.rc == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture(scope="session")
def rootfs(host, target, workdir):
    """The test image's tree as a directory (debugfs: no mount, no loop device)."""
    path = f"{workdir}/oci-rootfs"
    host.check_output("mkdir -p %s && debugfs -R %s %s >/dev/null 2>&1", path, f"rdump / {path}", target.image)
    return path


@pytest.fixture
def bundle(host, rootfs, workdir):
    """bundle(args, change=None) -> a new bundle directory: the spec's default config with
    process.args, no terminal, the root writable, then change(config) applied."""
    made = []

    def make(args=("sleep", "1000"), change=None, **fields):
        path = f"{workdir}/oci-bundle-{uuid.uuid4().hex[:8]}"
        config = default_config(args, terminal=False, readonly=False)
        config["root"]["path"] = rootfs
        config["ociVersion"] = "1.0.2"  # crun 1.8 refuses a later one ("unknown version specified")
        config.update(fields)
        if change:
            change(config)
        host.check_output("mkdir %s && printf %%s %s > %s/config.json", path, json.dumps(config), path)
        made.append(path)
        return path

    yield make
    for path in made:
        host.run("rm -rf %s", path)


@pytest.fixture
def ids():
    """ids() -> a new container ID of this session."""
    count = iter(range(1000))
    return lambda: f"{NAME_PREFIX}-oci-{next(count)}-{uuid.uuid4().hex[:4]}"


@pytest.fixture
def oci(host, target, workdir):
    """demo-runtime-oci; every container of the test is deleted --force after it."""
    client = Client(host, runtime_command(target), f"{workdir}/oci-state")
    yield client
    _delete_all(client)


@pytest.fixture(params=["demo-runtime-oci", "runc", "crun"])
def any_runtime(request, host, target, workdir):
    """demo-runtime-oci, runc and crun in turn, for behaviour to compare (README: differences)."""
    command = {"demo-runtime-oci": runtime_command(target), "runc": RUNC, "crun": CRUN}[request.param]
    if host.run("test -x %s", command.split()[0]).rc != 0:
        pytest.fail(f"{command} is not installed on {target.name}: setup.sh installs it")
    if request.param == "crun" and host.run("stat -fc %%T %s", "/sys/fs/cgroup").stdout.strip() != "cgroup2fs":
        pytest.skip(f"crun 1.8 refuses the cgroup v1/hybrid layout of {target.name} ('cgroups in hybrid mode not supported')")
    root = f"{workdir}/oci-state" if request.param == "demo-runtime-oci" else f"{workdir}/oci-{request.param}-state"
    client = Client(host, command, root)
    yield client
    _delete_all(client)


def _delete_all(client):
    # The containers are the directories under the root (runc's, crun's and
    # demo-runtime-oci's layout alike) named by this session's IDs: read there, not with
    # `list` (a new interpreter of demo-runtime-oci's for every test).
    left = client.host.run("ls -A %s 2>/dev/null; true", client.root).stdout.split()
    for container_id in left:
        if container_id.startswith(NAME_PREFIX):
            client("delete", "--force", container_id)
    for fifo in client.unread:  # a test that failed early: let its subreaper finish
        client.host.run("timeout 10 cat %s", fifo)
