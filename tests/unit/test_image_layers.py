"""Applying layers to a staging tree: order, whiteouts, links, and untrusted paths.
The tree's calls go through the double, which makes them for real (and can fail one)."""

import errno
import io
import os
import stat

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.images import layers

from .fake_linux import FakeLinux
from .image_archives import entry, layer


def make_tree(tmp_path, linux):
    root = tmp_path / "root"
    root.mkdir()
    return layers.Tree(linux, str(root))


@pytest.fixture
def tree(tmp_path):
    tree = make_tree(tmp_path, FakeLinux(host=tmp_path))
    yield tree
    tree.close()


def apply(tree, *layer_tars):
    for data in layer_tars:
        tree.apply(layers.open_stream(io.BytesIO(data)), "test")


def names(tree):
    found = set()
    for directory, dirs, files in os.walk(tree.root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(directory, name), tree.root))
    return found


def refused(tree, data):
    with pytest.raises(ContainerError) as caught:
        apply(tree, data)
    return caught.value


def test_later_layers_replace_files_and_keep_directories(tree):
    apply(
        tree,
        layer(entry("etc", "dir"), entry("etc/a", data=b"1"), entry("etc/b", data=b"old")),
        layer(entry("etc/b", data=b"new"), entry("etc/c", "symlink", link="b")),
    )
    assert names(tree) == {"etc", "etc/a", "etc/b", "etc/c"}
    assert open(f"{tree.root}/etc/b", "rb").read() == b"new"
    assert os.readlink(f"{tree.root}/etc/c") == "b"


def test_whiteout_removes_a_lower_file_and_a_lower_directory(tree):
    apply(
        tree,
        layer(entry("a", data=b"x"), entry("d", "dir"), entry("d/inner", data=b"y"), entry("keep", data=b"k")),
        layer(entry(".wh.a"), entry(".wh.d")),
    )
    assert names(tree) == {"keep"}


def test_whiteout_spares_what_its_own_layer_made(tree):
    apply(tree, layer(entry("a", data=b"lower")), layer(entry("a", data=b"upper"), entry(".wh.a")))
    assert open(f"{tree.root}/a", "rb").read() == b"upper"


def test_opaque_directory_hides_only_lower_children(tree):
    apply(
        tree,
        layer(entry("d", "dir"), entry("d/old1", data=b""), entry("d/old2", "dir"), entry("other", data=b"")),
        layer(entry("d/new", data=b"n"), entry("d/.wh..wh..opq")),
    )
    assert names(tree) == {"d", "d/new", "other"}


def test_hardlinks_share_the_inode_and_parents_are_made(tree):
    apply(tree, layer(entry("usr/bin/tool", data=b"t"), entry("usr/bin/alias", "hardlink", link="usr/bin/tool")))
    one, two = os.stat(f"{tree.root}/usr/bin/tool"), os.stat(f"{tree.root}/usr/bin/alias")
    assert (one.st_ino, one.st_nlink) == (two.st_ino, 2)


def test_modes_setuid_and_a_read_only_directory_with_children(tree):
    apply(
        tree,
        layer(entry("ro", "dir", mode=0o555), entry("ro/su", data=b"s", mode=0o4755), entry("sticky", "dir", mode=0o1777)),
    )
    assert stat.S_IMODE(os.lstat(f"{tree.root}/ro").st_mode) == 0o555
    assert stat.S_IMODE(os.lstat(f"{tree.root}/ro/su").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(f"{tree.root}/sticky").st_mode) == 0o1777


def test_device_nodes_are_skipped_and_counted(tree):
    apply(tree, layer(entry("dev", "dir"), entry("dev/null", "chr"), entry("fifo", "fifo")))
    assert names(tree) == {"dev", "fifo"}
    assert stat.S_ISFIFO(os.lstat(f"{tree.root}/fifo").st_mode)
    assert tree.devices_skipped == 1


def test_a_symlink_replaced_by_a_directory_is_not_followed(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    apply(tree, layer(entry("d", "symlink", link=str(outside))), layer(entry("d", "dir"), entry("d/f", data=b"in")))
    assert os.path.isdir(f"{tree.root}/d") and not os.path.islink(f"{tree.root}/d")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    [
        [entry("../escaped", data=b"x")],
        [entry("a/../../escaped", data=b"x")],
        [entry("/escaped", data=b"x")],
        [entry("link", "symlink", link="../outside"), entry("link/escaped", data=b"x")],
        [entry("link", "symlink", link="/"), entry("link/tmp/escaped", data=b"x")],
        [entry("ok", data=b""), entry("hard", "hardlink", link="../outside/victim")],
        [entry("../.wh.outside")],
        [entry(".wh..")],
        [entry("link", "symlink", link="../outside"), entry("link/.wh.victim")],
        [entry("link", "symlink", link="../outside"), entry("link/.wh..wh..opq")],
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-then-file", "symlink-to-root", "hardlink-out",
         "whiteout-dotdot", "whiteout-of-parent", "whiteout-through-symlink", "opaque-through-symlink"],
)  # fmt: skip
def test_paths_that_leave_the_tree_are_refused_and_write_nothing_outside(tree, tmp_path, bad):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched")
    error = refused(tree, layer(*bad))
    assert error.code == errors.IMPORT_UNSAFE_PATH, error
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "untouched"
    assert not (tmp_path / "escaped").exists()


