"""Tests for testcontainer/build.sh, the ext4 root-filesystem image builder.

Every build here is offline: --busybox, --tarball and --rootfs use local
files, and the Alpine download path is exercised through a file:// mirror (or
a loopback HTTP server) laid out like the real one.  Images are inspected with
debugfs/dumpe2fs/e2fsck, without mounting.  The tests pass as root and as an
ordinary user; as root, the unprivileged (fakeroot) path is still exercised by
running build.sh as nobody through setpriv.

An integration test (it runs gcc, debugfs, fakeroot and HTTP servers), but of the
tooling: it runs on the machine that runs pytest, whatever the container target.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel_independent(
    "the image builder is host-side tooling (compilers, mirrors, mkfs); it runs no container"
)

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "testcontainer" / "build.sh"
SBIN_PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
DEBUGFS = shutil.which("debugfs", path=SBIN_PATH)
DUMPE2FS = shutil.which("dumpe2fs", path=SBIN_PATH)
E2FSCK = shutil.which("e2fsck", path=SBIN_PATH)
MiB = 1024 * 1024
IS_ROOT = os.geteuid() == 0
NOBODY = 65534

PINNED_VERSION = "3.20.3"
PINNED_SHA256 = {
    "x86_64": "d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c",
    "aarch64": "041fa34a81788242df9e78fa69b97ab45b8ec47ddbf88864755610414a7bf3de",
}


# --- running build.sh -----------------------------------------------------------


def _env(tmp: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    # Never touch the repository's cache or the network by accident.
    env["BUILD_IMAGE_CACHE_DIR"] = str(tmp / "cache")
    env["ALPINE_MIRROR"] = f"file://{tmp}/no-mirror-here"
    env["ALPINE_ARCH"] = "x86_64"
    env["TMPDIR"] = str(tmp)
    for key in ("BUSYBOX", "CC"):
        env.pop(key, None)
    if extra:
        env.update(extra)
    return env


def run_build(tmp: Path, *args: str, env: dict | None = None, extras: bool = False,
              timeout: float = 120) -> subprocess.CompletedProcess:
    argv = ["bash", str(BUILD), *args]
    if not extras:
        argv.append("--no-extras")
    return subprocess.run(argv, env=_env(tmp, env), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"build.sh failed ({result.returncode}):\n{result.stderr}"
    return result


def error_line(result: subprocess.CompletedProcess) -> str:
    """The single error line a failed run printed (its last stderr line)."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no message on stderr"
    assert lines[-1].startswith("build.sh: error: "), result.stderr
    return lines[-1]


