import pytest

pytestmark = pytest.mark.property("mount")

CONTAINER_MOUNTS = {
    "/",
    "/proc",
    "/sys",
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    *(f"/dev/{name}" for name in ("null", "zero", "full", "random", "urandom", "tty")),
    "/etc/hosts",  # the runtime's: localhost and the hostname, in every network mode
}
# Masked (/dev/null or an empty read-only tmpfs over them) and read-only paths, as
# Docker sets them: each is a mount point where the kernel has the path at all.
MASKED_AND_READ_ONLY = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
    "/sys/devices/virtual/powercap", "/sys/firmware",
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)  # fmt: skip


def expected_mounts(host):
    """CONTAINER_MOUNTS plus what depends on the host's kernel and cgroup layout."""
    present = host.check_output("for p in " + " ".join(MASKED_AND_READ_ONLY) + "; do test -e $p && echo $p; done; true")
    cgroup = host.check_output("stat -fc %T /sys/fs/cgroup; stat -fc %T /sys/fs/cgroup/unified 2>/dev/null || true")
    v1_pids = host.run("grep -q '^[0-9]*:pids:' /proc/self/cgroup && test \"$(stat -fc %T /sys/fs/cgroup/pids)\" = cgroupfs").rc == 0
    # cgroup v2: cgroup2 read-only at /sys/fs/cgroup. Hybrid: a read-only tmpfs there,
    # the unified hierarchy in it, and the v1 hierarchies a limit needs (by default
    # pids, for the default pids limit).
    layout = {"cgroup2fs": {"/sys/fs/cgroup"}, "tmpfs": {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} | ({"/sys/fs/cgroup/pids"} if v1_pids else set())}
    kinds = cgroup.split()
    cgroup_mounts = layout["cgroup2fs"] if kinds[:1] == ["cgroup2fs"] else layout["tmpfs"] if kinds[1:] == ["cgroup2fs"] else set()
    return CONTAINER_MOUNTS | set(present.split()) | cgroup_mounts


DEV_ENTRIES = {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "mqueue", "fd", "stdin", "stdout", "stderr"}


def mount_points(text):
    return {line.split()[4] for line in text.splitlines()}


def test_only_the_containers_own_mounts_are_visible(container, host):
    assert mount_points(container.check_output("cat /proc/self/mountinfo")) == expected_mounts(host)


def test_without_hardening_only_the_core_mounts(runtime):
    out = runtime.run("cat", "/proc/self/mountinfo", options=("--disable", "masked-paths,cgroup"))
    assert mount_points(out.stdout) == CONTAINER_MOUNTS


def test_root_is_the_image_overlay_not_a_chroot(container):
    root = [line for line in container.check_output("cat /proc/self/mountinfo").splitlines() if line.split()[4] == "/"]
    assert root[0].split(" - ")[1].startswith("overlay")
    # Through a chroot, the process root and the mount namespace's root would differ.
    assert container.check_output("stat -c %i /") == container.check_output("stat -c %i /proc/1/root/")


def test_host_files_unreachable(container, host_marker):
    for path in (host_marker, f"/proc/1/root{host_marker}", f"/../..{host_marker}"):
        assert not container.file(path).exists, path


def test_mount_inside_does_not_reach_host(runtime, host):
    # CAP_SYS_ADMIN (and with it mount in the seccomp profile) is dropped by default.
    script = "mkdir -p /mnt/inside-only && mount -t tmpfs inside-only /mnt/inside-only && echo mounted"
    out = runtime.sh(script, options=("--cap-add", "SYS_ADMIN"))
    assert out.stdout.strip() == "mounted", out.stderr
    assert "inside-only" not in host.check_output("cat /proc/self/mountinfo")


def test_dev_is_minimal(container):
    assert set(container.check_output("ls -A /dev").split()) == DEV_ENTRIES
    assert container.check_output("head -c 4 /dev/zero | od -An -tx1").split() == ["00"] * 4
    assert container.run("echo x > /dev/full").rc != 0
    assert container.run("echo x > /dev/null").rc == 0
    assert container.file("/dev/ptmx").linked_to == "/dev/pts/ptmx"


def test_dev_pts_is_a_private_instance(container):
    line = [row for row in container.check_output("cat /proc/self/mountinfo").splitlines() if row.split()[4] == "/dev/pts"]
    assert "ptmxmode=666" in line[0]
    assert container.check_output("ls /dev/pts") == "ptmx"


def test_sys_is_read_only(container):
    assert container.run("touch /sys/kernel/probe").rc != 0
    line = [row for row in container.check_output("cat /proc/self/mountinfo").splitlines() if row.split()[4] == "/sys"]
    assert line[0].split()[5].startswith("ro")


def test_proc_belongs_to_the_container(runtime):
    assert runtime.run("cat", "/proc/1/comm").stdout == "cat\n"


def test_without_clean_mounts_the_host_root_shows(runtime, host_marker):
    # The control for the test above: skip pivot_root and the host is right there.
    out = runtime.sh(f"test -e {host_marker} && echo host", options=("--disable", "clean-mounts,nodev,masked-paths,cgroup"))
    assert (out.rc, out.stdout.strip()) == (0, "host"), out.stderr