def test_a_symlink_from_a_lower_layer_is_refused_as_a_parent_too(tree, tmp_path):
    (tmp_path / "outside").mkdir()
    apply(tree, layer(entry("etc", "symlink", link=str(tmp_path / "outside"))))
    error = refused(tree, layer(entry("etc/passwd", data=b"root::0:0::/:/bin/sh")))
    assert error.code == errors.IMPORT_UNSAFE_PATH
    assert "goes through the symlink 'etc'" in str(error)
    assert list((tmp_path / "outside").iterdir()) == []


def test_a_directory_swapped_for_a_symlink_during_the_walk_is_not_followed(tmp_path):
    """Another process of the caller's swaps a staged directory for a symlink to outside
    between two layers' steps: the walk opens each component O_NOFOLLOW, so the
    refusal holds at the open itself, not at an earlier check."""
    outside = tmp_path / "outside"
    outside.mkdir()

    class Racing(FakeLinux):
        armed = False

        def open_directory_at(self, dir_fd, name):
            if self.armed and name == "etc":
                self.armed = False
                os.rename(f"{tree.root}/etc", f"{tree.root}/etc.old")
                os.symlink(str(outside), f"{tree.root}/etc")
            return super().open_directory_at(dir_fd, name)

    tree = make_tree(tmp_path, Racing(host=tmp_path))
    apply(tree, layer(entry("etc", "dir")))
    tree.linux.armed = True
    error = refused(tree, layer(entry("etc/passwd", data=b"root::0:0::/:/bin/sh")))
    assert error.code == errors.IMPORT_UNSAFE_PATH
    assert "goes through the symlink 'etc'" in str(error)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "call, number",
    [("write_all", errno.ENOSPC), ("mkdir_at", errno.EACCES), ("set_metadata", errno.EPERM), ("remove_at", errno.EROFS)],
)
def test_a_refused_write_names_the_layer_and_entry(tmp_path, call, number):
    tree = make_tree(tmp_path, FakeLinux(host=tmp_path, fail={call: OSError(number, os.strerror(number))}))
    lower = layer(entry("usr", "dir"), entry("usr/old", data=b"o"))
    data = layer(entry("usr/.wh.old"), entry("usr/lib/new", data=b"x" * 100))
    if call == "remove_at":
        tree.linux.fail.pop(call)
        apply(tree, lower)
        tree.linux.fail[call] = OSError(number, os.strerror(number))
    with pytest.raises(ContainerError) as caught:
        apply(tree, data)
    assert caught.value.code == errors.IMPORT_OUTPUT
    assert str(caught.value).startswith(f"layer test: usr/") and str(caught.value).endswith(os.strerror(number))


def test_a_hardlink_to_a_directory_or_to_nothing_is_refused(tree):
    for target in ("dir", "missing"):
        error = refused(tree, layer(entry("dir", "dir"), entry("alias", "hardlink", link=target)))
        assert error.code == errors.IMPORT_CORRUPT
        assert f"hardlink 'alias' to {target!r}: no such file before it" in str(error)


def test_a_path_through_a_file_is_corrupt_not_unsafe(tree):
    error = refused(tree, layer(entry("f", data=b""), entry("f/inner", data=b"")))
    assert error.code == errors.IMPORT_CORRUPT
    assert "'f' is not a directory" in str(error)


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_directory_replaced_later_in_its_own_layer_is_not_an_error(tree, kind):
    """The last entry of a name wins (as tar extracts): the replaced directory's metadata,
    set once the layer's files are in, is for nothing that is still there."""
    later = entry("opt", data=b"now a file") if kind == "file" else entry("opt", "symlink", link="/etc")
    apply(tree, layer(entry("opt", "dir", mode=0o700), entry("opt/app", "dir"), later))
    assert names(tree) == {"opt"}
    assert stat.S_ISREG(os.lstat(f"{tree.root}/opt").st_mode) == (kind == "file")
