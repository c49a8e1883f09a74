"""A directory as the root: chosen instead of an image, assembled as an image is."""

import os
from types import SimpleNamespace

import pytest

from runtime import linux, plugins
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.clean_mounts import CleanMounts
from runtime.plugins.rootfs import RootfsDirectory

from .fake_linux import FakeLinux


def options(**overrides):
    values = dict(disable=[], plugin=[], hostname=None, rw=False, rootfs=None, read_only=False)
    values.update(overrides)
    return SimpleNamespace(**values)


def test_a_directory_takes_mount_images_place_in_the_order():
    chosen = plugins.select(options(rootfs="/bundle/rootfs"))
    assert plugins.MountImage not in chosen and plugins.RootfsDirectory in chosen
    assert plugins.select(options()) == [c for c in plugins.ORDER if c.default]


def test_rw_is_an_option_of_either_root():
    plugins.select(options(rootfs="/bundle/rootfs", rw=True))  # not "--rw needs mount-image"


def test_disabling_the_directory_root_names_its_dependents():
    with pytest.raises(plugins.PluginError, match="proc needs rootfs;.*--disable rootfs,proc,"):
        plugins.select(options(rootfs="/r", disable=["rootfs"]))


def test_the_rootfs_plugin_with_an_image_file_is_refused(tmp_path):
    ctx = Context("/images/web.img", ["/bin/sh"], options(), FakeLinux())
    with pytest.raises(ContainerError, match="runs when IMAGE is a directory"):
        RootfsDirectory().prepare(ctx)


def prepared(tmp_path, **values):
    fake = FakeLinux()
    ctx = Context(str(tmp_path), ["/bin/sh"], options(rootfs=str(tmp_path), **values), fake)
    plugin = RootfsDirectory()
    plugin.prepare(ctx)
    return plugin, ctx, fake


def test_read_only_bind_under_an_overlay(tmp_path):
    plugin, ctx, fake = prepared(tmp_path)
    assert fake.named("detach_tree") == [(str(tmp_path),)]
    plugin.setup_child(ctx)
    assert fake.named("attach_tree_in_root") == [("/image-read-only", None)]
    assert fake.named("restrict_mount") == [("/tmp/image-read-only", linux.MS_RDONLY)]
    overlay = fake.named("mount")[-1]
    assert overlay[1:3] == ("/tmp/root", "overlay") and overlay[0] == tmp_path.name
    assert ctx.rootfs == "/tmp/root"
    plugin.teardown(ctx)


def test_rw_binds_the_directory_itself_as_the_root(tmp_path):
    plugin, ctx, fake = prepared(tmp_path, rw=True)
    plugin.setup_child(ctx)
    assert fake.named("attach_tree_in_root") == [("/root", None)]
    assert not fake.named("restrict_mount") and not [m for m in fake.named("mount") if m[2] == "overlay"]
    plugin.teardown(ctx)


def test_a_reader_and_a_writer_exclude_each_other(tmp_path):
    reader, ctx, _ = prepared(tmp_path)
    with pytest.raises(ContainerError, match="--rw needs it exclusively") as refused:
        prepared(tmp_path, rw=True)
    assert refused.value.code == 75
    reader.teardown(ctx)


def test_a_missing_directory_is_the_image_missing_status(tmp_path):
    with pytest.raises(ContainerError) as refused:
        prepared(tmp_path / "gone")
    assert refused.value.code == 66


def test_read_only_remounts_the_root_after_pivot_root():
    fake = FakeLinux()
    ctx = Context("/r", ["/bin/sh"], options(read_only=True), fake)
    ctx.rootfs = "/tmp/root"
    CleanMounts().setup_child(ctx)
    assert fake.calls[-1] == ("restrict_mount", "/", linux.MS_RDONLY)
    assert [c[0] for c in fake.calls].index("pivot_root") < len(fake.calls) - 1


def test_read_only_and_rw_exclude_each_other():
    ctx = Context("/r", ["/bin/sh"], options(read_only=True, rw=True), FakeLinux())
    with pytest.raises(ContainerError, match="--read-only and --rw exclude each other"):
        CleanMounts().prepare(ctx)


def test_the_command_line_takes_a_directory_for_the_rootfs(tmp_path, monkeypatch):
    from runtime import cli, container

    started = []
    monkeypatch.setattr(cli, "require_root", lambda linux: None)
    monkeypatch.setattr(container, "run", lambda ctx, instances: started.append((ctx, instances)) or 0)
    assert cli.main(["-T", str(tmp_path), "true"]) == 0
    assert cli.main(["-T", "/images/web.img", "true"]) == 0
    (directory, first), (image, second) = started
    assert (directory.options.rootfs, directory.image) == (str(tmp_path), str(tmp_path))
    assert any(isinstance(p, RootfsDirectory) for p in first) and not any(p.name == "mount-image" for p in first)
    assert image.options.rootfs is None and any(p.name == "mount-image" for p in second)
