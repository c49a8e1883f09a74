"""Bad input: one clear line on stderr, its own exit status, no traceback, nothing left behind
(the autouse no_residue fixture checks the last part after every test)."""

import pytest

pytestmark = [
    pytest.mark.property("errors"),
    pytest.mark.new_process("bad input must give one line and its exit status from the command, no traceback"),
]


# Refused by the command line's own checks, before the kernel is asked anything that
# differs between kernels: the VM lab leaves these to the local stage.
CHECKED_BEFORE_THE_KERNEL = pytest.mark.kernel_independent(
    "bad input refused by the runtime's own checks (options, plugins, profile shape, image file, command name)"
)


def assert_clean_failure(out, code, words):
    assert out.rc == code, (out.rc, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("demo-runtime: ") and words in lines[0], lines[0]
    assert "Traceback" not in out.stderr


@CHECKED_BEFORE_THE_KERNEL
def test_missing_image(runtime, workdir):
    assert_clean_failure(runtime.run("true", image=f"{workdir}/nothing.img"), 66, "No such file")


@CHECKED_BEFORE_THE_KERNEL
def test_image_is_not_a_regular_file(runtime):
    # (A directory is a root of its own: test_rootfs.py.)
    assert_clean_failure(runtime.run("true", image="/dev/null"), 67, "not a regular file")


@CHECKED_BEFORE_THE_KERNEL
def test_image_is_not_ext4(runtime, host, workdir):
    host.check_output("head -c 1048576 /dev/urandom > %s/random.img", workdir)
    assert_clean_failure(runtime.run("true", image=f"{workdir}/random.img"), 65, "not an ext2/3/4 filesystem")


def test_image_is_corrupt(runtime, host, variant_image):
    image = variant_image("corrupt.img")
    # Zero the superblock's counts and geometry but keep its magic number.
    host.check_output("dd if=/dev/zero of=%s bs=1 seek=1024 count=56 conv=notrunc 2>/dev/null", image)
    assert_clean_failure(runtime.run("true", image=image), 68, "cannot be mounted")


def test_not_root(runtime, host):
    line = runtime.line("true")
    out = host.run(f"setpriv --reuid=65534 --regid=65534 --clear-groups {line}")
    assert_clean_failure(out, 77, "must run as root")


def test_no_free_loop_device(runtime, host):
    # A private mount namespace where loop-control hands out nothing.
    line = runtime.line("true")
    out = host.run(f"unshare -m sh -c 'mount --bind /dev/null /dev/loop-control && exec {line}'")
    assert_clean_failure(out, 69, "loop device")


@CHECKED_BEFORE_THE_KERNEL
def test_command_not_found(runtime):
    assert_clean_failure(runtime.run("no-such-command"), 127, "command not found")


def test_command_not_executable(runtime):
    assert_clean_failure(runtime.run("/etc/hostname"), 126, "cannot execute")


@CHECKED_BEFORE_THE_KERNEL
def test_unknown_option(runtime):
    assert_clean_failure(runtime.run("true", options=("--no-such-option",)), 64, "unknown option")


@CHECKED_BEFORE_THE_KERNEL
def test_unknown_plugin(runtime):
    assert_clean_failure(runtime.run("true", options=("--disable", "warp-drive")), 64, "unknown plugin")


@CHECKED_BEFORE_THE_KERNEL
def test_required_plugin_disabled(runtime):
    assert_clean_failure(runtime.run("true", options=("--disable", "mount-image")), 64, "proc needs mount-image")


def test_limit_whose_controller_no_hierarchy_has(runtime, host):
    # A hybrid host's v1 pids hierarchy, unmounted in a private mount namespace: pids is
    # then on no mounted hierarchy (the unified one cannot offer a controller v1 holds).
    pids = host.check_output("findmnt -rn -t cgroup -o TARGET,FS-OPTIONS | awk '$2 ~ /(^|,)pids(,|$)/ {print $1}'")
    if not pids:
        pytest.skip("no cgroup v1 pids hierarchy on this host (cgroup v2 offers every controller itself)")
    line = runtime.line("true", options=("--pids-limit", "10"))
    out = host.run(f"unshare -m sh -c 'umount {pids} && exec {line}'")
    assert_clean_failure(out, 64, "no cgroup hierarchy here has the pids controller")


@CHECKED_BEFORE_THE_KERNEL
@pytest.mark.parametrize(
    "profile, words",
    [
        ("{}", "defaultAction: missing"),
        ('{"foo": 1}', "unknown key 'foo'"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [1], "action": "SCMP_ACT_ERRNO"}]}', "not a list of strings"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]}', "no such system call"),
    ],
)
def test_malformed_seccomp_profile(runtime, host, workdir, profile, words):
    # Before the shape check, `{}` compiled to a filter that killed the setup: exit 139, silent.
    path = f"{workdir}/profile.json"
    host.check_output("printf %s %s > %s", "%s", profile, path)
    assert_clean_failure(runtime.run("true", options=("--seccomp", path)), 64, words)


# Names that are not UTF-8: the shell puts the byte 0xff where a word has BYTE (testinfra
# sends commands as text); messages show it as \xff.
BYTE = "@BYTE@"


def with_byte(line):
    return line.replace(BYTE, "\"$(printf '\\377')\"")


def test_image_at_a_path_that_is_not_utf8(runtime, host, workdir):
    image = f"{workdir}/image{BYTE}.img"
    copied = host.run(with_byte(f"cp {runtime.target.image} {image}"))
    assert copied.rc == 0, copied.stderr
    try:
        out = host.run(with_byte(runtime.line("/bin/sh", "-c", "echo ran in $(hostname)", image=image)))
        assert out.rc == 0 and out.stdout.startswith("ran in "), (out.rc, out.stderr)
        missing = host.run(with_byte(runtime.line("true", image=f"{workdir}/missing{BYTE}.img")))
        assert_clean_failure(missing, 66, f"{workdir}/missing\\xff.img: No such file")
    finally:
        host.run(with_byte(f"rm -f {image}"))


@CHECKED_BEFORE_THE_KERNEL
def test_missing_command_whose_name_is_not_utf8(runtime, host):
    out = host.run(with_byte(runtime.line(f"no-such{BYTE}command")))
    assert_clean_failure(out, 127, "command not found in the image: no-such\\xffcommand")


@CHECKED_BEFORE_THE_KERNEL
def test_empty_command(runtime):
    assert_clean_failure(runtime.run(""), 127, "command not found in the image: (an empty name)")


@CHECKED_BEFORE_THE_KERNEL
def test_memory_limit_beyond_the_kernels_counter(runtime):
    # The kernel counts pages up to LONG_MAX bytes: more would wrap or mean no limit.
    out = runtime.run("true", options=("--memory", "99999999999g"))
    assert_clean_failure(out, 64, "--memory: '99999999999g' is above the kernel's largest limit")
