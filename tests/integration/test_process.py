import pytest

from .netns import wait_for

pytestmark = pytest.mark.property("process")


@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_exit_status_is_the_commands(runtime, host, code):
    # Read on the target itself: over ssh, 255 would mean ssh's own failure.
    line = runtime.line("/bin/sh", "-c", f"exit {code}")
    assert host.check_output(f"{line}; echo $?") == str(code)


# Until the runtime's child (the container's init) has exec'd `sleep` (an event, not
# a second's sleep: under load a start takes longer); exit 1 if the runtime ended first.
STARTED = "until c=$(pgrep -P $r -x sleep); do kill -0 $r || exit 1; sleep 0.05; done"


def test_killed_by_a_signal_gives_128_plus_n(runtime, host):
    argv = runtime.line("sleep", "1002")
    out = host.check_output(f"{argv} & r=$!; {STARTED}; kill -KILL $c; wait $r; echo $?")
    assert out.strip() == "137"


@pytest.mark.parametrize("signal", ["INT", "TERM", "HUP", "QUIT", "USR1", "USR2"])
def test_signals_to_the_runtime_reach_the_container(runtime, host, workdir, signal):
    script = f'trap "echo got {signal}; exit 3" {signal}; echo ready; while :; do sleep 0.05; done'
    argv = runtime.line("/bin/sh", "-c", script)
    log = f"{workdir}/signal-{signal}.log"  # its own: a stale "ready" would start the kill early
    out = host.check_output(
        f"{argv} >{log} & r=$!; "
        f"until grep -q ready {log}; do sleep 0.05; done; "
        f"kill -{signal} $r; wait $r; echo rc=$?; cat {log}"
    )
    assert f"got {signal}" in out
    assert "rc=3" in out


def test_sigkill_of_the_runtime_takes_the_container_along(runtime, host):
    argv = runtime.line("sleep", "1001")
    host.check_output(f"{argv} & r=$!; {STARTED}; kill -KILL $r; wait $r; true")

    def gone():  # zombies aside (the host's init reaps them)
        return not [p for p in host.check_output("ps -eo stat=,args=").splitlines() if "sleep 1001" in p and not p.startswith("Z")]

    wait_for(gone, "the container's sleep 1001 to end with its runtime")


def test_stdin_is_passed_through(runtime):
    out = runtime.run("cat", stdin="hello from stdin\n")
    assert out.rc == 0
    assert out.stdout == "hello from stdin\n"


def test_large_stdin_streams(runtime, host):
    argv = runtime.line("wc", "-c")
    assert host.check_output(f"head -c 3000000 /dev/zero | {argv}").strip() == "3000000"


def test_stdout_and_stderr_stay_apart(runtime):
    out = runtime.sh("echo out; echo err >&2")
    assert (out.stdout, out.stderr) == ("out\n", "err\n")


def test_environment_is_clean_and_settable(runtime):
    out = runtime.run("env", options=("-e", "GREETING=hi"))
    env = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert env["GREETING"] == "hi"
    assert env["PATH"].startswith("/usr/local/sbin")
    assert "SUDO_USER" not in env and "SSH_CONNECTION" not in env


def test_descriptors_the_caller_left_open_do_not_reach_the_container(runtime, host):
    # fd 4 is a directory of the host: through it, fchdir would leave the new root.
    line = runtime.line("ls", "/proc/self/fd")
    out = host.check_output(f"{line} 3</etc/hostname 4</")
    # ls itself holds one descriptor for the directory it lists.
    assert out.split() == ["0", "1", "2", "3"]
