"""`demo-runtime image import`: archives in, ext4 image and run defaults out, or one
clear line, its exit code and nothing left. Images are read back with debugfs."""

import ctypes
import gzip
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.images import archive as image_archive
from runtime.images.command import Leftovers, import_image

from .fake_linux import Exited, FakeLinux
from .image_archives import docker_archive, entry, layer, oci_files, write_dir, write_tar

SBIN_PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
DEBUGFS = shutil.which("debugfs", path=SBIN_PATH)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# cap_net_bind_service=ep, as setcap writes it (VFS_CAP_REVISION_2)
CAPABILITY = bytes.fromhex("0100000200040000000000000000000000000000")
NOBODY = 65534

BASE = layer(
    entry("bin", "dir"),
    entry("bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o755),
    entry("bin/su", data=b"su", mode=0o4755, owner=(0, 0)),
    entry("bin/ping", data=b"ping", pax={"SCHILY.xattr.security.capability": CAPABILITY.decode("utf-8", "surrogateescape")}),
    entry("bin/sh", "symlink", link="tool"),
    entry("home/user", "dir", mode=0o700, owner=(1000, 1000)),
    entry("home/user/notes", data=b"mine", owner=(1000, 1000)),
    entry("etc/gone", data=b"x"),
    entry("dev/null", "chr"),
)
TOP = layer(entry("etc/.wh.gone"), entry("bin/same", "hardlink", link="bin/tool"))
SETTINGS = dict(Env=["PATH=/bin", "GREETING=hi"], Entrypoint=["/bin/tool"], Cmd=["x"], WorkingDir="/home/user", User="1000")


def run_import(*args, user=None, cwd=None, package=REPO):
    argv = [sys.executable, "-m", "runtime", "image", "import", *map(str, args)]
    if user is not None:
        # The system interpreter: the venv's (and the checkout) may be closed to that user.
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "/usr/bin/python3", *argv[1:]]
    env = dict(os.environ, PYTHONPATH=package)
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, stdin=subprocess.DEVNULL, timeout=120)


