"""Paths inside a container's root, resolved by the real syscall layer on a hostile tree
(no root needed: openat2, the walk that stands in for it, and the exec check)."""

import errno
import fcntl
import os
import stat

import pytest

from runtime import linux
from runtime.linux import Linux, MagicLinkExec, UnsafeImagePath


@pytest.fixture
def hostile(tmp_path):
    """An image root whose links point out of it, and a host directory they aim at."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc" / "marker").write_text("host\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "marker").write_text("image\n")
    (root / "real").mkdir()
    (root / "real" / "file").write_text("inside\n")
    os.symlink(str(host), root / "absolute")  # absolute: the host's path
    os.symlink("../../../../../../" + str(host).lstrip("/"), root / "relative")  # climbs
    os.symlink("/real", root / "inside")
    os.symlink("loop", root / "loop")
    os.symlink("/nowhere/at/all", root / "dangling")
    os.mkfifo(root / "fifo")
    return root, host


def same(fd, path):
    a, b = os.fstat(fd), os.stat(path)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def resolvers():
    """openat2, and the walk for kernels without it, held to the same answers."""
    real = Linux()
    walked = Linux()
    walked._no_openat2 = True
    return [real, walked]


@pytest.mark.parametrize("sys", resolvers(), ids=["openat2", "walk"])
def test_links_resolve_inside_the_root(hostile, sys):
    root, host = hostile
    for path, expected in [
        ("/etc/marker", root / "etc" / "marker"),
        ("/inside/file", root / "real" / "file"),
        ("/../../etc/marker", root / "etc" / "marker"),  # .. stops at the root
    ]:
        fd = sys.open_in_root(str(root), path)
        try:
            assert same(fd, expected), path
        finally:
            os.close(fd)
    for path in ("/absolute/etc/marker", "/relative/etc/marker"):
        # The host's path read as a path inside the root: not there.
        with pytest.raises(FileNotFoundError):
            sys.open_in_root(str(root), path)
    with pytest.raises(OSError) as raised:
        sys.open_in_root(str(root), "/loop")
    assert raised.value.errno == errno.ELOOP
    with pytest.raises(OSError) as raised:
        sys.open_in_root(str(root), "/inside", symlinks=False)
    assert raised.value.errno == errno.ELOOP


@pytest.mark.parametrize("sys", resolvers(), ids=["openat2", "walk"])
def test_make_in_root_creates_inside_and_refuses_symlinked_mount_points(hostile, sys):
    root, host = hostile
    os.close(sys.make_in_root(str(root), "/inside/new/deeper", directory=False))
    assert (root / "real" / "new" / "deeper").is_file()
    for path in ("/absolute/etc/new", "/relative/etc/new"):
        # A link to nothing in the root: what it names is made, inside the root.
        os.close(sys.make_in_root(str(root), path, directory=False))
    assert (root / str(host).lstrip("/") / "etc" / "new").is_file()
    assert sorted(os.listdir(host / "etc")) == ["marker"]
    os.close(sys.make_in_root(str(root), "/proc", real=True))
    assert (root / "proc").is_dir()
    for path in ("/inside", "/dangling", "/etc/marker"):
        with pytest.raises(UnsafeImagePath):
            sys.make_in_root(str(root), path, real=True)
    os.close(sys.make_in_root(str(root), "/dangling/x"))
    assert (root / "nowhere" / "at" / "all" / "x").is_dir()


@pytest.mark.parametrize("sys", resolvers(), ids=["openat2", "walk"])
def test_make_in_root_from_the_deepest_part_there(hostile, sys):
    """The walk starts where the path stops resolving; what is there is opened, not made,
    and an error on the way (a loop, a file as a directory) is the walk's own."""
    root, _ = hostile
    fd = sys.make_in_root(str(root), "/inside/file", directory=False)
    try:
        assert same(fd, root / "real" / "file")
    finally:
        os.close(fd)
    os.close(sys.make_in_root(str(root), "/inside/one/two/three"))
    assert (root / "real" / "one" / "two" / "three").is_dir()
    fd = sys.make_in_root(str(root), "/")
    try:
        assert same(fd, root)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as raised:
        sys.make_in_root(str(root), "/loop/x")
    assert raised.value.errno == errno.ELOOP and not isinstance(raised.value, UnsafeImagePath)
    with pytest.raises(NotADirectoryError):
        sys.make_in_root(str(root), "/etc/marker/x")
    with pytest.raises(UnsafeImagePath):
        sys.make_in_root(str(root), "/inside/new-mount-point", real=True)  # a symlink on the way
    assert not (root / "real" / "new-mount-point").exists()


