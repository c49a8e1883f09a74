"""`demo-runtime image import` of each archive format (docker save, gzipped or not; an OCI
layout directory or archive; several images and --ref): the same image, owners, modes,
setuid, capabilities, links and whiteouts, with or without root."""

import gzip
import json
import os
import pathlib
import shutil
import tempfile

import pytest

from runtime import errors
from runtime.images.archive import machine_architecture
from runtime.linux import Linux

from ..unit.image_archives import docker_archive, oci_files, write_dir, write_tar
from .image_imports import BASE, NOBODY, REPO, SETTINGS, TOP, assert_imported, error_line, only_inputs, run_import

pytestmark = [
    pytest.mark.property("image import"),
    pytest.mark.kernel_independent("image import writes files in user space (fakeroot, mkfs.ext4 -d): no kernel feature"),
]


def test_docker_archive(tmp_path):
    archive = docker_archive(tmp_path / "app.tar", [BASE, TOP], **SETTINGS)
    result = run_import(archive, "-o", tmp_path / "app.img")
    assert_imported(result, tmp_path / "app.img")
    assert "skipped 1 device node" in result.stderr
    assert "layer 2/2" in result.stderr  # the progress lines
    only_inputs(tmp_path, archive, "app.img", "app.img.json")


def test_oci_layout_directory_through_a_manifest_list(tmp_path):
    here = machine_architecture(Linux())
    layout = write_dir(tmp_path / "layout", oci_files([BASE, TOP], platforms=["s390x", here], **SETTINGS))
    assert_imported(run_import(layout, "-o", tmp_path / "app.img"), tmp_path / "app.img")


def test_oci_archive_with_uncompressed_layers_default_output_name(tmp_path):
    archive = write_tar(tmp_path / "app.oci.tar", oci_files([BASE, TOP], compress=False, **SETTINGS))
    assert_imported(run_import(archive, cwd=tmp_path), tmp_path / "app.oci.img")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user (nobody)")
def test_without_root_owners_setuid_and_capabilities_are_kept(shared_tmp):
    tmp_path = shared_tmp
    package = tmp_path / "package"
    shutil.copytree(os.path.join(REPO, "runtime"), package / "runtime")
    archive = docker_archive(tmp_path / "app.tar", [BASE, TOP], **SETTINGS)
    result = run_import(archive, "-o", tmp_path / "app.img", user=NOBODY, package=package)
    assert_imported(result, tmp_path / "app.img")
    assert os.stat(tmp_path / "app.img").st_uid == NOBODY


@pytest.fixture
def shared_tmp():
    """A scratch directory another user can use (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix="image-import-test-")
    os.chmod(path, 0o777)
    yield pathlib.Path(path)
    shutil.rmtree(path)


def test_an_archive_of_several_images_needs_ref(tmp_path):
    first, second = oci_files([BASE], Cmd=["first"]), oci_files([BASE, TOP], Cmd=["second"])
    index = json.loads(first["index.json"])
    other = json.loads(second["index.json"])["manifests"][0]
    other["annotations"] = {"org.opencontainers.image.ref.name": "test:2"}
    index["manifests"].append(other)
    layout = write_dir(tmp_path / "layout", {**first, **second, "index.json": json.dumps(index).encode()})
    line = error_line(run_import(layout, "-o", tmp_path / "x.img"), errors.IMPORT_UNSUPPORTED)
    assert "holds 2 images (test:1, test:2): choose one with --ref" in line
    assert run_import(layout, "--ref", "test:2", "-o", tmp_path / "x.img").returncode == 0
    assert json.loads(open(tmp_path / "x.img.json").read()) == {"Cmd": ["second"]}
    assert error_line(run_import(layout, "--ref", "nope", "-o", tmp_path / "y.img"), errors.IMPORT_UNSUPPORTED).endswith("no image named 'nope'")


def test_a_gzipped_docker_save(tmp_path):
    archive = docker_archive(tmp_path / "app.tar", [BASE, TOP], **SETTINGS)
    packed = tmp_path / "app.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    assert_imported(run_import(packed, cwd=tmp_path), tmp_path / "app.img")