def debugfs(image, command):
    result = subprocess.run([DEBUGFS, "-R", command, str(image)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stat_of(image, path):
    out = debugfs(image, f"stat {path}")
    assert "Type:" in out, f"{path} not in the image: {out}"
    return out


def absent(image, path):
    result = subprocess.run([DEBUGFS, "-R", f"stat {path}", str(image)], capture_output=True, text=True, timeout=60)
    return "File not found by ext2_lookup" in result.stderr


def assert_imported(result, image):
    assert result.returncode == 0, result.stderr
    out = stat_of(image, "/bin/su")
    assert "Mode:  04755" in out and "User:     0" in out
    assert "User:  1000   Group:  1000" in stat_of(image, "/home/user/notes")
    assert "Mode:  0700" in stat_of(image, "/home/user")
    assert "security.capability (20) = 01 00 00 02 00 04 00 00" in debugfs(image, "ea_list /bin/ping")
    assert 'Fast link dest: "tool"' in stat_of(image, "/bin/sh")
    assert "Links: 2" in stat_of(image, "/bin/same")
    assert debugfs(image, "cat /bin/same") == "#!/bin/sh\necho tool\n"
    assert absent(image, "/etc/gone") and absent(image, "/dev/null")
    assert json.loads(open(f"{image}.json").read()) == SETTINGS


def error_line(result, code):
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("demo-runtime: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def only_inputs(directory, *inputs):
    assert sorted(os.listdir(directory)) == sorted(os.path.basename(str(p)) for p in inputs)


def test_docker_archive(tmp_path):
    archive = docker_archive(tmp_path / "app.tar", [BASE, TOP], **SETTINGS)
    result = run_import(archive, "-o", tmp_path / "app.img")
    assert_imported(result, tmp_path / "app.img")
    assert "skipped 1 device node" in result.stderr
    assert "layer 2/2" in result.stderr  # the progress lines
    only_inputs(tmp_path, archive, "app.img", "app.img.json")


def test_oci_layout_directory_through_a_manifest_list(tmp_path):
    from runtime.images.archive import machine_architecture

    here = machine_architecture(FakeLinux())  # the double's uname is the host's
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


@pytest.mark.parametrize(
    "signum, status, said",
    [
        (signal.SIGTERM, 128 + 15, ["demo-runtime: interrupted by signal 15"]),
        (signal.SIGINT, 128 + 2, []),  # Ctrl-C: as run does
        (signal.SIGKILL, -9, []),  # the watcher removes what the import could not
    ],
)
def test_an_interrupted_import_leaves_nothing(tmp_path, signum, status, said):
    """The layer blob is a FIFO the test feeds: the import is stopped mid-layer, for sure."""
    big = layer(entry("first", data=b"x" * 300_000), entry("second", data=b"y" * 300_000))
    files = oci_files([big], compress=False)
    name = next(n for n, d in files.items() if d == big)
    del files[name]
    layout = write_dir(tmp_path / "layout", files)
    os.mkfifo(layout / name)
    out = tmp_path / "out"
    out.mkdir()
    argv = [sys.executable, "-m", "runtime", "image", "import", str(layout), "-o", str(out / "x.img")]
    # SIGINT as a terminal gives it: a shell running us in the background ignores it, and
    # an ignored SIGINT is inherited (and then rightly left ignored by the import).
    # The import's watcher outlives a SIGKILLed import: as its subreaper, we wait for it.
    subreaper(True)
    try:
        child = subprocess.Popen(
            argv, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        with open(layout / name, "wb") as feed:
            feed.write(big[:400_000])  # past the first file: the staging tree exists
            feed.flush()
            assert "layer 1/1" in child.stderr.readline()  # the staging tree was made before
            assert any(out.iterdir())
            child.send_signal(signum)
            stderr = child.stderr.read()
            assert child.wait(timeout=30) == status
        if signum == signal.SIGKILL:
            os.waitpid(-1, 0)  # the orphaned watcher, once it has removed what the import left
    finally:
        subreaper(False)
    assert stderr.strip().splitlines() == said
    assert list(out.iterdir()) == []


def subreaper(on):
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants become our children."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, int(on), 0, 0, 0) == 0, os.strerror(ctypes.get_errno())


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


def test_the_imports_leftovers_are_removed_without_following_a_symlink_and_the_watcher_dismissed(tmp_path):
    staging, outside = tmp_path / "staging", tmp_path / "outside"
    (staging / "rootfs" / "etc").mkdir(parents=True)
    outside.mkdir()
    (outside / "keep").write_text("x")
    partial = tmp_path / ".app.img.x.tmp"
    partial.write_bytes(b"")
    link = tmp_path / "link"
    link.symlink_to(outside)
    fake = FakeLinux()
    leftovers = Leftovers(fake, str(link), str(staging), str(partial), f"{partial}.json")
    leftovers.remove()
    assert sorted(os.listdir(tmp_path)) == ["outside"] and (outside / "keep").exists()
    leftovers.dismiss()
    assert fake.named("write")[-1][1] == b"d" and fake.named("waitpid") == [(fake.next_pid + 1,)]


def test_the_imports_watcher_removes_the_leftovers_when_the_import_dies(tmp_path):
    """The watcher's side (fork returning 0): the import's end of the pipe closes without
    a word, as a SIGKILL leaves it; the watcher ignores the terminal's signals, removes
    the paths and exits."""
    staging, partial = tmp_path / "staging", tmp_path / ".x.img.tmp"
    (staging / "rootfs").mkdir(parents=True)
    partial.write_bytes(b"")

    class Watcher(FakeLinux):
        def fork(self):
            self._record("fork")
            return 0

    fake = Watcher()
    with pytest.raises(Exited) as exited:
        Leftovers(fake, str(staging), str(partial))
    assert exited.value.code == 0
    assert os.listdir(tmp_path) == []
    assert fake.handlers == {s: signal.SIG_IGN for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert fake.named("open") == [(os.devnull,)]
    assert sorted(target for _, target in fake.named("dup2")) == [0, 1, 2]


MINE = layer(entry("bin", "dir"), entry("bin/tool", data=b"tool"))
MKFS_FULL = (1, b"", b"mkfs.ext4: Could not allocate block in ext2 filesystem while populating file system\n")


@pytest.mark.parametrize(
    "failure, said",
    [
        ({"write_all": OSError(28, "No space left on device")}, ": bin/tool: No space left on device"),
        ({"mkdir_at": PermissionError(13, "Permission denied")}, ": bin: Permission denied"),
        ({"mkfs.ext4": MKFS_FULL}, "mkfs.ext4 failed: mkfs.ext4: Could not allocate block"),
    ],
    ids=["layer-write", "layer-mkdir", "mkfs"],
)
def test_a_kernel_or_mkfs_refusal_mid_import_leaves_nothing(tmp_path, failure, said):
    archive = docker_archive(tmp_path / "app.tar", [MINE], **SETTINGS)
    out = tmp_path / "out"
    out.mkdir()
    fake = FakeLinux(host=tmp_path, fail={k: v for k, v in failure.items() if isinstance(v, OSError)})
    fake.programs = {k: v for k, v in failure.items() if not isinstance(v, OSError)}
    with pytest.raises(ContainerError) as caught:
        import_image(fake, str(archive), str(out / "app.img"))
    assert caught.value.code == errors.IMPORT_OUTPUT and said in str(caught.value)
    assert os.listdir(out) == []
    assert fake.named("write")[-1][1] == b"d"  # the watcher dismissed


@pytest.mark.parametrize("failing", [1, 2], ids=["the-run-defaults", "the-image"])
def test_a_refused_rename_into_place_leaves_neither_file(tmp_path, failing):
    archive = docker_archive(tmp_path / "app.tar", [MINE], **SETTINGS)
    out = tmp_path / "out"
    out.mkdir()

    class Renames(FakeLinux):
        def rename(self, old, new):
            if len(self.named("rename")) + 1 == failing:
                self.fail["rename"] = OSError(18, "Invalid cross-device link")
            try:
                super().rename(old, new)
            finally:
                self.fail.pop("rename", None)

    with pytest.raises(OSError, match="cross-device"):
        import_image(Renames(host=tmp_path), str(archive), str(out / "app.img"))
    assert os.listdir(out) == []


def test_the_machine_is_the_kernels(tmp_path):
    """The platform check asks uname(2), through the syscall layer: on another machine
    the same archive is refused, naming both."""
    archive = docker_archive(tmp_path / "app.tar", [MINE])
    fake = FakeLinux()
    here = image_archive.machine_architecture(fake)
    fake.uname_result = os.uname_result((*os.uname()[:4], "s390x"))
    with pytest.raises(ContainerError) as caught:
        image_archive.read(fake, str(archive))
    assert caught.value.code == errors.IMPORT_NO_PLATFORM
    assert str(caught.value) == f"the image is for linux/{here}, this machine is linux/s390x"


def test_an_archive_that_cannot_be_read_is_one_line(tmp_path):
    archive = docker_archive(tmp_path / "app.tar", [MINE])
    for fake, said in (
        (FakeLinux(fail={"open_for_reading": PermissionError(13, "Permission denied")}), "permission denied"),
        (FakeLinux(), "no such file or directory"),
    ):
        path = archive if said == "permission denied" else tmp_path / "missing.tar"
        with pytest.raises(ContainerError) as caught:
            image_archive.read(fake, str(path))
        assert (caught.value.code, str(caught.value)) == (errors.IMAGE_MISSING, f"{path}: {said}")
