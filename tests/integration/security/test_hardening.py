"""The hardening defaults themselves: capability sets, no_new_privs, the seccomp
denylist, cgroup limits and removal, --privileged, and the opt-in namespaces."""

import pytest

from ..netns import wait_for
from .conftest import blocked, breached

PODMAN_CAPS = 0x800405FB  # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
DOCKER_CAPS = 0xA80425FB  # podman's 11 and NET_RAW MKNOD AUDIT_WRITE


def status(runtime, *options):
    out = runtime.run("cat", "/proc/self/status", options=options)
    return dict(line.split(":\t", 1) for line in out.stdout.splitlines() if ":\t" in line)


@pytest.mark.property("caps")
def test_podman_default_capabilities_in_every_set(runtime):
    s = status(runtime)
    for field in ("CapBnd", "CapPrm", "CapEff"):
        assert int(s[field], 16) == PODMAN_CAPS, field
    assert int(s["CapInh"], 16) == 0 and int(s["CapAmb"], 16) == 0


@pytest.mark.property("caps")
def test_cap_add_brings_back_dockers_14(runtime):
    s = status(runtime, "--cap-add", "NET_RAW,MKNOD", "--cap-add", "AUDIT_WRITE")
    for field in ("CapBnd", "CapPrm", "CapEff"):
        assert int(s[field], 16) == DOCKER_CAPS, field


@pytest.mark.property("caps")
def test_cap_add_and_drop(runtime):
    s = status(runtime, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN,cap_chown")
    assert int(s["CapBnd"], 16) == (1 << 12) | (1 << 0)
    s = status(runtime, "--cap-drop", "CHOWN")
    assert int(s["CapBnd"], 16) == PODMAN_CAPS & ~1
    assert runtime.run("true", options=("--cap-add", "WARP_DRIVE")).rc == 64


@pytest.mark.property("no-new-privs")
def test_no_new_privs(runtime):
    assert status(runtime)["NoNewPrivs"].strip() == "1"
    assert status(runtime, "--disable", "no-new-privs")["NoNewPrivs"].strip() == "0"


@pytest.mark.property("seccomp")
def test_seccomp_filter_is_installed(runtime):
    assert status(runtime)["Seccomp"].strip() == "2"
    assert status(runtime, "--seccomp", "unconfined")["Seccomp"].strip() == "0"


# Denied by the filter even to a container holding every capability: these have no
# capability-conditional rule in the profile.
ALWAYS_DENIED = ["kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup", "swapon", "swapoff", "pivot_root", "socket_alg", "socket_vsock"]
# Denied by default; the profile allows them only with the capability they need.
DENIED_BY_DEFAULT = ALWAYS_DENIED + ["mount", "umount2", "unshare", "setns", "reboot", "clock_settime", "bpf", "perf_event_open", "init_module", "finit_module"]


def calls(names):
    return [("syscall", name) for name in names]


# Each set of calls is made in one container (probe.among: one start for all its tests).
@pytest.mark.property("seccomp")
@pytest.mark.parametrize("name", DENIED_BY_DEFAULT)
def test_denied_by_default_with_eperm(probe, name):
    v = probe.among(calls(DENIED_BY_DEFAULT), "syscall", name)
    assert blocked(v) and "EPERM" in v.line, v


@pytest.mark.property("seccomp")
@pytest.mark.parametrize("name", ALWAYS_DENIED)
def test_filter_denies_even_with_every_capability(probe, name):
    v = probe.among(calls(ALWAYS_DENIED), "syscall", name, options=("--cap-add", "ALL"))
    assert blocked(v) and "EPERM" in v.line, v


# Unconfined, with every capability: each call reaches the kernel (and fails on its
# harmless arguments). Sockets of families whose module is not loaded are left out:
# creating one would load a kernel module on the host.
SOCKET_MODULES = {"socket_alg": "af_alg", "socket_vsock": "vsock"}


@pytest.fixture(scope="module")
def reachable(host):
    """The calls of ALWAYS_DENIED that can be made unfiltered without loading a module."""
    loaded = {name for name, module in SOCKET_MODULES.items() if host.run("test -d /sys/module/%s", module).rc == 0}
    return [name for name in ALWAYS_DENIED if name not in SOCKET_MODULES or name in loaded]


@pytest.mark.property("seccomp")
@pytest.mark.parametrize("name", ALWAYS_DENIED)
def test_without_the_filter_the_calls_reach_the_kernel(probe, reachable, name):
    if name not in reachable:
        pytest.skip(f"{SOCKET_MODULES[name]} is not loaded: the control would load a kernel module on the host")
    v = probe.among(calls(reachable), "syscall", name, options=("--cap-add", "ALL", "--seccomp", "unconfined"))
    assert breached(v), v


@pytest.mark.property("seccomp")
def test_custom_profile_in_docker_format(runtime, host, workdir):
    profile = f"{workdir}/profile.json"
    host.check_output(
        "printf %s > %s",
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}',
        profile,
    )
    out = runtime.sh("mkdir /tmp/x", options=("--seccomp", profile))
    assert out.rc != 0 and "Permission denied" in out.stderr
    assert runtime.sh("mkdir /tmp/x").rc == 0


