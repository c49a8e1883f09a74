"""The image checks in the parent, on real files, with the loop device faked."""

import errno
import os

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.linux import NoFreeLoopDevice
from runtime.plugin import Context
from runtime.plugins.mount_image import MountImage

from .fake_linux import FakeLinux
from .test_plugins import options


def ext4_like(path):
    with open(path, "wb") as f:
        f.write(b"\0" * (1024 + 0x38) + b"\x53\xef" + b"\0" * 4096)
    return str(path)


def prepare(image, fake=None, **option_values):
    plugin = MountImage()
    ctx = Context(str(image), ["true"], options(**option_values), fake or FakeLinux())
    try:
        plugin.prepare(ctx)
    finally:
        state = (plugin.image_fd, plugin.loop_fd, plugin.loop_device)
        plugin.teardown(ctx)
    return ctx, state


@pytest.mark.parametrize(
    "make, code",
    [
        (lambda p: p / "missing.img", errors.IMAGE_MISSING),
        (lambda p: p, errors.IMAGE_NOT_FILE),
        (lambda p: (p / "zero.img").write_bytes(b"\0" * 4096) and p / "zero.img", errors.IMAGE_NOT_EXT4),
        (lambda p: (p / "short.img").write_bytes(b"x") and p / "short.img", errors.IMAGE_NOT_EXT4),
    ],
)
def test_bad_images(tmp_path, make, code):
    with pytest.raises(ContainerError) as raised:
        prepare(make(tmp_path))
    assert raised.value.code == code


def loop_calls(fake):
    return [call[0] for call in fake.calls if "loop" in call[0]]


def test_the_first_reader_attaches_read_only_under_the_lock_after_looking_again(tmp_path):
    fake = FakeLinux()
    ctx, (_, _, device) = prepare(ext4_like(tmp_path / "ok.img"), fake)
    assert loop_calls(fake) == ["shared_loop", "lock_loop_attach", "shared_loop", "attach_loop"]
    assert fake.named("attach_loop") == [(True, ctx.image)]
    assert device == "/dev/loop7"


def test_a_reader_shares_an_attached_device_without_the_lock(tmp_path):
    fake = FakeLinux()
    fake.shared_loops = ["/dev/loop3"]
    _, (_, _, device) = prepare(ext4_like(tmp_path / "ok.img"), fake)
    assert loop_calls(fake) == ["shared_loop"]
    assert device == "/dev/loop3"


def test_a_device_attached_while_we_waited_for_the_lock_is_shared(tmp_path):
    fake = FakeLinux()
    fake.shared_loops = [None, "/dev/loop3"]
    _, (_, _, device) = prepare(ext4_like(tmp_path / "ok.img"), fake)
    assert loop_calls(fake) == ["shared_loop", "lock_loop_attach", "shared_loop"]
    assert device == "/dev/loop3"


def test_a_writer_never_shares(tmp_path):
    fake = FakeLinux()
    fake.shared_loops = ["/dev/loop3"]
    ctx, (_, _, device) = prepare(ext4_like(tmp_path / "ok.img"), fake, rw=True)
    assert loop_calls(fake) == ["lock_loop_attach", "attach_loop"]
    assert fake.named("attach_loop") == [(False, ctx.image)]
    assert device == "/dev/loop7"


def test_the_lock_is_let_go_when_attaching_fails(tmp_path):
    fake = FakeLinux(fail={"attach_loop": NoFreeLoopDevice(16, "no free loop device: busy")})
    taken = []
    lock = fake.lock_loop_attach
    fake.lock_loop_attach = lambda: taken.append(lock()) or taken[-1]
    with pytest.raises(ContainerError):
        prepare(ext4_like(tmp_path / "ok.img"), fake)
    assert len(taken) == 1 and (taken[0],) in fake.named("close")


def test_no_loop_device(tmp_path):
    fake = FakeLinux(fail={"attach_loop": NoFreeLoopDevice(16, "no free loop device: busy")})
    with pytest.raises(ContainerError) as raised:
        prepare(ext4_like(tmp_path / "ok.img"), fake)
    assert raised.value.code == errors.NO_LOOP_DEVICE


def test_a_writer_excludes_others_and_is_excluded(tmp_path):
    image = ext4_like(tmp_path / "ok.img")
    holder = MountImage()
    holder_ctx = Context(image, ["true"], options(rw=True), FakeLinux())
    holder.prepare(holder_ctx)
    try:
        for rw in (True, False):
            with pytest.raises(ContainerError) as raised:
                prepare(image, rw=rw)
            assert raised.value.code == errors.IMAGE_BUSY
    finally:
        holder.teardown(holder_ctx)
    prepare(image, rw=True)  # free again


def test_teardown_closes_what_prepare_opened(tmp_path):
    _, (image_fd, _, _) = prepare(ext4_like(tmp_path / "ok.img"))
    with pytest.raises(OSError):
        os.fstat(image_fd)


@pytest.mark.parametrize("failure, code", [(errno.EUCLEAN, errors.IMAGE_CORRUPT), (errno.ENOSYS, None)])
def test_a_hold_mounts_the_device_read_only_detached_and_names_a_corrupt_image(tmp_path, failure, code):
    image = ext4_like(tmp_path / "ok.img")
    plugin, ctx = MountImage(), Context(image, [], options(), FakeLinux())
    plugin.prepare(ctx)
    try:
        os.close(plugin.hold(ctx))
        assert ctx.linux.named("detached_mount") == [("/dev/loop7", "ext4", ("noload",))]
        kernel = ctx.linux.fail["detached_mount"] = OSError(failure, os.strerror(failure))
        with pytest.raises((OSError, ContainerError)) as raised:
            plugin.hold(ctx)
    finally:
        plugin.teardown(ctx)
    if code is None:  # not the image's fault: the kernel's error as it is, its context kept
        assert raised.value is kernel and not kernel.__suppress_context__
    else:
        assert raised.value.code == code and image in str(raised.value)
