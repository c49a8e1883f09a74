"""--group-add and --read-only-path in real containers."""

import pytest

from .test_errors import assert_clean_failure


@pytest.mark.property("process")
@pytest.mark.parametrize(
    "options, groups",
    [
        (("--group-add", "1234"), {"0", "1234"}),
        (("--user", "65534:65534", "--group-add", "1234,tty"), {"65534", "1234", "5"}),  # tty: the image's gid 5
    ],
)
def test_group_add(runtime, options, groups):
    out = runtime.run("id", "-G", options=options)
    assert out.rc == 0, out.stderr
    assert groups <= set(out.stdout.split()), out.stdout
    control = runtime.run("id", "-G", options=options[:2] if options[0] == "--user" else ())
    assert "1234" not in control.stdout.split()


def test_group_add_of_a_name_the_image_lacks(runtime):
    assert_clean_failure(runtime.run("true", options=("--group-add", "op-nogroup")), 87, "no group 'op-nogroup'")


@pytest.mark.property("masked")
def test_a_read_only_path_refuses_writes(runtime):
    out = runtime.sh("touch /etc/new", options=("--read-only-path", "/etc"))
    assert out.rc == 1 and "Read-only file system" in out.stderr, out.stderr
    control = runtime.sh("touch /etc/new")
    assert control.rc == 0, control.stderr


@pytest.mark.property("masked")
def test_a_read_only_volume_path_stays_nosuid(runtime, host, workdir):
    shared = host.check_output("mktemp -d %s/ro-path.XXXXXX", workdir)
    out = runtime.sh("grep ' /data ' /proc/self/mountinfo; touch /data/x", options=("-v", f"{shared}:/data", "--read-only-path", "/data"))
    assert out.rc == 1 and "Read-only file system" in out.stderr, out.stderr
    on_top = out.stdout.splitlines()[-1]  # the read-only bind, over the volume's own mount
    assert {"ro", "nosuid", "nodev"} <= set(on_top.split()[5].split(",")), out.stdout
