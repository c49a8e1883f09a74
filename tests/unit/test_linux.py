import errno
import struct

import pytest

from runtime import linux


def test_loop_config_matches_the_kernel_struct():
    # struct loop_config: fd, block_size, loop_info64 (232 bytes), reserved[8]
    assert struct.calcsize("=" + linux._LOOP_INFO64) == 232
    assert struct.calcsize(linux._LOOP_CONFIG) == 304


def test_loop_info_carries_flags_and_a_bounded_name():
    info = linux._loop_info(linux.LO_FLAGS_AUTOCLEAR | linux.LO_FLAGS_READ_ONLY, "x" * 100)
    packed = struct.pack("=" + linux._LOOP_INFO64, *info)
    flags = struct.unpack_from("=I", packed, 5 * 8 + 3 * 4)[0]
    assert flags == 5
    assert packed[56 : 56 + 64].rstrip(b"\0") == b"x" * 63


class FakeLoopKernel:
    """Stands in for /dev/loop-control and the loop ioctls."""

    def __init__(self, busy=(), configure_error=None):
        self.busy = set(busy)  # device numbers another process takes first
        self.configure_error = configure_error
        self.calls = []
        self.next_free = 0

    def open(self, path, flags, mode=0o777):
        self.calls.append(("open", path))
        return 100 if path == "/dev/loop-control" else 200 + int(path.removeprefix("/dev/loop"))

    def close(self, fd):
        self.calls.append(("close", fd))

    def ioctl(self, fd, request, arg=0):
        name = {v: k for k, v in vars(linux).items() if k.startswith("_LOOP")}[request]
        self.calls.append((name, fd))
        if name == "_LOOP_CTL_GET_FREE":
            self.next_free += 1
            return self.next_free - 1
        if name == "_LOOP_CONFIGURE":
            if fd - 200 in self.busy:
                raise OSError(errno.EBUSY, "busy")
            if self.configure_error:
                raise OSError(self.configure_error, "no LOOP_CONFIGURE")
        return 0


@pytest.fixture
def loop_kernel(monkeypatch):
    def install(**kwargs):
        kernel = FakeLoopKernel(**kwargs)
        monkeypatch.setattr(linux.os, "open", kernel.open)
        monkeypatch.setattr(linux.os, "close", kernel.close)
        monkeypatch.setattr(linux.fcntl, "ioctl", kernel.ioctl)
        return kernel

    return install


def test_attach_loop_takes_the_next_free_device_when_one_is_raced_away(loop_kernel):
    kernel = loop_kernel(busy={0, 1})
    assert linux.Linux().attach_loop(3, read_only=True) == (202, "/dev/loop2")
    assert ("close", 200) in kernel.calls and ("close", 201) in kernel.calls
    assert kernel.calls[-1] == ("close", 100)  # loop-control, not the device we keep


def test_attach_loop_falls_back_to_set_fd_on_kernels_without_loop_configure(loop_kernel):
    kernel = loop_kernel(configure_error=errno.EINVAL)
    linux.Linux().attach_loop(3, read_only=True)
    names = [c[0] for c in kernel.calls if c[0].startswith("_LOOP")]
    assert names == ["_LOOP_CTL_GET_FREE", "_LOOP_CONFIGURE", "_LOOP_SET_FD", "_LOOP_SET_STATUS64"]


def test_attach_loop_without_loop_control_is_no_free_loop_device(monkeypatch):
    def refuse(path, flags, mode=0o777):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(linux.os, "open", refuse)
    with pytest.raises(linux.NoFreeLoopDevice, match="/dev/loop-control"):
        linux.Linux().attach_loop(3, read_only=True)
