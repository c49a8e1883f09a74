"""`demo-runtime image import` run for real, as a user runs it (a new process, fakeroot and
mkfs.ext4), on the machine that runs pytest whatever the container target; its images read
back with debugfs. The archives are made by tests/unit/image_archives.py."""

import json
import os
import shutil
import subprocess
import sys

from ..unit.image_archives import entry, layer

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
