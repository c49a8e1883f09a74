"""Fixtures for the container tests: the target machine, the runtime on it, and the
check that every test leaves that machine as it found it."""

import dataclasses
import os
import uuid

import pytest

from . import descendants, residue
from runtime.api import IDLE

from .containers import NAME_PREFIX, OUR_TEST_DIRS, STATE_ROOT, TEST_DIRS, Runtime
from .api_callers import api_image  # noqa: F401 - the fixture of the API-in-caller tests
from .netns import ip_netns_ready, netns, settled, wait_for  # noqa: F401 - fixtures for every test with a network of its own
from .targets import select_targets


def pytest_report_header(config):
    return [f"demo-runtime target: {t.name}: {t.reason}" for t in select_targets(config)]


def pytest_collection_modifyitems(config, items):
    """--kernel-only: the tests that say nothing about a kernel are the local stage's."""
    if not config.getoption("kernel_only"):
        return
    for item in items:
        independent = item.get_closest_marker("kernel_independent")
        if independent is not None:
            item.add_marker(pytest.mark.skip(reason=f"not kernel-dependent, run locally: {independent.args[0]}"))


def pytest_generate_tests(metafunc):
    """With several targets (hosts, VMs), every container test runs on each of them."""
    if "target" not in metafunc.fixturenames:
        return
    targets = select_targets(metafunc.config)
    if len(targets) > 1:
        metafunc.parametrize("target", targets, ids=[t.name for t in targets], indirect=True, scope="session")


@pytest.fixture(scope="session")
def target(request, pytestconfig):
    """The target, with a copy of its image of this session's own, in a scratch directory
    named after the run. Sessions at once (pytest -n's workers, other runs on the machine)
    would otherwise share the image's loop device and --rw lock, and the residue check's
    key to what is ours, the image's path: another session's container would count as
    this test's leftover."""
    chosen = getattr(request, "param", None) or select_targets(pytestconfig)[0]
    host = chosen.host
    if host.run("test -f %s", chosen.image).rc != 0:
        yield chosen  # image_found says so to the tests that need it
        return
    scratch = host.check_output(f"mktemp -d /var/tmp/{OUR_TEST_DIRS}image-XXXXXX")
    own = f"{scratch}/{chosen.image.rpartition('/')[2]}"
    host.check_output("cp %s %s", chosen.image, own)
    yield dataclasses.replace(chosen, image=own)
    host.run("rm -rf %s", scratch)


@pytest.fixture(scope="session")
def host(target):
    """The machine the runtime runs on (commands as root)."""
    return target.host


def pytest_configure(config):
    if _DESCENDANTS and config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput"):
        # pytest -n's controller runs no test (each worker records its own): a recorder
        # never read would hold the machine's fork events, up to its 64 MiB buffer
        _DESCENDANTS.socket.close()
    config.addinivalue_line(
        "markers",
        "new_process(reason): the module tests the demo-runtime command itself (messages, "
        "exit statuses, its process): its runtime fixture starts a new process for each "
        "container, never the Python API",
    )


@pytest.fixture(scope="session")
def image_found(target):
    found = target.host.run("test -f %s", target.image)
    if found.rc != 0:
        pytest.fail(f"no image at {target.image} on {target.name}: build it with testcontainer/build.sh")


@pytest.fixture(scope="module")
def runtime(target, image_found, request):
    """demo-runtime on the target; locally through the Python API (a fork of this
    interpreter, the command line's main), unless the module is marked new_process."""
    return Runtime(target, in_process=request.node.get_closest_marker("new_process") is None)


@pytest.fixture(scope="module")
def container(runtime, request):
    """testinfra host on one detached container with default options, for a module of tests
    that only look at it: each command is exec'd into it (a fresh container per command cost
    a start each). Module scope: set up before a test's residue snapshot, and gone before
    other modules count loop devices."""
    name = runtime.start(f"{NAME_PREFIX}-{request.module.__name__.rpartition('.')[2]}", *IDLE)
    # Its idle loop forks its sleep after `run -d` returns: have the sleep there before the
    # first test's residue snapshot, which would count it as that test's process.
    init = runtime.state(name)["pid"]
    wait_for(lambda: runtime.host.run(f"pgrep -P {init} -x sleep").rc == 0, f"{name}'s idle sleep", ended=lambda: runtime.state(name)["status"] != "running" and "it exited")
    yield runtime.entered(name)
    runtime.cli("rm", "-f", name)


