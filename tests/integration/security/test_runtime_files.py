"""The runtime's own files are out of the container's reach (runc's CVE-2019-5736).

The container's init is, until its execve, a clone of the runtime: an image whose
command is `#!/proc/self/exe` (or a symlink to it) would make the container run the
runtime's interpreter, hold it, and once nothing else runs it, open it for writing.
Two defences, each tested with a control:
- the command and its #! chain are resolved without magic links before execve: such
  an image is refused (126); with --privileged the check is off and the container
  can run the runtime's interpreter;
- the container never outlives the runtime: the janitor kills the init through a
  pidfd even when the init cleared its parent-death signal and no cgroup can be
  killed; the control kills the janitor too, and the container then survives.
Against a copy of the runtime's interpreter, never the real one.
"""

import pytest

from ..conftest import edit_image
from ..netns import until, wait_for

pytestmark = [
    pytest.mark.property("pid"),
    pytest.mark.new_process("the attack aims at the runtime's interpreter: a copy's process, never the tests' own"),
]

MAGIC = "resolves through a /proc magic link"


@pytest.fixture(scope="module")
def copied_runtime(host, runtime, workdir):
    """The runtime under a copy of its interpreter: (command line prefix, copy's path)."""
    launcher = host.check_output("command -v %s", runtime.target.runtime.split()[0])
    interpreter = host.check_output("head -n1 %s", launcher).removeprefix("#!").split()[0]
    packages = host.check_output("%s -c %s", interpreter, "import os,runtime;print(os.path.dirname(os.path.dirname(runtime.__file__)))")
    copy = f"{workdir}/python-copy"
    host.check_output("cp %s %s", host.check_output("readlink -f %s", interpreter), copy)
    return f"env PYTHONPATH={packages} {copy} -m runtime", copy


@pytest.fixture(scope="module")
def exe_image(host, variant_image, workdir):
    image = variant_image("exe.img")
    script = f"{workdir}/evil"
    host.check_output("printf '#!/proc/self/exe\\nprint(1)\\n' > %s", script)
    edit_image(host, image, f"write {script} /bin/evil", "sif /bin/evil mode 0100755", "symlink /bin/exe-link /proc/self/exe")
    return image


@pytest.fixture(scope="module")
def netns_prefix(host):
    name = f"dr-test-exe-{host.check_output('cat /proc/sys/kernel/random/uuid')[:8]}"
    host.check_output("ip netns add %s", name)
    yield f"ip netns exec {name} "
    host.run("ip netns del %s", name)


MODES = {"defaults": (), "no-cgroup": ("--disable", "cgroup")}


def digest(host, path):
    return host.check_output("sha256sum %s", path).split()[0]


@pytest.mark.parametrize("command", ["/bin/evil", "/bin/exe-link", "evil"])
@pytest.mark.parametrize("mode", sorted(MODES) + ["ip-netns-exec"])
def test_the_runtimes_interpreter_is_refused_as_a_command(host, copied_runtime, exe_image, netns_prefix, mode, command):
    prefix, copy = copied_runtime
    before = digest(host, copy)
    where = netns_prefix if mode == "ip-netns-exec" else ""
    out = host.run(f"{where}{prefix} {' '.join(MODES.get(mode, ()))} {exe_image} {command}")
    assert out.rc == 126, out
    assert MAGIC in out.stderr.strip().splitlines()[-1], out.stderr
    assert digest(host, copy) == before


def test_control_without_the_check_the_container_runs_the_runtimes_interpreter(host, copied_runtime, exe_image):
    # Without --privileged's check, and without pivot_root, whose detached old root some
    # kernels (not all) refuse to follow /proc/self/exe into: the copy runs in the
    # container's namespaces, as the container's init.
    prefix, copy = copied_runtime
    out = host.run(f"{prefix} --privileged --disable clean-mounts,nodev {exe_image} /proc/self/exe -c %s", "import os; print(os.readlink('/proc/self/exe'))")
    assert out.rc == 0 and out.stdout.strip().endswith(copy), out


def _orphan(host, runtime, workdir, prefix, options):
    """Start `probe orphan` (clears its parent-death signal); (runtime pid, init pid)."""
    out = f"{workdir}/orphan.out"
    line = runtime.line("/usr/local/bin/probe", "orphan", options=options)
    pid = host.check_output(f"{prefix}{line} >{out} 2>&1 </dev/null & echo $!")
    wait_for(
        lambda: "cleared" in host.run(f"cat {out}").stdout,
        "the init to clear its parent-death signal",
        lambda: host.run(f"kill -0 {pid}").rc != 0 and f"the runtime ended: {host.run(f'cat {out}').stdout}",
    )
    # The init is the runtime's child in another PID namespace (the janitor is in ours).
    init = host.check_output(
        f"for c in $(pgrep -P {pid}); do [ $(readlink /proc/$c/ns/pid) != $(readlink /proc/{pid}/ns/pid) ] && echo $c; done; true"
    )
    janitor = host.check_output(
        f"for c in $(pgrep -P {pid}); do [ $(readlink /proc/$c/ns/pid) = $(readlink /proc/{pid}/ns/pid) ] && echo $c; done; true"
    )
    assert init and janitor, (init, janitor)
    return pid, init, janitor


def gone(host, pid):
    """Wait (up to the hang bound) for a process to end; True if it did."""
    return host.run(until(f"! kill -0 {pid} 2>/dev/null") + f"; ! kill -0 {pid} 2>/dev/null").rc == 0


@pytest.mark.parametrize("mode", ["no-cgroup", "ip-netns-exec"])
def test_the_container_never_outlives_the_runtime(host, runtime, workdir, netns_prefix, mode):
    prefix = netns_prefix if mode == "ip-netns-exec" else ""
    pid, init, _ = _orphan(host, runtime, workdir, prefix, MODES.get(mode, ()))
    host.check_output("kill -KILL %s", pid)
    assert gone(host, init), "the container outlived its runtime"


def test_control_without_the_janitor_the_container_survives(host, runtime, workdir):
    pid, init, janitor = _orphan(host, runtime, workdir, "", MODES["no-cgroup"])
    try:
        host.check_output("kill -KILL %s %s", janitor, pid)
        assert gone(host, pid)
        assert host.run("kill -0 %s", init).rc == 0, "nothing kept the container alive: the test cannot fail"
    finally:
        host.run("kill -KILL %s", init)
        gone(host, init)