@pytest.fixture
def shared_tmp():
    """A world-writable scratch dir, so an unprivileged build.sh can use it."""
    path = Path(tempfile.mkdtemp(prefix="build-image-test-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_unprivileged(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a copy of build.sh, and of the runtime package that writes its image, as a
    user that is not root (nobody, when we are root)."""
    script = tmp / "build.sh"
    shutil.copy(BUILD, script)
    script.chmod(0o755)
    source = tmp / "src"
    if not source.exists():
        shutil.copytree(REPO / "runtime", source / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    argv = ["bash", str(script), "--no-extras", *args]
    if IS_ROOT:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    env = _env(tmp, {"HOME": str(tmp), "DEMO_RUNTIME_SRC": str(source)})
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=tmp)


# --- looking into an image without mounting it ------------------------------------


def debugfs(img: Path, command: str) -> str:
    result = subprocess.run([DEBUGFS, "-R", command, str(img)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cat(img: Path, path: str) -> str:
    return debugfs(img, f"cat {path}")


def inode(img: Path, path: str) -> dict:
    out = debugfs(img, f"stat {path}")
    assert "Type:" in out, f"{path} is not in the image: {out}"
    info = {
        "type": re.search(r"Type: (\S+)", out).group(1),
        "mode": int(re.search(r"Mode:\s+(\d+)", out).group(1), 8),
        "uid": int(re.search(r"User:\s+(\d+)", out).group(1)),
        "gid": int(re.search(r"Group:\s+(\d+)", out).group(1)),
        "size": int(re.search(r"Size: (\d+)", out).group(1)),
    }
    link = re.search(r'Fast link dest: "(.*)"', out)
    info["link"] = link.group(1) if link else None
    dev = re.search(r"Device major/minor number: (\d+):(\d+)", out)
    info["dev"] = (int(dev.group(1)), int(dev.group(2))) if dev else None
    return info


def walk(img: Path) -> dict[str, tuple[int, int, int]]:
    """Every path in the image -> (st_mode, uid, gid)."""
    found: dict[str, tuple[int, int, int]] = {}
    todo = ["/"]
    while todo:
        directory = todo.pop()
        for line in debugfs(img, f"ls -l {directory}").splitlines():
            parts = line.split()
            if len(parts) < 6 or not parts[0].isdigit():
                continue
            name = parts[-1]
            if name in (".", ".."):
                continue
            mode, uid, gid = int(parts[1], 8), int(parts[3]), int(parts[4])
            path = directory.rstrip("/") + "/" + name
            found[path] = (mode, uid, gid)
            if stat.S_ISDIR(mode):
                todo.append(path)
    return found


def assert_ext4(img: Path) -> None:
    header = subprocess.run([DUMPE2FS, "-h", str(img)], capture_output=True, text=True,
                            timeout=60)
    assert header.returncode == 0, header.stderr
    assert "Filesystem magic number:  0xEF53" in header.stdout
    features = re.search(r"Filesystem features:\s+(.*)", header.stdout).group(1).split()
    assert "extent" in features and "has_journal" in features, features  # ext4, not ext2
    fsck = subprocess.run([E2FSCK, "-fn", str(img)], capture_output=True, text=True, timeout=60)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def leftovers(directory: Path) -> list[str]:
    """Temporary files build.sh might have left next to its output."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --- building blocks for sources ----------------------------------------------------


def make_tarball(path: Path, entries: list[tuple], compression: str = "") -> None:
    """entries: (name, kind, payload, mode, uid, gid); kind in file/dir/symlink/chr."""
    mode = "w:" + compression if compression else "w"
    with tarfile.open(path, mode) as tar:
        for name, kind, payload, perm, uid, gid in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid, info.mtime = perm, uid, gid, 1_700_000_000
            data = None
            if kind == "file":
                data = payload.encode()
                info.size = len(data)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
                info.devmajor, info.devminor = payload
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


ROOTFS_ENTRIES = [
    ("./", "dir", None, 0o755, 0, 0),
    ("./bin", "dir", None, 0o755, 0, 0),
    ("./bin/hello", "file", "#!/bin/sh\necho hello\n", 0o755, 0, 0),
    ("./bin/hi", "symlink", "hello", 0o777, 0, 0),
    ("./etc", "dir", None, 0o755, 0, 0),
    ("./etc/hostname", "file", "tarball-host\n", 0o644, 0, 0),
    ("./etc/shadow", "file", "root:!::0:::::\n", 0o640, 0, 42),
    ("./tmp", "dir", None, 0o1777, 0, 0),
    ("./dev", "dir", None, 0o755, 0, 0),
    ("./dev/null", "chr", (1, 3), 0o666, 0, 0),
    ("./home", "dir", None, 0o755, 0, 0),
    ("./home/user", "dir", None, 0o750, 1000, 1000),
]


def check_tarball_image(img: Path) -> None:
    assert_ext4(img)
    assert cat(img, "/etc/hostname") == "tarball-host\n"
    assert cat(img, "/bin/hello") == "#!/bin/sh\necho hello\n"
    hello = inode(img, "/bin/hello")
    assert (hello["mode"], hello["uid"], hello["gid"]) == (0o755, 0, 0)
    assert inode(img, "/bin/hi")["link"] == "hello"
    assert inode(img, "/tmp")["mode"] == 0o1777
    null = inode(img, "/dev/null")
    assert null["type"] == "character" and null["dev"] == (1, 3), null
    assert (null["uid"], null["gid"], null["mode"]) == (0, 0, 0o666)
    # numeric owners from the tarball are kept
    shadow = inode(img, "/etc/shadow")
    assert (shadow["uid"], shadow["gid"], shadow["mode"]) == (0, 42, 0o640)
    user = inode(img, "/home/user")
    assert (user["uid"], user["gid"]) == (1000, 1000)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_mirror(root: Path, version: str, arch: str = "x86_64",
                sha256_line: str | None = "auto") -> Path:
    """A mirror tree like the real one, holding a tiny fake minirootfs."""
    branch = "v" + ".".join(version.split(".")[:2])
    releases = root / branch / "releases" / arch
    releases.mkdir(parents=True, exist_ok=True)
    name = f"alpine-minirootfs-{version}-{arch}.tar.gz"
    make_tarball(releases / name, [
        ("./", "dir", None, 0o755, 0, 0),
        ("./etc", "dir", None, 0o755, 0, 0),
        ("./etc/alpine-release", "file", version + "\n", 0o644, 0, 0),
    ], "gz")
    if sha256_line == "auto":
        sha256_line = f"{sha256(releases / name)}  {name}\n"
    if sha256_line is not None:
        (releases / (name + ".sha256")).write_text(sha256_line)
    return releases / name


# --- help and bad input ---------------------------------------------------------------


def test_help_explains_every_option(tmp_path):
    result = ok(run_build(tmp_path, "--help"))
    for option in ("-o, --output", "--alpine-version", "--tarball", "--rootfs", "--busybox",
                   "--size", "--headroom", "--extras-dir", "--no-extras", "--help",
                   "ALPINE_MIRROR", "BUILD_IMAGE_CACHE_DIR", PINNED_VERSION):
        assert option in result.stdout, option
    assert result.stderr == ""


@pytest.mark.parametrize("args, message", [
    (["--frobnicate"], "unknown option '--frobnicate'"),
    (["stray"], "unexpected argument 'stray'"),
    (["--busybox", "--size"], "--size needs a value"),
    (["--busybox", "--size", "--headroom", "3"], "--size needs a value"),
    (["--busybox", "--size", "12"], "not a size with a unit"),
    (["--busybox", "--size", "lots"], "not a size with a unit"),
    (["--busybox", "--size", "0M"], "too small"),
    (["--busybox", "--headroom", "abc"], "not a whole number"),
    (["--busybox", "--headroom=-4"], "not a whole number"),
    (["--tarball", "/nonexistent/rootfs.tar"], "is not a file"),
    (["--rootfs", "/nonexistent/rootfs"], "is not a directory"),
    (["--busybox", "--rootfs", "/"], "choose one source"),
    (["--busybox", "--alpine-version", "3.20.3"], "--alpine-version only applies"),
    (["--alpine-version", "latest"], "is not a release"),
    (["--busybox", "--busybox=yes"], "takes no value"),
    (["--busybox", "-o", "/nonexistent/dir/x.img"], "does not exist"),
    (["--busybox", "--extras-dir", "/nonexistent/src"], "is not a directory"),
])
def test_bad_arguments_fail_with_one_clear_line(tmp_path, args, message):
    result = run_build(tmp_path, *args)
    line = error_line(result)
    assert message in line, line
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
    assert not list(tmp_path.glob("*.img"))


def test_output_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    line = error_line(run_build(tmp_path, "--busybox", "-o", str(tmp_path / "out")))
    assert "is a directory" in line


def test_tarball_with_unknown_extension_is_refused(tmp_path):
    bogus = tmp_path / "rootfs.zip"
    bogus.write_bytes(b"PK")
    line = error_line(run_build(tmp_path, "--tarball", str(bogus), "-o", str(tmp_path / "x.img")))
    assert ".tar" in line


def test_corrupt_tarball_fails_cleanly(tmp_path):
    bogus = tmp_path / "rootfs.tar.gz"
    bogus.write_bytes(b"this is not gzip")
    out = tmp_path / "out"
    out.mkdir()
    line = error_line(run_build(tmp_path, "--tarball", str(bogus), "-o", str(out / "x.img")))
    assert "could not extract" in line
    assert list(out.iterdir()) == []


# --- --busybox ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busybox_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("busybox")
    img = tmp / "container.img"
    result = ok(run_build(tmp, "--busybox", "-o", str(img)))
    return img, result


def test_busybox_image_is_ext4(busybox_image):
    img, result = busybox_image
    assert_ext4(img)
    assert img.stat().st_size % MiB == 0
    assert f"Built {img}" in result.stdout
    assert "busybox" in result.stdout and "MiB" in result.stdout


def test_busybox_image_is_sized_from_content(busybox_image):
    img, _ = busybox_image
    busybox_bytes = Path("/bin/busybox").stat().st_size
    # content x 1.25 + 16 MiB, rounded up to MiB: just above 16 MiB plus busybox
    assert 16 * MiB + busybox_bytes < img.stat().st_size < 16 * MiB + 3 * busybox_bytes + 2 * MiB


def test_busybox_image_everything_owned_by_root(busybox_image):
    img, _ = busybox_image
    entries = walk(img)
    assert len(entries) > 100
    wrong = {path: (uid, gid) for path, (_, uid, gid) in entries.items() if (uid, gid) != (0, 0)}
    assert wrong == {}


def test_busybox_image_has_busybox_and_applets(busybox_image):
    img, _ = busybox_image
    bb = inode(img, "/bin/busybox")
    assert bb["type"] == "regular" and bb["mode"] == 0o755
    assert bb["size"] == Path("/bin/busybox").stat().st_size
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    entries = walk(img)
    for applet in applets:
        if "/" not in applet or applet == "bin/busybox":
            continue
        mode, _, _ = entries["/" + applet]
        assert stat.S_ISLNK(mode), applet
    for applet in ("/bin/sh", "/bin/ls", "/bin/mount"):
        assert inode(img, applet)["link"] == "/bin/busybox"


def test_busybox_binary_is_copied_intact(busybox_image, tmp_path):
    img, _ = busybox_image
    dumped = tmp_path / "busybox"
    debugfs(img, f"dump /bin/busybox {dumped}")
    assert sha256(dumped) == sha256(Path("/bin/busybox"))


def test_busybox_image_etc_files(busybox_image):
    img, _ = busybox_image
    passwd = cat(img, "/etc/passwd").splitlines()
    assert passwd[0] == "root:x:0:0:root:/root:/bin/sh"
    nobody = [line for line in passwd if line.startswith("nobody:")]
    assert len(nobody) == 1 and nobody[0].startswith("nobody:x:65534:65534:")
    nologin = nobody[0].rsplit(":", 1)[1]
    assert inode(img, nologin)["type"] == "symlink"  # the login shell exists in the image
    group = cat(img, "/etc/group").splitlines()
    assert "root:x:0:root" in group and "tty:x:5:" in group and "nobody:x:65534:" in group
    # As in Alpine's minirootfs (alpine-baselayout-data): /etc/hostname is "localhost".
    assert cat(img, "/etc/hostname") == "localhost\n"
    assert "127.0.0.1\tlocalhost" in cat(img, "/etc/hosts")
    os_release = cat(img, "/etc/os-release")
    assert "ID=busybox" in os_release and "PRETTY_NAME=" in os_release
    for path in ("/etc/passwd", "/etc/group", "/etc/hostname", "/etc/os-release"):
        assert inode(img, path)["mode"] == 0o644, path


def test_busybox_image_directories(busybox_image):
    img, _ = busybox_image
    for path in ("/proc", "/sys", "/dev", "/etc", "/home", "/var", "/run", "/usr/local/bin"):
        node = inode(img, path)
        assert node["type"] == "directory" and node["mode"] == 0o755, path
    assert inode(img, "/tmp")["mode"] == 0o1777
    assert inode(img, "/root")["mode"] == 0o700
    assert inode(img, "/")["mode"] == 0o755


def test_busybox_build_as_unprivileged_user(shared_tmp):
    img = shared_tmp / "container.img"
    result = run_unprivileged(shared_tmp, "--busybox", "-o", str(img))
    ok(result)
    assert img.stat().st_uid == (NOBODY if IS_ROOT else os.geteuid())
    assert_ext4(img)
    entries = walk(img)
    assert {(uid, gid) for (_, uid, gid) in entries.values()} == {(0, 0)}
    assert inode(img, "/tmp")["mode"] == 0o1777
    assert leftovers(shared_tmp) == []
    assert not list(shared_tmp.glob("build-image.*"))


def test_missing_busybox_is_reported(tmp_path):
    line = error_line(run_build(tmp_path, "--busybox", "-o", str(tmp_path / "x.img"),
                                env={"BUSYBOX": str(tmp_path / "no-busybox")}))
    assert "does not exist" in line


def test_dynamic_busybox_is_refused(tmp_path):
    dynamic = shutil.which("ls")
    line = error_line(run_build(tmp_path, "--busybox", "-o", str(tmp_path / "x.img"),
                                env={"BUSYBOX": dynamic}))
    assert "dynamically linked" in line and "busybox-static" in line


# --- --tarball and --rootfs ------------------------------------------------------------------


@pytest.mark.parametrize("suffix, compression", [
    (".tar", ""), (".tar.gz", "gz"), (".tar.xz", "xz"),
])
def test_tarball_source(tmp_path, suffix, compression):
    tarball = tmp_path / ("rootfs" + suffix)
    make_tarball(tarball, ROOTFS_ENTRIES, compression)
    img = tmp_path / "t.img"
    result = ok(run_build(tmp_path, "--tarball", str(tarball), "-o", str(img)))
    assert f"tarball {tarball}" in result.stdout
    check_tarball_image(img)


@pytest.mark.parametrize("marker", ["manifest.json", "./oci-layout"])
def test_an_image_archive_is_refused_with_the_importer_named(tmp_path, marker):
    archive = tmp_path / "saved.tar"
    make_tarball(archive, [(marker, "file", "{}", 0o644, 0, 0), ("layer.tar", "file", "", 0o644, 0, 0)])
    line = error_line(run_build(tmp_path, "--tarball", str(archive), "-o", str(tmp_path / "x.img")))
    assert "is an image archive" in line and "demo-runtime image import" in line
    assert not (tmp_path / "x.img").exists()


def test_tarball_source_as_unprivileged_user(shared_tmp):
    """Device nodes and foreign owners survive without root (one fakeroot session)."""
    tarball = shared_tmp / "rootfs.tar.gz"
    make_tarball(tarball, ROOTFS_ENTRIES, "gz")
    tarball.chmod(0o644)
    img = shared_tmp / "t.img"
    ok(run_unprivileged(shared_tmp, "--tarball", str(tarball), "-o", str(img)))
    check_tarball_image(img)


def make_rootfs_dir(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    tool = root / "bin" / "tool"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(0o755)
    (root / "bin" / "alias").symlink_to("tool")
    (root / "etc" / "hostname").write_text("dir-host\n")


def test_rootfs_dir_source(tmp_path):
    root = tmp_path / "rootfs"
    make_rootfs_dir(root)
    expected_foreign = None
    if IS_ROOT:
        # A tree someone else made: its owner becomes root, other owners stay.
        for path in [root, *root.rglob("*")]:
            os.lchown(path, 1000, 1000)
        os.chown(root / "etc" / "hostname", 1234, 1000)
        expected_foreign = (1234, 0)
    img = tmp_path / "r.img"
    result = ok(run_build(tmp_path, "--rootfs", str(root), "-o", str(img)))
    assert f"directory {root}" in result.stdout
    assert_ext4(img)
    assert cat(img, "/etc/hostname") == "dir-host\n"
    assert cat(img, "/bin/tool") == "#!/bin/sh\necho tool\n"
    assert inode(img, "/bin/tool")["mode"] == 0o755
    assert inode(img, "/bin/alias")["link"] == "tool"
    assert inode(img, "/tmp")["mode"] == 0o1777
    owners = {path: (uid, gid) for path, (_, uid, gid) in walk(img).items()}
    if expected_foreign:
        assert owners.pop("/etc/hostname") == expected_foreign
    assert set(owners.values()) == {(0, 0)}, owners


def test_rootfs_dir_source_as_unprivileged_user(shared_tmp):
    root = shared_tmp / "rootfs"
    make_rootfs_dir(root)
    if IS_ROOT:
        for path in [root, *root.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)
    img = shared_tmp / "r.img"
    ok(run_unprivileged(shared_tmp, "--rootfs", str(root), "-o", str(img)))
    assert_ext4(img)
    assert cat(img, "/etc/hostname") == "dir-host\n"
    assert {(uid, gid) for (_, uid, gid) in walk(img).values()} == {(0, 0)}


# --- sizing and re-runs -------------------------------------------------------------------------


def test_explicit_size(tmp_path):
    img = tmp_path / "s.img"
    result = ok(run_build(tmp_path, "--busybox", "--size", "40M", "-o", str(img)))
    assert img.stat().st_size == 40 * MiB
    assert "40 MiB" in result.stdout
    assert_ext4(img)


def test_headroom_changes_default_size(tmp_path):
    small, large = tmp_path / "small.img", tmp_path / "large.img"
    ok(run_build(tmp_path, "--busybox", "--headroom", "8", "-o", str(small)))
    ok(run_build(tmp_path, "--busybox", "--headroom=40", "-o", str(large)))
    assert large.stat().st_size - small.stat().st_size == 32 * MiB
    assert_ext4(small)


@pytest.mark.parametrize("size", ["1M", "2M", "1024K"])
def test_size_too_small_fails_cleanly(tmp_path, size):
    out = tmp_path / "out"
    out.mkdir()
    result = run_build(tmp_path, "--busybox", "--size", size, "-o", str(out / "x.img"))
    line = error_line(result)
    assert "too small" in line and "--size" in line
    assert list(out.iterdir()) == []
    assert not list(tmp_path.glob("build-image.*"))  # staging dir removed too


def test_size_that_fits_the_files_but_not_the_metadata_fails_cleanly(tmp_path):
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "blob").write_bytes(os.urandom(3_100_000))  # < 3 MiB, but not with ext4 metadata
    out = tmp_path / "out"
    out.mkdir()
    line = error_line(run_build(tmp_path, "--rootfs", str(root), "--size", "3M",
                                "-o", str(out / "x.img")))
    assert "too small" in line and "--size" in line
    assert list(out.iterdir()) == []
    assert not list(tmp_path.glob("build-image.*"))


def test_rerun_replaces_existing_image(tmp_path):
    img = tmp_path / "container.img"
    img.write_bytes(b"not an image at all")
    ok(run_build(tmp_path, "--busybox", "--size", "24M", "-o", str(img)))
    assert img.stat().st_size == 24 * MiB
    first_inode = img.stat().st_ino
    assert_ext4(img)

    tarball = tmp_path / "rootfs.tar"
    make_tarball(tarball, ROOTFS_ENTRIES)
    ok(run_build(tmp_path, "--tarball", str(tarball), "--size", "20M", "-o", str(img)))
    assert img.stat().st_size == 20 * MiB
    assert img.stat().st_ino != first_inode  # a new file moved into place
    check_tarball_image(img)
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["container.img", "rootfs.tar"]


def test_default_output_is_testcontainer_container_img():
    help_text = subprocess.run(["bash", str(BUILD), "--help"], capture_output=True, text=True,
                               check=True).stdout
    assert "testcontainer/container.img" in help_text


# --- extras: testcontainer/src/*.c ------------------------------------------------------------------


HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from extras"); return 0; }\n'


def test_extras_are_compiled_statically_into_usr_local_bin(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.c").write_text(HELLO_C)
    img = tmp_path / "e.img"
    result = ok(run_build(tmp_path, "--busybox", "--extras-dir", str(src), "-o", str(img),
                          extras=True))
    assert "/usr/local/bin/hello" in result.stdout
    node = inode(img, "/usr/local/bin/hello")
    assert (node["type"], node["mode"], node["uid"], node["gid"]) == ("regular", 0o755, 0, 0)
    binary = tmp_path / "hello"
    debugfs(img, f"dump /usr/local/bin/hello {binary}")
    binary.chmod(0o755)
    assert subprocess.run([str(binary)], capture_output=True, text=True,
                          check=True).stdout == "hello from extras\n"
    described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True).stdout
    assert "statically linked" in described or "static-pie" in described, described


def test_extras_without_a_working_compiler_are_skipped_with_a_warning(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.c").write_text(HELLO_C)
    img = tmp_path / "e.img"
    result = ok(run_build(tmp_path, "--busybox", "--extras-dir", str(src), "-o", str(img),
                          env={"CC": str(tmp_path / "no-such-cc")}, extras=True))
    assert "warning" in result.stderr and "hello.c" in result.stderr
    assert "/usr/local/bin/hello" not in walk(img)
    assert "/usr/local/bin" in walk(img)


def test_extras_that_do_not_compile_fail_the_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.c").write_text("int main(void) { return }\n")
    out = tmp_path / "out"
    out.mkdir()
    line = error_line(run_build(tmp_path, "--busybox", "--extras-dir", str(src),
                                "-o", str(out / "x.img"), extras=True))
    assert "broken.c" in line
    assert list(out.iterdir()) == []


# --- the Alpine download path ---------------------------------------------------------------------


def test_pinned_hashes_are_in_the_script():
    text = BUILD.read_text()
    assert f"PINNED_ALPINE_VERSION={PINNED_VERSION}" in text
    for arch, digest in PINNED_SHA256.items():
        assert f"PINNED_SHA256_{arch}={digest}" in text


def test_download_verified_against_published_sha256(tmp_path):
    mirror = tmp_path / "mirror"
    tarball = make_mirror(mirror, "9.9.9")
    img = tmp_path / "a.img"
    result = ok(run_build(tmp_path, "--alpine-version", "9.9.9", "-o", str(img),
                          env={"ALPINE_MIRROR": f"file://{mirror}"}))
    assert "Alpine minirootfs 9.9.9 (x86_64" in result.stdout
    assert_ext4(img)
    assert cat(img, "/etc/alpine-release") == "9.9.9\n"
    cached = tmp_path / "cache" / tarball.name
    assert sha256(cached) == sha256(tarball)
    assert leftovers(tmp_path / "cache") == []

    # Cached: re-verified and used without the mirror.
    result = ok(run_build(tmp_path, "--alpine-version", "9.9.9", "-o", str(img)))
    assert "using cached" in result.stderr

    # A cached file that no longer matches is thrown away and fetched again.
    cached.write_bytes(b"tampered")
    result = ok(run_build(tmp_path, "--alpine-version", "9.9.9", "-o", str(img),
                          env={"ALPINE_MIRROR": f"file://{mirror}/"}))
    assert "does not match" in result.stderr
    assert sha256(cached) == sha256(tarball)
    assert cat(img, "/etc/alpine-release") == "9.9.9\n"


def test_download_with_wrong_checksum_fails_and_leaves_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    name = "alpine-minirootfs-9.9.8-x86_64.tar.gz"
    make_mirror(mirror, "9.9.8", sha256_line=f"{'0' * 64}  {name}\n")
    out = tmp_path / "out"
    out.mkdir()
    result = run_build(tmp_path, "--alpine-version", "9.9.8", "-o", str(out / "a.img"),
                       env={"ALPINE_MIRROR": f"file://{mirror}"})
    line = error_line(result)
    assert "SHA-256 mismatch" in line and name in line and "0" * 64 in line
    assert list(out.iterdir()) == []
    assert list((tmp_path / "cache").iterdir()) == []  # neither tarball nor checksum kept
    assert not list(tmp_path.glob("build-image.*"))


def test_pinned_release_is_checked_against_the_pinned_hash(tmp_path):
    """The default source with a mirror serving something else under the pinned name."""
    mirror = tmp_path / "mirror"
    make_mirror(mirror, PINNED_VERSION, sha256_line=None)
    out = tmp_path / "out"
    out.mkdir()
    result = run_build(tmp_path, "-o", str(out / "container.img"),
                       env={"ALPINE_MIRROR": f"file://{mirror}"})
    line = error_line(result)
    assert "SHA-256 mismatch" in line and PINNED_SHA256["x86_64"] in line
    assert list(out.iterdir()) == []
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_published_checksum_is_an_error(tmp_path):
    mirror = tmp_path / "mirror"
    make_mirror(mirror, "9.9.7", sha256_line=None)
    line = error_line(run_build(tmp_path, "--alpine-version", "9.9.7",
                                "-o", str(tmp_path / "a.img"),
                                env={"ALPINE_MIRROR": f"file://{mirror}"}))
    assert "could not download the checksum" in line and "--busybox" in line


def test_unsupported_architecture_is_an_error(tmp_path):
    line = error_line(run_build(tmp_path, "-o", str(tmp_path / "a.img"),
                                env={"ALPINE_ARCH": "riscv64"}))
    assert "riscv64" in line and "x86_64" in line and "--busybox" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_mirror_fails_fast_suggesting_busybox(tmp_path):
    port = _free_port()
    start = time.monotonic()
    result = run_build(tmp_path, "-o", str(tmp_path / "a.img"),
                       env={"ALPINE_MIRROR": f"http://127.0.0.1:{port}/alpine"}, timeout=60)
    line = error_line(result)
    assert time.monotonic() - start < 15
    assert "could not download" in line and "--busybox" in line
    assert not (tmp_path / "a.img").exists()


def test_unreachable_mirror_times_out_within_15_seconds(tmp_path):
    """A mirror that never answers the TCP handshake (full accept queue on loopback)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        time.sleep(0.2)
        start = time.monotonic()
        result = run_build(tmp_path, "--alpine-version", "3.19.1", "-o", str(tmp_path / "a.img"),
                           env={"ALPINE_MIRROR": f"http://127.0.0.1:{port}"}, timeout=60)
        elapsed = time.monotonic() - start
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    line = error_line(result)
    assert elapsed < 15, elapsed
    assert "--busybox" in line
    assert list((tmp_path / "cache").iterdir()) == []


class _StallingMirror(http.server.BaseHTTPRequestHandler):
    """Serves a .sha256, then trickles the tarball until released."""

    release: threading.Event
    started: threading.Event

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path.endswith(".sha256"):
            body = f"{'1' * 64}  x.tar.gz\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(10 * MiB))
        self.end_headers()
        self.wfile.write(b"\0" * 65536)
        self.wfile.flush()
        self.started.set()
        self.release.wait(30)

    def log_message(self, *args):
        pass


def test_interrupt_during_download_removes_temporary_files(tmp_path):
    release, started = threading.Event(), threading.Event()
    handler = type("Handler", (_StallingMirror,), {"release": release, "started": started})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    out = tmp_path / "out"
    out.mkdir()
    try:
        env = _env(tmp_path, {"ALPINE_MIRROR": f"http://127.0.0.1:{server.server_address[1]}"})
        proc = subprocess.Popen(["bash", str(BUILD), "--alpine-version", "9.9.6", "--no-extras",
                                 "-o", str(out / "a.img")], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True,
                                # bash cannot trap a SIGINT that was ignored on entry, as
                                # it is under a shell that ran us in the background
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            assert started.wait(30), "the download never started"
            time.sleep(0.3)
            assert [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert proc.returncode != 0
    assert "interrupted" in stderr
    assert list(out.iterdir()) == []
    assert leftovers(tmp_path / "cache") == []  # the partial download is gone
    assert not list(tmp_path.glob("build-image.*"))
