"""The staged tree into an ext4 file: sizing from the content, and mkfs.ext4's refusals
as one clear error. mkfs.ext4 is the double's (FakeLinux.programs), the tree is real."""

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.images import ext4

from .fake_linux import FakeLinux

FULL = (1, b"", b"mke2fs 1.47.0\nmkfs.ext4: Could not allocate block in ext2 filesystem while populating file system\n")


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "bin").mkdir(parents=True)
    (tmp_path / "root" / "bin" / "tool").write_bytes(b"x" * 10000)  # 3 blocks
    (tmp_path / "root" / "bin" / "link").symlink_to("tool")  # a fast symlink: no block
    return tmp_path / "root"


def test_the_estimate_counts_blocks_and_inodes(root):
    content, inodes = ext4.content_estimate(FakeLinux(), str(root))
    entries = 3  # bin, bin/tool, bin/link
    assert inodes == entries + 16
    assert content == (3 + 1) * ext4.BLOCK + inodes * 256  # tool's 3 blocks, bin's 1


def test_the_image_is_sized_from_the_content_and_made_by_mkfs(root, tmp_path):
    fake = FakeLinux()
    image = tmp_path / "x.img"
    size, content, journal = ext4.make(fake, str(root), str(image))
    assert size == ext4.ceil_mib(content * 5 // 4 + ext4.DEFAULT_HEADROOM_MIB * ext4.MiB) * ext4.MiB
    assert image.stat().st_size == size  # sparse, as mkfs.ext4 -d wants it
    (argv, _), = fake.named("run_program")
    assert argv[0] == "mkfs.ext4" and argv[-3:] == ["-d", str(root), str(image)]
    assert journal


@pytest.mark.parametrize(
    "size_arg, said",
    [
        (None, "mkfs.ext4 failed: mkfs.ext4: Could not allocate block in ext2 filesystem while populating file system"),
        ("20M", "--size 20M is too small for this content"),
    ],
)
def test_mkfs_refusing_is_one_line(root, tmp_path, size_arg, said):
    fake = FakeLinux()
    fake.programs["mkfs.ext4"] = FULL
    with pytest.raises(ContainerError) as caught:
        ext4.make(fake, str(root), str(tmp_path / "x.img"), 20 * ext4.MiB if size_arg else None, size_arg=size_arg)
    assert caught.value.code == errors.IMPORT_OUTPUT and str(caught.value).startswith(said)


def test_a_size_below_the_content_is_refused_before_mkfs_runs(root, tmp_path):
    fake = FakeLinux()
    with pytest.raises(ContainerError, match="--size 1K is too small: the content alone needs 1 MiB"):
        ext4.make(fake, str(root), str(tmp_path / "x.img"), 1024, size_arg="1K")
    assert fake.named("run_program") == []


def test_without_mkfs_it_says_what_to_install(root, tmp_path):
    fake = FakeLinux()
    fake.missing_programs.add("mkfs.ext4")
    with pytest.raises(ContainerError, match=r"mkfs.ext4 not found \(apt-get install e2fsprogs\)"):
        ext4.make(fake, str(root), str(tmp_path / "x.img"))