@pytest.fixture(scope="session")
def workdir(host):
    """A scratch directory on the target for variant images and listeners."""
    path = host.check_output(f"mktemp -d /tmp/{OUR_TEST_DIRS}XXXXXX")
    yield path
    host.run("rm -rf %s", path)


@pytest.fixture(scope="module")
def variant_image(host, runtime, workdir):
    """Copy the test image under a new name, optionally without some files (debugfs: no
    mount, no root needed). Module scope: a module's fixtures may make their images once."""

    def make(name, remove=()):
        path = f"{workdir}/{name}"
        host.check_output("cp %s %s", runtime.target.image, path)
        edit_image(host, path, *(f"rm {inside}" for inside in remove))
        return path

    return make


def edit_image(host, image, *commands):
    """Run debugfs commands on an image file, all in one debugfs (no mount, no root
    needed; a debugfs start reads the filesystem: ~0.5 s under TCG); any error fails."""
    if not commands:
        return
    script = f"{image}.debugfs"
    host.check_output("printf '%%s\\n' " + " ".join(["%s"] * len(commands)) + " > %s", *commands, script)
    out = host.run("debugfs -w -f %s %s", script, image)
    host.run("rm -f %s", script)
    errors = [line for line in out.stderr.splitlines() if not line.startswith("debugfs ")]
    assert out.rc == 0 and not errors, f"debugfs on {image}: {out.stderr}"


# Started as the test session is: every process it forks from here on is recorded.
_DESCENDANTS = descendants.start()


def our_paths(target, workdir):
    """What a path of this run's holds: the image (this session's copy: see target), and
    this run's scratch directories, workdir and the others (/var/tmp's: an imported image,
    podman's and containerd's stores), all named after the run."""
    return (target.image, workdir, f"/{OUR_TEST_DIRS}")


def _snapshot(host, target, workdir):
    """What a container run could leave behind on the host, as sets of strings."""
    ours = our_paths(target, workdir)
    ours_pids = _DESCENDANTS.pids() if _DESCENDANTS and target.kind == "local" else None
    # (the OCI command line's tests keep their containers' state in workdir/oci-state)
    states = (STATE_ROOT, f"{workdir}/oci-state")
    if target.kind == "local":
        # A process this run forked is ours whatever its command line: the Python API's
        # runtimes are forks of pytest, with its command line.
        living = (_DESCENDANTS.living() if _DESCENDANTS else None) or set()
        raw = residue.snapshot(states, ours, living - {os.getpid()})
    else:
        raw = residue.remote(host, states, ours)
    sections = {name: {e.strip() for e in entries if e.strip()} for name, entries in raw.items()}
    live = sections.get("pid", set())
    # The machine may be shared with other test runs: look only at what a runtime of
    # ours could leave (its staging lives under /tmp; it mounts nothing on the host).
    mine = ("/tmp/", "/var/tmp/", "/run/demo-runtime", "/mnt/", *ours)
    return {
        "attached loop devices": {b for b in sections.get("loop", ()) if any(o in b for o in ours)},
        "host mounts": {
            m for m in sections.get("mount", ()) if (m.startswith(mine) or m in ("/tmp", "/mnt")) and not _in_another_runs_directory(m)
        },
        # Names a runtime's temporary directory would have (ours, the seed's). The runtime
        # stages on a tmpfs of its own and never calls tempfile on the host, so tempfile's
        # "tmp*" names here are other processes' on a shared machine (pip, other suites).
        "temporary directories": {
            e
            for e in sections.get("tmp", ())
            if e.startswith(("demo-runtime", "containerimage")) and not e.startswith((*TEST_DIRS, _BENCH_DIRS))
        },
        "processes": sections.get("proc", set()),
        # A cgroup is named after its runtime's pid: one whose runtime is gone is left over
        # (a running one belongs to a live container, ours or another run's), if that
        # runtime was this run's (without the process events: any run's).
        "container cgroups": {
            c
            for c in sections.get("cgroup", ())
            if _runtime_pid(c) not in live and (ours_pids is None or not _runtime_pid(c).isdigit() or int(_runtime_pid(c)) in ours_pids)
        },
        "container states": {e for e in sections.get("state", ()) if e.startswith((NAME_PREFIX, f".new-{NAME_PREFIX}"))},
    }


