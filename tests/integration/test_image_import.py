"""A docker-archive made by podman (`podman import` of a rootfs tarball, `podman save`),
imported with `demo-runtime image import` and run with its own Entrypoint, Cmd, Env,
WorkingDir and User, and with the options that override them."""

import shlex

import pytest

from runtime import errors

from .containers import OUR_TEST_DIRS

pytestmark = pytest.mark.property("image import")

APP_UID = 1234
CHANGES = (
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["echo $GREETING from $(pwd) as $(id -un)"]',
    "ENV GREETING=hello",
    "WORKDIR /srv/app",
    "USER app",
)


@pytest.fixture(scope="module")
def app_image(host, target):
    """app.img from podman's docker-archive of the test image's files plus a user `app`."""
    work = host.check_output(f"mktemp -d /var/tmp/{OUR_TEST_DIRS}XXXXXX")
    podman = f"podman --root {work}/storage --runroot {work}/run --storage-driver vfs --events-backend none"
    changes = " ".join(f"--change {shlex.quote(c)}" for c in CHANGES)
    host.check_output(
        f"set -e; cd {work}; mkdir rootfs; debugfs -R 'rdump / {work}/rootfs' {shlex.quote(target.image)} 2>/dev/null;"
        f"echo 'app:x:{APP_UID}:{APP_UID}:app:/home/app:/bin/sh' >> rootfs/etc/passwd;"
        f"echo 'app:x:{APP_UID}:' >> rootfs/etc/group; echo 'audio:x:29:app' >> rootfs/etc/group;"
        "tar -C rootfs -cf rootfs.tar . && rm -rf rootfs;"
        f"{podman} import {changes} rootfs.tar localhost/demo-runtime-test:1 >/dev/null;"
        f"{podman} save --format docker-archive -o app.tar localhost/demo-runtime-test:1 2>/dev/null;"
        f"{podman} save --format oci-dir -o app.oci localhost/demo-runtime-test:1 2>/dev/null;"
        f"{podman} rmi -a -f >/dev/null; rm -rf storage run rootfs.tar"
    )
    line = shlex.join(target.run_argv(["image", "import", f"{work}/app.tar", "-o", f"{work}/app.img"]))
    imported = host.run(line)
    assert imported.rc == 0, imported.stderr
    yield f"{work}/app.img"
    host.run("rm -rf %s", work)


def test_podmans_oci_layout_directory_gives_the_same_image(runtime, host, target, app_image):
    oci = app_image.replace("app.img", "oci.img")
    imported = host.run(shlex.join(target.run_argv(["image", "import", app_image.replace("app.img", "app.oci"), "-o", oci])))
    assert imported.rc == 0, imported.stderr
    assert host.check_output("cat %s.json", oci) == host.check_output("cat %s.json", app_image)
    result = run(runtime, oci)
    assert (result.rc, result.stdout.strip()) == (0, "hello from /srv/app as app"), result.stderr


def run(runtime, image, *command, options=()):
    return runtime.run(*command, options=options, image=image)


def test_the_images_entrypoint_cmd_env_workdir_and_user(runtime, app_image):
    result = run(runtime, app_image)
    assert (result.rc, result.stdout.strip()) == (0, "hello from /srv/app as app"), result.stderr


def test_arguments_replace_cmd_but_keep_the_entrypoint(runtime, app_image):
    result = run(runtime, app_image, "echo $GREETING; id -u; id -G; echo $HOME")
    assert result.stdout.split() == ["hello", str(APP_UID), str(APP_UID), "29", "/home/app"], result.stderr


def test_a_non_root_user_has_no_capabilities(runtime, app_image):
    as_app = run(runtime, app_image, "grep -E '^Cap(Eff|Prm)' /proc/self/status")
    as_root = run(runtime, app_image, "grep -E '^CapEff' /proc/self/status", options=("--user", "root"))
    assert as_app.stdout.split() == ["CapPrm:", "0000000000000000", "CapEff:", "0000000000000000"], as_app.stderr
    assert as_root.stdout.split()[1] != "0000000000000000"  # the control: root keeps its set


def test_entrypoint_user_workdir_and_env_override_the_image(runtime, app_image, host, workdir):
    env_file = f"{workdir}/vars"
    host.check_output("printf 'GREETING=from the file\\nOTHER=2\\n' > %s", env_file)
    options = ("--entrypoint", "/bin/sh", "--user", "0:29", "--workdir", "/made/here", "--env-file", env_file, "-e", "OTHER=3")
    result = run(runtime, app_image, "-c", 'echo "$GREETING|$OTHER|$(pwd)|$(id -u):$(id -g)"', options=options)
    assert result.stdout.strip() == "from the file|3|/made/here|0:29", result.stderr


def test_an_unknown_user_is_one_line_and_its_code(runtime, app_image):
    result = run(runtime, app_image, options=("--user", "nosuchuser"))
    assert result.rc == errors.USER_UNKNOWN
    assert result.stderr.strip().splitlines() == ["demo-runtime: --user nosuchuser: no user 'nosuchuser' in the image's /etc/passwd"]
