"""`demo-runtime image import` of what is no image, is damaged or hostile: one clear line,
its exit code, and nothing left beside the input."""

import gzip
import json
import os
import tarfile

import pytest

from runtime import errors

from ..unit.image_archives import docker_archive, entry, layer, oci_files, write_dir, write_tar
from .image_imports import BASE, error_line, only_inputs, run_import

pytestmark = [
    pytest.mark.property("image import"),
    pytest.mark.kernel_independent("image import writes files in user space (fakeroot, mkfs.ext4 -d): no kernel feature"),
]


def test_a_manifest_list_without_this_architecture(tmp_path):
    layout = write_dir(tmp_path / "layout", oci_files([BASE], platforms=["s390x", "riscv64"]))
    line = error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_NO_PLATFORM)
    assert "linux/s390x, linux/riscv64" in line
    only_inputs(tmp_path, layout)


def test_an_image_for_another_architecture(tmp_path):
    config = json.dumps({"architecture": "s390x", "os": "linux", "rootfs": {"diff_ids": []}}).encode()
    archive = docker_archive(tmp_path / "a.tar", [], config=config)
    assert "is for linux/s390x" in error_line(run_import(archive, "-o", tmp_path / "x.img"), errors.IMPORT_NO_PLATFORM)


def test_a_root_filesystem_tarball_is_not_an_image(tmp_path):
    archive = write_tar(tmp_path / "rootfs.tar", {"bin/sh": b"", "etc/passwd": b""})
    line = error_line(run_import(archive, "-o", tmp_path / "x.img"), errors.IMPORT_NOT_AN_IMAGE)
    assert "build.sh --tarball" in line
    only_inputs(tmp_path, archive)


def test_a_file_that_is_no_archive(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 200)
    error_line(run_import(junk, "-o", tmp_path / "x.img"), errors.IMPORT_NOT_AN_IMAGE)
    only_inputs(tmp_path, junk)


def test_a_truncated_layer(tmp_path):
    big = layer(entry("big", data=os.urandom(200_000)))
    files = oci_files([big], compress=False)
    name = next(n for n, d in files.items() if len(d) > 100_000)
    files[name] = files[name][:150_000]
    layout = write_dir(tmp_path / "layout", files)
    assert "truncated" in error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_CORRUPT)
    only_inputs(tmp_path, layout)


def test_a_truncated_gzip_layer_in_a_docker_archive(tmp_path):
    archive = docker_archive(tmp_path / "a.tar", [BASE])
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar}
    name = next(n for n in files if n.endswith(".tar"))
    files[name] = gzip.compress(files[name])[:-100]
    write_tar(archive, files)
    error_line(run_import(archive, "-o", tmp_path / "x.img"), errors.IMPORT_CORRUPT)
    only_inputs(tmp_path, archive)


def test_a_layer_that_does_not_match_its_diff_id(tmp_path):
    files = oci_files([BASE])
    config_name = next(n for n, d in files.items() if b"diff_ids" in d)
    config = json.loads(files[config_name])
    config["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    layout = write_dir(tmp_path / "layout", oci_files([BASE], config=json.dumps(config).encode()))
    assert "diff_id" in error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_DIGEST_MISMATCH)
    only_inputs(tmp_path, layout)


def test_a_blob_that_does_not_match_its_digest(tmp_path):
    files = oci_files([BASE])
    name = next(n for n, d in files.items() if d.startswith(b"\x1f\x8b"))
    files[name] = gzip.compress(layer(entry("evil", data=b"swapped")), mtime=0)
    layout = write_dir(tmp_path / "layout", files)
    error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_DIGEST_MISMATCH)
    only_inputs(tmp_path, layout)


def test_an_escaping_layer_leaves_nothing_and_writes_nothing_outside(tmp_path):
    evil = layer(entry("x", "symlink", link=str(tmp_path)), entry("x/escaped", data=b"gotcha"))
    archive = docker_archive(tmp_path / "evil.tar", [BASE, evil])
    assert "symlink" in error_line(run_import(archive, "-o", tmp_path / "x.img"), errors.IMPORT_UNSAFE_PATH)
    only_inputs(tmp_path, archive)


def test_a_zstd_layer_is_refused_clearly(tmp_path):
    files = oci_files([BASE], compress=False)
    name = next(n for n, d in files.items() if d == BASE)
    files[name] = b"\x28\xb5\x2f\xfd" + BASE[4:]
    layout = write_dir(tmp_path / "layout", files)
    assert "zstd" in error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_UNSUPPORTED)


def test_a_missing_output_directory(tmp_path):
    archive = docker_archive(tmp_path / "a.tar", [BASE])
    error_line(run_import(archive, "-o", tmp_path / "no" / "x.img"), errors.IMPORT_OUTPUT)


def test_usage_errors(tmp_path):
    assert error_line(run_import(), errors.USAGE) == "demo-runtime: image import takes one FILE (see --help)"
    error_line(run_import("a", "b"), errors.USAGE)
