"""runtime.Image: an image kept attached and mounted between starts, by the process that
holds it, and nothing of it left once that process closes it or dies.

Each test holds an image copy of its own (a file no other container holds), so the
residue check after it proves the loop device and the mount freed themselves."""

import subprocess
import sys

import pytest

from runtime import api, errors
from runtime.errors import ContainerError

from .netns import wait_for

pytestmark = pytest.mark.property("image")

# The holder of the SIGKILL test: it holds the image, starts one container of it, says so
# and waits on its stdin.
HOLDER = (
    "import sys, runtime\n"
    "image = runtime.Image(sys.argv[1])\n"
    "result = runtime.run(image, ['true'])\n"
    "print('held' if result.status == 0 else result, flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def local(runtime):
    if not runtime.in_process:
        pytest.skip("runtime.Image is the Python API: it runs where the target's runtime is this package")


def attached(image):
    """The loop devices bound to image, from sysfs."""
    found = []
    for line in subprocess.run(["losetup", "-n", "-O", "NAME,BACK-FILE"], capture_output=True, text=True).stdout.splitlines():
        name, _, back = line.partition(" ")
        if back.strip() == image:
            found.append(name)
    return found


def test_a_held_image_stays_attached_between_starts_and_is_freed_on_close(local, variant_image):
    image = variant_image("held.img")
    with api.Image(image) as held:
        device = attached(image)
        assert len(device) == 1
        for _ in range(2):
            assert api.run(held, ["true"]).status == 0
            assert attached(image) == device  # no start attached one of its own, none freed it
    # The residue check after the test: the device and the mount are gone.


def test_a_container_never_sees_another_ones_writes(local, variant_image, names):
    image = variant_image("held-writes.img")
    with api.Image(image) as held:
        writer = api.Container(held, ["sh", "-c", "echo mine > /etc/written; exec sleep 1000"], name=names())
        with writer:
            assert writer.exec("cat", "/etc/written").stdout == "mine\n"  # the control: it did write
            assert api.run(held, ["cat", "/etc/written"]).status == 1  # a container at the same time
        assert api.run(held, ["cat", "/etc/written"]).status == 1  # and one after it


def test_a_held_image_cannot_be_run_rw_until_closed(local, variant_image):
    image = variant_image("held-rw.img")
    with api.Image(image):
        refused = api.run(image, ["true"], rw=True)
        assert refused.status == errors.IMAGE_BUSY and "in use" in refused.stderr
    # The loop device holds the image's open file, and with it the readers' lock, until
    # the kernel's rundown of it (a work item after close) is done: slow under TCG.
    wait_for(lambda: not attached(image), "the closed image's loop device to be freed")
    assert api.run(image, ["true"], rw=True).status == 0


def test_the_holder_killed_leaves_nothing(local, variant_image):
    image = variant_image("held-killed.img")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, image], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        assert len(attached(image)) == 1
    finally:
        holder.kill()
        holder.wait()
    # The residue check after the test: SIGKILL closed the descriptors, the kernel freed the rest.


# Each makes a bad image at PATH (shell, from the test image's copy IMAGE).
BAD = {
    "missing": (errors.IMAGE_MISSING, "true"),
    "not-ext4": (errors.IMAGE_NOT_EXT4, "head -c 65536 /dev/zero > PATH"),
    # The superblock's counts and geometry zeroed, its magic number kept: attached, then not mountable.
    "corrupt": (errors.IMAGE_CORRUPT, "cp IMAGE PATH && dd if=/dev/zero of=PATH bs=1 seek=1024 count=56 conv=notrunc 2>/dev/null"),
}


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_image_is_refused_as_run_refuses_it(local, runtime, workdir, host, kind):
    code, make = BAD[kind]
    path = f"{workdir}/{kind}.img"
    host.check_output(make.replace("IMAGE", runtime.target.image).replace("PATH", path))
    with pytest.raises(ContainerError) as raised:
        api.Image(path)
    assert raised.value.code == code and path in str(raised.value)
    assert api.run(path, ["true"]).status == code  # the same as a start of it
