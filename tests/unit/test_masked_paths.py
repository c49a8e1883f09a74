"""masked-paths in the child, against the double: what is masked how, what is skipped,
and that a mask the kernel refuses stops the start (fail closed)."""

import errno
from types import SimpleNamespace

import pytest

from runtime import linux
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.masked_paths import MASKED, READ_ONLY, MaskedPaths

from .fake_linux import FakeLinux


def run(fake, **values):
    options = SimpleNamespace(**{"mask": [], "unmask": [], **values})
    c = Context("/img", ["/bin/true"], options, fake)
    c.rootfs = "/r"
    MaskedPaths().setup_child(c)
    return fake


def kernel(**kinds):
    fake = FakeLinux()
    fake.kinds = {path: kind for path, kind in kinds.items()}
    return fake


def test_a_directory_gets_a_read_only_tmpfs_a_file_dev_null_a_missing_path_nothing():
    fake = run(kernel(**{"/proc/acpi": "dir", "/proc/kcore": "file"}))
    masks = {m[0]: m for m in fake.named("mount_in_root") if m[0] in MASKED}
    assert masks["/proc/acpi"][1:4] == ("tmpfs", "tmpfs", masks["/proc/acpi"][3])
    assert masks["/proc/acpi"][3] & linux.MS_RDONLY
    assert masks["/proc/kcore"][1:4] == ("/dev/null", None, linux.MS_BIND)
    assert set(masks) == {"/proc/acpi", "/proc/kcore"}  # the kernel has none of the others


def test_read_only_paths_are_bound_then_remounted_read_only():
    fake = run(kernel(**{"/proc/sys": "dir"}))
    binds = [m for m in fake.named("mount_in_root") if m[0] == "/proc/sys"]
    assert [m[3] & (linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY) for m in binds] == [linux.MS_BIND]
    assert fake.named("restrict_mount") == [("/proc/sys", linux.MS_RDONLY)]  # keeping the bind's flags
    assert {m[0] for m in fake.named("mount_in_root")} <= set(MASKED) | set(READ_ONLY)


def test_unmask_all_mounts_nothing():
    fake = run(kernel(**{p: "file" for p in MASKED + READ_ONLY}), unmask=["ALL"])
    assert fake.named("mount_in_root") == []


def test_a_mask_the_kernel_refuses_stops_the_start():
    fake = kernel(**{"/proc/kcore": "file"})
    fake.fail["mount_in_root"] = OSError(errno.EPERM, "Operation not permitted")
    with pytest.raises(ContainerError, match="cannot mask /proc/kcore: Operation not permitted"):
        run(fake)


def test_read_only_paths_of_the_containers_own_join_dockers():
    fake = run(kernel(**{"/proc/sys": "dir", "/etc": "dir", "/missing": None}), read_only_path=["/etc,/missing", "/proc/sys"])
    assert [c[1] for c in fake.named("restrict_mount")] == [linux.MS_RDONLY, linux.MS_RDONLY]
    assert [c[0] for c in fake.named("restrict_mount")] == ["/proc/sys", "/etc"]  # a missing one is skipped
    fake = run(kernel(**{"/etc": "dir"}), read_only_path=["/etc"], unmask=["ALL"])
    assert fake.named("restrict_mount") == [("/etc", linux.MS_RDONLY)]  # --unmask ALL lifts Docker's only
