"""Images made to attack the runtime: symlinks where it mounts or writes, aimed at the host.

Each image is the test image changed with debugfs (no mount, no root needed for that).
Either the start is refused with one clear line (exit 70), or it runs with every
protection in place inside; in both cases nothing on the host changes and no mount
appears there (the no_residue fixture checks the mounts).
"""

import re

import pytest

from ..containers import OUR_TEST_DIRS
from ..conftest import edit_image
from ..netns import BRIDGE

pytestmark = pytest.mark.property("mount")

UNSAFE_IMAGE = 70


@pytest.fixture(scope="module")
def host_dir(host):
    """A host directory with one file, outside /tmp (which the staging tmpfs covers), and
    how to see whether anything in it changed. One for the module: each test compares it
    with what it was before the first (three host commands fewer a test)."""
    path = host.check_output(f"mktemp -d /var/tmp/{OUR_TEST_DIRS}XXXXXX")
    host.check_output("echo host-secret > %s/marker && mkdir %s/procx %s/sys", path, path, path)

    def state():
        return host.check_output("find %s -printf '%%p %%y %%s %%T@\\n' | sort; findmnt -rn -o TARGET | grep -F %s; true", path, path)

    state.path = path
    state.before = state()
    yield state
    host.run("rm -rf %s", path)


@pytest.fixture
def hostile_image(host, runtime, workdir):
    """hostile_image(name, *debugfs_commands) -> path of a changed copy of the test image."""

    def make(name, *commands):
        path = f"{workdir}/{name}.img"
        host.check_output("cp %s %s", runtime.target.image, path)
        edit_image(host, path, *commands)
        return path

    return make


def relative_to(path):
    """A relative link target that climbs out of any root to the host's `path`."""
    return "../../../../../../../.." + path


def replace_dir(name, target):
    return (f"rmdir /{name}", f"symlink /{name} {target}")


MOUNT_POINT_LINKS = {
    # The case: the link target exists in the image before pivot_root, so
    # procfs would land on the image's /tmp/root/procx and the masks miss it.
    "proc-into-staging": ("mkdir /procx", "mkdir /tmp/root", "mkdir /tmp/root/procx", *replace_dir("proc", "/tmp/root/procx")),
    "proc-absolute": replace_dir("proc", "{host}/procx"),
    "proc-relative": replace_dir("proc", relative_to("{host}/procx")),
    "sys-absolute": replace_dir("sys", "{host}/sys"),
    "dev-relative": replace_dir("dev", relative_to("{host}")),
    "dev-a-file": ("rmdir /dev", "write /etc/hostname /dev"),
}


@pytest.mark.parametrize("rw", [False, True], ids=["overlay", "rw"])
@pytest.mark.parametrize("case", sorted(MOUNT_POINT_LINKS))
def test_a_symlinked_kernel_mount_point_is_refused(runtime, hostile_image, host_dir, case, rw):
    commands = [c.format(host=host_dir.path) for c in MOUNT_POINT_LINKS[case]]
    image = hostile_image(case, *commands)
    out = runtime.run("/usr/local/bin/probe", "open-write", "/proc/sys/kernel/core_pattern", options=("--rw",) if rw else (), image=image)
    assert out.rc == UNSAFE_IMAGE, out
    (line,) = out.stderr.strip().splitlines()
    assert re.match(rf"demo-runtime: unsafe image {re.escape(image)}: its /(proc|sys|dev) is (a symlink, )?not a directory \(refused\)$", line), line
    assert "OK" not in out.stdout
    assert host_dir() == host_dir.before


FILE_LINKS = {
    "hostname-absolute": ("rm /etc/hostname", "symlink /etc/hostname {host}/marker"),
    "hosts-relative": ("rm /etc/hosts", "symlink /etc/hosts " + relative_to("{host}/marker")),
    "resolv-absolute": ("symlink /etc/resolv.conf {host}/marker",),
    "hosts-chain": ("mkdir /real-etc", "symlink /real-etc/hosts " + relative_to("{host}/marker"), "rm /etc/hosts", "symlink /etc/hosts /real-etc/hosts"),
    "dev-pts-and-shm": ("symlink /dev/pts {host}", "symlink /dev/shm " + relative_to("{host}")),
}

# Inside: the names resolve, /proc/sys is read-only, /proc/keys and /proc/sys are
# mount points (masked, read-only), /dev/pts is the container's own devpts.
INSIDE = (
    "cat /etc/hosts; hostname; "
    "/usr/local/bin/probe open-write /proc/sys/kernel/core_pattern; "
    "grep -cE ' /proc/(keys|sys) ' /proc/self/mountinfo; "
    "grep -c ' /dev/pts .* devpts ' /proc/self/mountinfo"
)


def assert_protected(out, host, hosts_file=True):
    assert out.rc == 0, out
    assert ("127.0.0.1\tlocalhost" in out.stdout) is hosts_file, out
    assert "host-secret" not in out.stdout
    lines = out.stdout.strip().splitlines()
    assert lines[-3].startswith("DENIED EROFS"), lines  # /proc/sys is read-only
    kernel_has = host.check_output("ls -d /proc/keys /proc/sys 2>/dev/null | wc -l; true")
    assert lines[-2:] == [kernel_has, "1"], lines


@pytest.mark.parametrize("rw", [False, True], ids=["overlay", "rw"])
@pytest.mark.parametrize("case", sorted(FILE_LINKS))
def test_symlinks_at_files_the_runtime_writes_stay_inside(runtime, host, hostile_image, host_dir, case, rw):
    commands = [c.format(host=host_dir.path) for c in FILE_LINKS[case]]
    image = hostile_image(case, *commands)
    # With --rw a file the image lacks (its link points at nothing) is not made in it.
    dangling = case in ("hosts-relative", "hosts-chain")
    assert_protected(runtime.sh(INSIDE, options=("--rw",) if rw else (), image=image), host, not (rw and dangling))
    assert host_dir() == host_dir.before


def test_symlinked_name_files_with_a_bridge_stay_inside(netns, hostile_image, host_dir):
    image = hostile_image(
        "bridged",
        "rm /etc/hosts",
        f"symlink /etc/hosts {host_dir.path}/marker",
        "symlink /etc/resolv.conf " + relative_to(f"{host_dir.path}/procx/resolv"),
    )
    out = netns.runtime.sh(INSIDE + "; cat /etc/resolv.conf", options=BRIDGE, image=image)
    assert out.rc == 0, out.stderr
    assert re.search(r"^10\.88\.\d+\.\d+\s", out.stdout, re.M) and "host-secret" not in out.stdout
    assert host_dir() == host_dir.before


def test_a_device_node_at_etc_hostname_is_not_read(runtime, hostile_image):
    """The runtime reads /etc/hostname as root before nodev applies: it must not read a
    device (here /dev/zero's 1:5, which would otherwise give an empty name; a disk would
    give its first sector)."""
    image = hostile_image("hostname-device", "rm /etc/hostname", "mknod /etc/hostname c 1 5")
    out = runtime.run("hostname", image=image)
    assert out.rc == 0 and out.stdout.strip() == "hostname-device", out
