"""`demo-runtime image import` stopped mid-layer (SIGTERM, SIGINT, SIGKILL): nothing left."""

import ctypes
import os
import signal
import subprocess
import sys

import pytest

from ..unit.image_archives import entry, layer, oci_files, write_dir
from .image_imports import REPO

pytestmark = [
    pytest.mark.property("image import"),
    pytest.mark.kernel_independent("image import writes files in user space (fakeroot, mkfs.ext4 -d): no kernel feature"),
]


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
