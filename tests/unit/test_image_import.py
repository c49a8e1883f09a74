"""`demo-runtime image import`'s logic through the test double: its leftovers and their
watcher, a kernel's or mkfs's refusal mid-import, the rename into place, the platform
check's uname, an unreadable archive. The real imports: tests/integration/test_image_import_*.py."""

import os
import signal

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.images import archive as image_archive
from runtime.images.command import Leftovers, import_image

from .fake_linux import Exited, FakeLinux
from .image_archives import docker_archive, entry, layer


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
    archive = docker_archive(tmp_path / "app.tar", [MINE])
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
    archive = docker_archive(tmp_path / "app.tar", [MINE])
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