def test_read_in_root_reads_only_regular_files(hostile):
    root, _ = hostile
    sys = Linux()
    assert sys.read_in_root(str(root), "/absolute/etc/marker") is None
    assert sys.read_in_root(str(root), "/etc/marker") == "image\n"
    assert sys.read_in_root(str(root), "/fifo") is None  # would block, or read a device
    assert sys.kind_in_root(str(root), "/inside") == "dir"
    assert sys.kind_in_root(str(root), "/etc/marker") == "file"
    assert sys.kind_in_root(str(root), "/dangling") is None


def test_exec_check_refuses_the_runtimes_own_interpreter(tmp_path):
    """`#!/proc/self/exe`, a symlink to it, or a chain of scripts ending there. Here the
    root is the host's, and so is /proc: the check needs no container."""
    sys = Linux()
    script = tmp_path / "sh"
    script.write_text("#!/proc/self/exe\nprint('inside the runtime interpreter')\n")
    chained = tmp_path / "chained"
    chained.write_text(f"#!{script} -x\n")
    os.symlink("/proc/self/exe", tmp_path / "link")
    for path in (script, chained, tmp_path / "link", "/proc/self/exe"):
        with pytest.raises(MagicLinkExec):
            sys.exec_check(str(path))
    fine = tmp_path / "fine"
    fine.write_text("#!/bin/sh\necho\n")
    fine.chmod(fine.stat().st_mode | stat.S_IXUSR)
    sys.exec_check(str(fine))
    sys.exec_check("/bin/sh")
    with pytest.raises(FileNotFoundError):
        sys.exec_check(str(tmp_path / "missing"))


def test_procfs_links_count_as_magic_in_the_walk():
    for path, on_proc in (("/proc/self", True), ("/", False)):
        fd = os.open(path, os.O_PATH)
        try:
            assert linux._on_procfs(linux.Linux()._libc, fd) is on_proc
        finally:
            os.close(fd)


@pytest.mark.parametrize("sys", resolvers(), ids=["openat2", "walk"])
def test_a_held_root_resolves_from_its_descriptor(hostile, sys, tmp_path):
    """hold_root: the same answers as the path, from the descriptor taken when it was
    held (the control: the path itself, once another directory is there, gives that
    one's), which an exec does not pass on."""
    root, _ = hostile
    held = sys.hold_root(str(root))
    try:
        assert held == str(root) and fcntl.fcntl(held.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        os.rename(root, tmp_path / "moved")
        os.mkdir(root)  # another directory at the held root's path
        (root / "etc").mkdir()
        (root / "etc" / "marker").write_text("another\n")
        assert sys.read_in_root(held, "/inside/file") == "inside\n"
        assert sys.read_in_root(held, "/etc/marker") == "image\n"
        assert sys.read_in_root(str(root), "/etc/marker") == "another\n"  # the control
        assert sys.kind_in_root(held, "/inside") == "dir"
        os.close(sys.make_in_root(held, "/inside/made", directory=False))
        assert (tmp_path / "moved" / "real" / "made").is_file() and not (root / "real").exists()
        with pytest.raises(UnsafeImagePath):
            sys.make_in_root(held, "/dangling", real=True)
    finally:
        os.close(held.fd)
