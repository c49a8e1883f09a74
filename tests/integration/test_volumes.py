"""-v HOST:CONTAINER[:ro] and --tmpfs PATH[:SIZE] in real containers: round trips, read-only,
and targets the image made symlinks (they are refused, and nothing appears on the host)."""

import pytest

from runtime import errors

from .containers import OUR_TEST_DIRS

pytestmark = pytest.mark.property("volumes")


@pytest.fixture
def outside(host):
    """A host directory outside /tmp (which the staging tmpfs covers): what a symlink in
    the image points at."""
    path = host.check_output(f"mktemp -d /var/tmp/{OUR_TEST_DIRS}XXXXXX")
    yield path
    host.run("rm -rf %s", path)


@pytest.fixture
def shared(host, workdir):
    path = f"{workdir}/shared"
    host.check_output("rm -rf %s && mkdir %s && echo from-host > %s/in", path, path, path)
    return path


def test_a_volume_round_trip(runtime, host, shared):
    result = runtime.sh("cat /data/in && echo from-container > /data/out", options=("-v", f"{shared}:/data"))
    assert (result.rc, result.stdout.strip()) == (0, "from-host"), result.stderr
    assert host.check_output("cat %s/out", shared) == "from-container"


def test_a_read_only_volume_cannot_be_written(runtime, host, shared):
    result = runtime.sh("cat /data/in; echo x > /data/in", options=("-v", f"{shared}:/data:ro"))
    assert result.stdout.strip() == "from-host"
    assert result.rc != 0 and "Read-only file system" in result.stderr
    assert host.check_output("cat %s/in", shared) == "from-host"
    control = runtime.sh("echo x > /data/in", options=("-v", f"{shared}:/data"))
    assert control.rc == 0 and host.check_output("cat %s/in", shared) == "x"


def test_a_file_volume_and_its_flags(runtime, shared):
    result = runtime.sh("cat /etc/app.conf; grep ' /etc/app.conf ' /proc/mounts", options=("-v", f"{shared}/in:/etc/app.conf:ro"))
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "from-host", result.stderr
    options = lines[1].split()[3].split(",")
    assert {"ro", "nosuid", "nodev"} <= set(options)


def test_a_missing_host_path_is_refused_unless_create(runtime, host, workdir):
    missing = f"{workdir}/not-there"
    refused = runtime.run("true", options=("-v", f"{missing}:/data"))
    assert refused.rc == errors.VOLUME_ERROR
    assert refused.stderr.strip().splitlines() == [
        f"demo-runtime: --volume {missing}:/data: host path {missing}: No such file or directory (add ,create to make it)"
    ]
    assert host.run("test -e %s", missing).rc != 0
    made = runtime.sh("echo made > /data/f", options=("-v", f"{missing}:/data:create"))
    assert made.rc == 0 and host.check_output("cat %s/f", missing) == "made"


def test_tmpfs_with_a_size(runtime):
    result = runtime.sh("grep ' /scratch ' /proc/mounts; df -k /scratch | tail -n1", options=("--tmpfs", "/scratch:1m"))
    mount, df = result.stdout.strip().splitlines()
    assert mount.split()[2] == "tmpfs" and {"nosuid", "nodev"} <= set(mount.split()[3].split(","))
    assert df.split()[1] == "1024"


@pytest.mark.parametrize("inside", ["/data", "/through/inner"])
def test_a_target_that_is_a_symlink_in_the_image_is_refused(runtime, host, variant_image, outside, shared, inside):
    image = variant_image("symlinks.img")
    for name in ("/data", "/through"):
        host.check_output("debugfs -w -R %s %s", f"symlink {name} {outside}", image)
    result = runtime.run("true", options=("-v", f"{shared}:{inside}"), image=image)
    assert result.rc == errors.VOLUME_ERROR
    assert result.stderr.strip().splitlines() == [
        f"demo-runtime: --volume {shared}:{inside}: {inside} is a symlink in the image, or goes through one"
    ]
    assert host.check_output("ls -A %s", outside) == ""  # (and the residue check: no host mount)


def test_tmpfs_takes_dockers_options(runtime):
    out = runtime.sh(
        "stat -c %a /run; grep ' /run ' /proc/self/mountinfo | cut -d' ' -f6; printf '#!/bin/sh\\n' > /run/x; chmod +x /run/x; /run/x",
        options=("--tmpfs", "/run:rw,noexec,size=1m,mode=755"),
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "755" and {"noexec", "nosuid", "nodev"} <= set(lines[1].split(",")), out.stdout
    assert out.rc == 126 and "Permission denied" in out.stderr  # noexec holds
    control = runtime.sh("printf '#!/bin/sh\\n' > /run/x; chmod +x /run/x; /run/x", options=("--tmpfs", "/run"))
    assert control.rc == 0, control.stderr


def test_a_noexec_volume_refuses_to_execute(runtime, shared):
    run = "printf '#!/bin/sh\\necho ran\\n' > /data/x; chmod +x /data/x; /data/x"
    out = runtime.sh(run, options=("-v", f"{shared}:/data:noexec"))
    assert out.rc == 126 and "Permission denied" in out.stderr, out
    control = runtime.sh(run, options=("-v", f"{shared}:/data"))
    assert (control.rc, control.stdout) == (0, "ran\n"), control.stderr


def test_a_volume_at_dev_shm_covers_devs_own(runtime, host, shared):
    # podman's /dev/shm: a tmpfs it mounted on the host, bound in. Volumes mount after dev.
    out = runtime.sh("cat /dev/shm/in; echo shared > /dev/shm/out; grep -c ' /dev/shm ' /proc/mounts", options=("-v", f"{shared}:/dev/shm"))
    assert out.rc == 0, out.stderr
    assert out.stdout.splitlines() == ["from-host", "2"]  # the volume, over dev's shm tmpfs
    assert host.check_output("cat %s/out", shared) == "shared"
