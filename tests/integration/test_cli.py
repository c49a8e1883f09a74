import shlex

import pytest

pytestmark = [
    pytest.mark.property("cli"),
    pytest.mark.new_process("the command line itself: its help, usage forms and launchers"),
    pytest.mark.kernel_independent("argument parsing and the command's help and launchers"),
]


def test_help_explains_every_option_and_exit_status(runtime, host):
    out = host.run(f"{runtime.target.runtime} --help")
    assert out.rc == 0
    for word in ("usage: demo-runtime", "commands:", "  run ", "--hostname", "--rw", "--disable", "--plugin", "--env", "--tty", "127"):
        assert word in out.stdout


def test_seed_usage_runs_a_command(runtime):
    out = runtime.run("/bin/echo", "seed", "usage")
    assert (out.rc, out.stdout) == (0, "seed usage\n")


def test_run_subcommand_is_the_seed_usage(runtime, host):
    argv = runtime.target.run_argv(["run", "--hostname", "named", runtime.target.image, "/bin/hostname"])
    out = host.run(shlex.join(argv))
    assert (out.rc, out.stdout) == (0, "named\n")


def test_python_dash_m_runtime(runtime, host):
    # The interpreter the console script runs with: its #! line.
    python = host.check_output("head -1 $(command -v %s)", runtime.target.runtime.split()[0])[2:]
    out = host.run("%s -m runtime %s /bin/echo ok", python, runtime.target.image)
    assert (out.rc, out.stdout) == (0, "ok\n")


def test_list_plugins_in_order(runtime, host):
    out = host.check_output(f"{runtime.target.runtime} --list-plugins")
    names = [line.split()[0] for line in out.splitlines()]
    assert names[:6] == ["mount", "mount-image", "rootfs", "proc", "sys", "dev"]
    # The root is entered only once everything in it is resolved, mounted and masked.
    assert names.index("clean-mounts") > max(names.index(n) for n in ("uts", "net", "masked-paths", "cgroup"))
    assert {"pid", "ipc", "uts", "net"} <= set(names)


@pytest.mark.parametrize("command", ["{runtime} rm no-such-container", "{runtime}-oci state no-such-container"], ids=["demo-runtime", "demo-runtime-oci"])
def test_an_error_line_leaves_in_one_write(runtime, host, workdir, command):
    # Two commands at once on one stderr (two `rm -f`, a shell's echo) must not interleave
    # inside a line. PYTHONUNBUFFERED makes stderr write-through: print's text and its
    # newline were two write(2)s.
    trace = f"{workdir}/writes"
    command = command.format(runtime=runtime.target.runtime)
    out = host.run(f"PYTHONUNBUFFERED=1 strace -f -qq -e trace=write -e signal=none -s 500 -o {trace} {command}")
    assert out.rc != 0 and "no-such-container" in out.stderr, out.stderr
    writes = [line for line in host.file(trace).content_string.splitlines() if 'write(2, "' in line]
    assert writes and all(line.split('"')[1].endswith("\\n") for line in writes), writes