@pytest.mark.property("cgroup")
def test_cgroup_namespace_root(runtime):
    out = runtime.run("cat", "/proc/self/cgroup")
    assert {line.split(":", 2)[2] for line in out.stdout.splitlines()} == {"/"}


@pytest.mark.property("cgroup")
def test_limits_are_set(runtime):
    options = ("--memory", "64m", "--pids-limit", "32", "--cpus", "0.5")
    script = (
        "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max 2>/dev/null ||"
        " cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    )
    out = runtime.sh(script, options=options)
    values = out.stdout.split()
    assert values[:2] == ["67108864", "32"], out
    assert values[2] == "50000", out


@pytest.mark.property("cgroup")
def test_pids_limit_holds(runtime):
    script = "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait; echo done"
    limited = runtime.sh(script, options=("--pids-limit", "5"))
    assert "can't fork" in limited.stderr and "done" not in limited.stdout, limited
    assert runtime.sh(script).stdout.strip() == "done"  # the control: without the limit


@pytest.mark.property("cgroup")
def test_cgroup_removed_when_the_runtime_is_killed(runtime, host):
    line = runtime.line("sleep", "60", options=("--memory", "64m"))
    pid = host.check_output(f"{line} >/dev/null 2>&1 & echo $!")
    # The runtime names its cgroup after its own pid: this test's, whatever else runs.
    find = f"find /sys/fs/cgroup -maxdepth 4 -path '*demo-runtime/{pid}-*' -type d"
    wait_for(lambda: host.check_output(find), "the container's cgroup", lambda: host.run("kill -0 %s", pid).rc != 0 and "the runtime ended")
    host.check_output("kill -KILL %s", pid)
    # The janitor tears down; the no_residue fixture checks the cgroup directories too.
    wait_for(lambda: not host.check_output(find), "the janitor to remove the cgroup")


@pytest.mark.property("privileged")
def test_privileged_turns_it_all_off_with_a_warning(runtime, probe):
    out = runtime.run("cat", "/proc/self/status", options=("--privileged",))
    assert "warning: --privileged" in out.stderr
    s = dict(line.split(":\t", 1) for line in out.stdout.splitlines() if ":\t" in line)
    assert s["Seccomp"].strip() == "0" and s["NoNewPrivs"].strip() == "0"
    assert int(s["CapBnd"], 16) & ~DOCKER_CAPS  # more than even Docker's 14
    assert breached(probe("mount", options=("--privileged",)))
    assert breached(probe("read", "/proc/timer_list", options=("--privileged",)))


@pytest.mark.property("user")
def test_userns_maps_root_to_an_unprivileged_range(runtime):
    out = runtime.run("cat", "/proc/self/uid_map", "/proc/self/gid_map", options=("--userns",))
    assert out.stdout.split() == ["0", "100000", "65536"] * 2, out
    assert runtime.run("id", "-u", options=("--userns",)).stdout.strip() == "0"


@pytest.mark.property("user")
def test_userns_root_has_no_host_privilege(probe):
    # Even with CAP_SYS_ADMIN kept, a container in its own user namespace cannot
    # mount over the image (its mounts belong to the host's user namespace).
    v = probe("mount", options=("--userns", "--cap-add", "SYS_ADMIN"))
    assert blocked(v), v


@pytest.mark.property("time")
def test_time_namespace_offsets_the_monotonic_clock(runtime):
    plain = float(runtime.run("cat", "/proc/uptime").stdout.split()[0])
    shifted = float(runtime.run("cat", "/proc/uptime", options=("--time-offset", "86400")).stdout.split()[0])
    assert shifted - plain > 86000
