"""exec joins a running container: the same namespaces, cgroup and hardening as its init."""

import pexpect
import pytest

from runtime.plugins import caps

from .containers import NAME_PREFIX
from .netns import HANG, until, wait_for

pytestmark = pytest.mark.property("exec")

NAMESPACES = ("mnt", "uts", "ipc", "net", "pid", "cgroup", "user", "time")


def exec_sh(runtime, name, script, *options):
    return runtime.cli("exec", *options, name, "/bin/sh", "-c", script)


@pytest.fixture(scope="module")
def running(runtime):
    """One container for the tests that exec into it and leave it as it was (a start
    and an rm each cost ~1 s under TCG); a test that ends it starts its own."""
    name = runtime.start(f"{NAME_PREFIX}-exec-running", options=("--hostname", "joined"))
    yield name
    runtime.cli("rm", "-f", name)


def test_exec_sees_the_inits_pid_1_hostname_mounts_network_and_ipc(runtime, running, host_shm):
    script = (
        "for ns in " + " ".join(NAMESPACES) + "; do "
        '[ "$(readlink /proc/1/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] || echo differs: $ns; done;'
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname;"
        "cmp -s /proc/1/mountinfo /proc/self/mountinfo && echo same-mounts;"
        "ls /sys/class/net; cat /proc/sysvipc/shm"
    )
    out = exec_sh(runtime, running, script)
    assert out.rc == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:4] == ["sleep 1000 ", "joined", "same-mounts", "lo"], lines
    assert host_shm not in [line.split()[1] for line in lines[5:]]


def test_exec_is_not_in_the_hosts_namespaces(runtime, host, running):
    # (one exec for all: busybox's readlink takes one path)
    each = "for ns in " + " ".join(NAMESPACES[:6]) + "; do readlink /proc/$$/ns/$ns; done"
    inside = exec_sh(runtime, running, each).stdout.split()
    outside = host.check_output(each).split()
    assert len(inside) == len(outside) == 6, (inside, outside)
    for ns, mine, hosts in zip(NAMESPACES, inside, outside):
        assert mine != hosts, ns


def test_exec_joins_the_inits_cgroup(runtime, host, running, workdir):
    pid = str(runtime.state(running)["pid"])
    init = host.check_output("grep ^0:: /proc/%s/cgroup", pid)
    # From the host: the cgroup of the exec'd shell's sleep, found from the exec's pid.
    started = runtime.spawn_cli("exec", running, "/bin/sh", "-c", "sleep 30", out=f"{workdir}/exec.out")
    try:
        shell_cgroup = host.check_output(until(f"c=$(pgrep -P $(pgrep -P {started.pid}) -x sleep)") + "; grep ^0:: /proc/$c/cgroup")
    finally:
        host.run("kill %s", str(started.pid))
        wait_for(lambda: started.status() is not None, "the exec to end")
    assert shell_cgroup == init and "/demo-runtime/" in init


def test_exec_has_the_inits_capabilities_seccomp_and_no_new_privs(runtime, running):
    fields = "grep -E '^(CapEff|CapPrm|CapBnd|CapInh|CapAmb|Seccomp|NoNewPrivs):' /proc/%s/status"
    init = exec_sh(runtime, running, fields % 1).stdout
    mine = exec_sh(runtime, running, fields % "self").stdout
    assert mine == init
    assert "Seccomp:\t2" in mine and "NoNewPrivs:\t1" in mine
    assert f"CapEff:\t{caps.mask(caps.DEFAULT):016x}" in mine  # the default set, nothing more


def test_exec_follows_the_inits_cap_drop(runtime, names):
    name = runtime.start(names(), options=("--cap-drop", "ALL"))
    assert "CapBnd:\t0000000000000000" in exec_sh(runtime, name, "grep CapBnd /proc/self/status").stdout


def test_control_privileged_exec_is_unconfined_like_its_init(runtime, names):
    name = runtime.start(names(), options=("--privileged",))
    out = exec_sh(runtime, name, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status").stdout
    assert "Seccomp:\t0" in out and "NoNewPrivs:\t0" in out


@pytest.mark.parametrize("options, verdict", [((), "DENIED"), (("--seccomp", "unconfined"), "OK")])
def test_seccomp_denies_in_exec_what_it_denies_in_the_init(runtime, names, options, verdict):
    name = runtime.start(names(), options=options)
    out = runtime.cli("exec", name, "/usr/local/bin/probe", "syscall", "keyctl")
    assert out.stdout.split(" ", 1)[0] == verdict, (out.stdout, out.stderr)


def test_exec_environment_is_the_inits_plus_e(runtime, names):
    name = runtime.start(names(), options=("-e", "FROM_RUN=1"))
    out = runtime.cli("exec", "-e", "FROM_EXEC=2", name, "/usr/bin/env")
    env = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert (env["FROM_RUN"], env["FROM_EXEC"]) == ("1", "2")
    assert env["HOSTNAME"] == runtime.cli("exec", name, "/bin/hostname").stdout.strip()
    assert env["PATH"].startswith("/usr/local/sbin")


def test_exec_user_and_workdir_default_to_runs(runtime, names):
    name = runtime.start(names(), options=("--user", "65534", "--workdir", "/srv"))
    assert exec_sh(runtime, name, "id -u; pwd").stdout.split() == ["65534", "/srv"]
    assert exec_sh(runtime, name, "id -u; pwd", "-u", "0", "-w", "/etc").stdout.split() == ["0", "/etc"]


def test_exec_exit_status_is_the_commands(runtime, running):
    assert exec_sh(runtime, running, "exit 7").rc == 7
    assert exec_sh(runtime, running, "kill -TERM $$").rc == 128 + 15


def test_exec_stdin_passes_through(runtime, running):
    out = runtime.cli("exec", running, "/bin/cat", stdin="piped in")
    assert (out.rc, out.stdout) == (0, "piped in")


def test_exec_with_a_terminal(runtime, running):
    argv = runtime.target.interactive(runtime.target.run_argv(["exec", "-t", "-e", "PS1=EXEC> ", running, "/bin/sh"]))
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(33, 99), timeout=HANG, encoding="utf-8")
    try:
        child.expect_exact("EXEC> ")
        child.sendline("tty; stty size; echo D''ONE")
        child.expect_exact("DONE\r\n")
        lines = child.before.replace("\r\n", "\n").splitlines()
        assert lines[-2:] == ["/dev/pts/0", "33 99"], lines
        child.sendline("exit 3")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 3
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_the_container_ending_ends_its_exec(runtime, names, workdir):
    running = runtime.start(names())
    started = runtime.spawn_cli("exec", running, "/bin/sleep", "300", out=f"{workdir}/exec.out")
    # Stopped once its command runs in the container.
    wait_for(
        lambda: exec_sh(runtime, running, "ps -o args | grep -qx '/bin/sleep 300'").rc == 0,
        "the exec's command",
        lambda: started.status() is not None and "the exec ended",
    )
    assert runtime.cli("stop", "-t", "0", running).rc == 0
    wait_for(lambda: started.status() is not None, "the exec to end")
    assert started.status() == 137
