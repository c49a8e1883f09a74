"""`pip install` of this checkout, one at a time: setuptools builds it in the tree itself
(build/, *.egg-info) and removes build/bdist.*/ when its wheel is packed, so two builds
at once (pytest -n's workers, one test each) take each other's files away."""

import contextlib
import fcntl
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def one_build_at_a_time():
    """Hold an exclusive lock on the checkout's directory (nothing written) meanwhile."""
    fd = os.open(REPO, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
