"""--device: the host's node, by type and number, opens in the container although /dev
and the root are nodev; without it the container has no such node."""

import pytest

from .test_errors import assert_clean_failure

pytestmark = pytest.mark.property("nodev")


def test_a_device_opens_with_its_number(runtime):
    out = runtime.sh("stat -c '%F %t:%T' /dev/op-null && echo through > /dev/op-null && head -c 3 /dev/op-null | wc -c", options=("--device", "/dev/null:/dev/op-null"))
    assert (out.rc, out.stdout) == (0, "character special file 1:3\n0\n"), out.stderr
    zero = runtime.sh("head -c 4 /dev/op-zero | od -An -tx1", options=("--device", "/dev/zero:/dev/op-zero:rwm"))
    assert (zero.rc, zero.stdout.split()) == (0, ["00"] * 4), zero.stderr


def test_without_it_the_node_is_not_there_and_one_made_inside_does_not_open(runtime):
    control = runtime.sh("test -e /dev/op-null || echo none")
    assert control.stdout == "none\n"
    made = runtime.sh("mknod /dev/op-null c 1 3 && echo x > /dev/op-null", options=("--cap-add", "MKNOD"))
    assert made.rc != 0 and "Permission denied" in made.stderr  # nodev: only --device nodes open


@pytest.mark.parametrize(
    "spec, words",
    [("/dev/null:/dev/x:r", "only the permissions rwm"), ("/dev/op-none", "No such file or directory"), ("/etc/hostname", "is not a device node")],
)
def test_bad_devices(runtime, spec, words):
    assert_clean_failure(runtime.run("true", options=("--device", spec)), 64, words)