# bench/'s scratch directories (podman's store): a benchmark may run beside the suite on a
# shared machine; the suite never runs one.
_BENCH_DIRS = "demo-runtime-bench-"


def _in_another_runs_directory(path):
    """Under another test run's scratch directory (its client's rootfs, its own mounts),
    or a benchmark's."""
    return any(
        (part.startswith(TEST_DIRS) and not part.startswith(OUR_TEST_DIRS)) or part.startswith(_BENCH_DIRS) for part in path.split("/")
    )


def _runtime_pid(cgroup):
    """The pid a container cgroup's name starts with (demo-runtime/<pid>-<n>)."""
    return cgroup.rpartition("/")[2].split("-")[0]


# The last clean snapshot of each target, which is the next test's "before" as long as
# no other fixture is set up or torn down in between (a module's container, a fixture
# of the next test set up ahead of no_residue): then nothing of ours ran since. Saves
# one snapshot a test.
_CLEAN: dict = {}


def pytest_fixture_setup(fixturedef, request):
    if fixturedef.argname != "no_residue":
        _CLEAN.clear()


def pytest_fixture_post_finalizer(fixturedef, request):
    if fixturedef.argname != "no_residue":
        _CLEAN.clear()


@pytest.fixture(autouse=True)
def no_residue(request, host, target, workdir):
    """After each test: no loop device, host mount, temporary directory or process it left."""
    before = _CLEAN.pop(target.name, None) or _snapshot(host, target, workdir)
    yield
    # (a loop device's autoclear and a process's reaping can trail the exit)
    after = settled(lambda: _snapshot(host, target, workdir), lambda now: all(now[kind] <= before[kind] for kind in now))
    left = {kind: sorted(after[kind] - before[kind]) for kind in after if after[kind] - before[kind]}
    if not left:
        _CLEAN[target.name] = after
    assert not left, f"left behind on {target.name}: {left}"


@pytest.fixture
def names(runtime):
    """names() -> a new container name of this session; each is rm -f'ed after the test."""
    made = []

    def new():
        made.append(f"{NAME_PREFIX}-{len(made)}-{uuid.uuid4().hex[:4]}")
        return made[-1]

    yield new
    for name in made:
        out = runtime.cli("rm", "-f", name)
        assert out.rc in (0, 71), out.stderr  # removed, or never made (or removed by the test)


@pytest.fixture
def host_marker(host):
    """A file only the host has, outside /tmp (which the runtime's staging tmpfs covers)."""
    path = host.check_output(f"mktemp /var/tmp/{OUR_TEST_DIRS}XXXXXX")
    yield path
    host.run("rm -f %s", path)


def serve_on_host(host, ready_file, setup):
    """Run a Python socket server on the target host until the returned stop() is called.

    `setup` binds and listens a socket `s` and writes what the test needs to ready_file."""
    script = f"import socket;{setup};[c.close() for c in iter(lambda: s.accept()[0], None)]"
    pid = host.check_output("python3 -c %s >/dev/null 2>&1 & echo $!", script)
    wait_for(
        lambda: host.run("test -s %s", ready_file).rc == 0,
        "the host's server",
        lambda: host.run("kill -0 %s", pid).rc != 0 and f"the server {pid} ended",
    )
    return lambda: host.run("kill %s; rm -f %s", pid, ready_file)


@pytest.fixture
def listener(host, workdir):
    """A TCP service on the target host's 127.0.0.1: yields its port."""
    port_file = f"{workdir}/port"
    stop = serve_on_host(
        host,
        port_file,
        "s=socket.socket();s.bind(('127.0.0.1',0));s.listen(8);"
        f"open({port_file!r},'w').write(str(s.getsockname()[1]))",
    )
    yield int(host.check_output("cat %s", port_file))
    stop()


@pytest.fixture
def host_process(host):
    """A process on the target host: its pid."""
    pid = host.check_output("sleep 300 >/dev/null 2>&1 & echo $!")
    yield pid
    host.run("kill %s", pid)


@pytest.fixture
def host_shm(host):
    """A SysV shared-memory segment on the target host: its id."""
    shm_id = host.check_output("ipcmk -M 4096").split()[-1]
    yield shm_id
    host.run("ipcrm -m %s", shm_id)
