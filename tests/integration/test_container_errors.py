"""Bad input to the container subcommands: one line, a documented exit status, nothing left."""

import shlex

import pytest

from .containers import STATE_ROOT
from .test_errors import assert_clean_failure

pytestmark = [
    pytest.mark.property("errors"),
    pytest.mark.new_process("bad input must give one line and its exit status from the command, no traceback"),
    pytest.mark.kernel_independent("the container commands' checks of names, states and state files"),
]

NO_SUCH, IN_USE, WRONG_STATE, UNREADABLE = 71, 72, 73, 74


@pytest.mark.parametrize(
    "argv",
    [["exec", "{}", "true"], ["stop", "{}"], ["kill", "{}"], ["rm", "{}"], ["rm", "-f", "{}"], ["logs", "{}"], ["inspect", "{}"]],
    ids=lambda argv: argv[0] + ("-f" if "-f" in argv else ""),
)
def test_unknown_name(runtime, names, argv):
    name = names()
    assert_clean_failure(runtime.cli(*[a.format(name) for a in argv]), NO_SUCH, f"no such container: {name}")


@pytest.mark.parametrize("bad", ["../etc", "-x", "a b", "x" * 65, ""])
def test_invalid_name(runtime, bad):
    assert_clean_failure(runtime.cli("run", "-d", "--name", bad, runtime.target.image), 64, "invalid container name")


def test_name_in_use(runtime, names):
    name = runtime.start(names())
    out = runtime.cli("run", "-d", "--name", name, runtime.target.image, "true")
    assert_clean_failure(out, IN_USE, "already in use")
    assert runtime.state(name)["status"] == "running"  # the first one is untouched


def test_exec_into_a_stopped_container(runtime, names):
    name = runtime.start(names(), "true")
    runtime.cli("logs", "-f", name)  # returns once it has exited
    assert_clean_failure(runtime.cli("exec", name, "true"), WRONG_STATE, "is not running (exited (0))")


def test_stop_of_an_exited_container(runtime, names):
    name = runtime.start(names(), "true")
    runtime.cli("logs", "-f", name)
    assert_clean_failure(runtime.cli("stop", name), WRONG_STATE, "is not running")


def test_rm_of_a_running_container_without_f(runtime, names):
    name = runtime.start(names())
    assert_clean_failure(runtime.cli("rm", name), WRONG_STATE, "rm -f")
    assert runtime.state(name)["status"] == "running"


def test_detach_with_tty(runtime):
    assert_clean_failure(runtime.cli("run", "-d", "-t", runtime.target.image), 64, "exclude each other")


def test_failed_detached_start_leaves_no_state(runtime, names):
    name = names()
    assert_clean_failure(runtime.cli("run", "-d", "--name", name, runtime.target.image, "no-such-command"), 127, "command not found")
    assert runtime.state(name) is None


@pytest.mark.parametrize(
    "content, words",
    [("{not json", "unreadable state"), ('{"version": 99, "name": "x", "image": "i", "command": [], "status": "exited"}', "format version 99")],
    ids=["corrupt", "newer"],
)
def test_unreadable_state(runtime, host, names, content, words):
    name = runtime.start(names(), "true")
    runtime.cli("logs", "-f", name)
    host.check_output("printf %s %s > %s/%s/state.json", "%s", content, STATE_ROOT, name)
    for argv in (["inspect", name], ["exec", name, "true"], ["stop", name], ["rm", name]):
        assert_clean_failure(runtime.cli(*argv), UNREADABLE, words)
    ps = runtime.cli("ps", "-a")
    assert ps.rc == UNREADABLE and words in ps.stderr and ps.stdout.startswith("NAME")
    assert runtime.cli("rm", "-f", name).rc == 0  # -f removes it: no supervisor is in charge
    assert host.run("test -e %s/%s", STATE_ROOT, name).rc != 0


def test_run_not_writable(runtime, host, names):
    line = shlex.join(runtime.target.run_argv(["run", "-d", "--name", names(), runtime.target.image]))
    out = host.run(f"unshare -m sh -c 'mount -t tmpfs -o ro tmpfs /run && exec {line}'")
    assert_clean_failure(out, UNREADABLE, "cannot write container state")


def test_two_rm_f_at_once(runtime, host, names):
    name = runtime.start(names())
    rm = shlex.join(runtime.target.run_argv(["rm", "-f", name]))
    out = host.run(f"{rm} 2>&1 & {rm} 2>&1; echo rc=$?; wait $!; echo rc=$?")
    lines = out.stdout.splitlines()
    codes = sorted(line for line in lines if line.startswith("rc="))
    # One removes it; the other finds it gone (or, if it was quicker to look, removes it first).
    assert codes in (["rc=0", "rc=71"], ["rc=0", "rc=0"]), lines
    errors = [line for line in lines if line.startswith("demo-runtime:")]
    assert errors in ([], [f"demo-runtime: no such container: {name}"]), lines
    assert runtime.state(name) is None and host.run("test -e %s/%s", STATE_ROOT, name).rc != 0
