"""Detached and named containers: run -d, ps, logs, stop, kill, rm, inspect, --rm."""

import json
import shlex

import pytest

from .netns import wait_for

pytestmark = pytest.mark.property("detached")


def rows(runtime, *options):
    """ps's rows as {name: (pid, status)}."""
    out = runtime.cli("ps", *options)
    assert out.rc == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "PID", "STATUS", "IMAGE", "CREATED", "COMMAND"]
    found = {}
    for line in lines[1:]:
        name, pid, rest = line.split(None, 2)
        found[name] = (pid, rest.split("  ")[0])
    return found


def test_run_d_returns_once_pid_1_runs_and_ps_lists_it(runtime, host, names):
    name = runtime.start(names())
    state = runtime.state(name)
    assert state["status"] == "running"
    assert host.check_output("cat /proc/%s/cmdline | tr '\\0' ' '", str(state["pid"])).strip() == "sleep 1000"
    assert rows(runtime)[name] == (str(state["pid"]), "running")


def test_run_d_makes_up_a_name(runtime, host):
    out = runtime.cli("run", "-d", "--rm", runtime.target.image, "true")
    assert out.rc == 0 and out.stdout.startswith("dr-"), out.stderr
    # --rm: gone once it has exited (stop waits for that, or it is already gone).
    runtime.cli("stop", out.stdout.strip())
    assert runtime.state(out.stdout.strip()) is None


def test_logs_hold_stdout_and_stderr(runtime, names):
    name = runtime.start(names(), "/bin/sh", "-c", "echo to-out; echo to-err >&2")
    assert runtime.cli("logs", "-f", name).stdout == "to-out\nto-err\n"  # -f: until it exits
    assert runtime.cli("logs", name).stdout == "to-out\nto-err\n"


def test_logs_follow_sees_what_comes_later(runtime, host, names, workdir):
    name = runtime.start(names(), "/bin/sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second")
    follow = shlex.join(runtime.target.run_argv(["logs", "-f", name]))
    go = shlex.join(runtime.target.run_argv(["exec", name, "touch", "/tmp/go"]))
    # `second` is written only after logs -f has printed `first`.
    out = host.run(
        f"{follow} > {workdir}/{name}.out & p=$!; for i in $(seq 300); do grep -q first {workdir}/{name}.out && break; done;"
        f"{go}; wait $p; cat {workdir}/{name}.out"
    )
    assert out.stdout == "first\nsecond\n"


def trapping(runtime, name, signal, code):
    """A container whose shell exits with code on signal, once its trap is set: before,
    the signal would find PID 1 without a handler, and the kernel drops it."""
    runtime.start(name, "/bin/sh", "-c", f"trap 'exit {code}' {signal}; echo trapped; while :; do sleep 3600 & wait $!; done")
    wait_for(lambda: runtime.cli("logs", name).stdout == "trapped\n", f"{name}'s {signal} trap")
    return name


def test_stop_sends_term_and_records_the_exit(runtime, names):
    name = trapping(runtime, names(), "TERM", 42)
    out = runtime.cli("stop", name)
    assert (out.rc, out.stdout) == (0, f"{name}\n"), out.stderr
    state = runtime.state(name)
    assert (state["status"], state["exit_code"]) == ("exited", 42)
    assert rows(runtime, "-a")[name] == ("-", "exited (42)")
    assert name not in rows(runtime)


def test_stop_kills_what_ignores_term(runtime, names):
    name = runtime.start(names())  # sleep as PID 1 ignores SIGTERM
    assert runtime.cli("stop", "-t", "0.2", name).rc == 0
    assert runtime.state(name)["exit_code"] == 128 + 9


def test_kill_sends_the_signal(runtime, names):
    name = trapping(runtime, names(), "USR1", 7)
    assert runtime.cli("kill", "-s", "USR1", name).rc == 0
    runtime.cli("stop", name)  # waits for the exit it already has
    assert runtime.state(name)["exit_code"] == 7


def test_rm_removes_an_exited_container_and_rm_f_a_running_one(runtime, host, names):
    exited = runtime.start(names(), "true")
    runtime.cli("logs", "-f", exited)  # returns once it has exited
    running = runtime.start(names())
    out = runtime.cli("rm", exited)
    assert (out.rc, out.stdout) == (0, f"{exited}\n"), out.stderr
    assert runtime.cli("rm", "-f", running).rc == 0
    assert runtime.state(exited) is None and runtime.state(running) is None


def test_inspect_is_json(runtime, names):
    name = runtime.start(names(), options=("--hostname", "looked-at"))
    out = runtime.cli("inspect", name)
    (record,) = json.loads(out.stdout)
    assert (record["name"], record["status"], record["command"]) == (name, "running", ["sleep", "1000"])
    assert record["options"]["hostname"] == "looked-at"


def test_a_named_foreground_container_can_be_entered(runtime, host, names):
    name = names()
    run = shlex.join(runtime.target.run_argv(["run", "--name", name, runtime.target.image, "/bin/sh", "-c", "while [ ! -e /tmp/done ]; do sleep 0.05; done; exit 3"]))
    enter = shlex.join(runtime.target.run_argv(["exec", name, "touch", "/tmp/done"]))
    out = host.run(f"{run} & p=$!; for i in $(seq 300); do {enter} 2>/dev/null && break; done; wait $p; echo $?")
    assert out.stdout.strip() == "3"
    assert (runtime.state(name)["status"], runtime.state(name)["exit_code"]) == ("exited", 3)


def test_rm_flag_removes_the_state_when_it_exits(runtime, names):
    name = runtime.start(names(), options=("--rm",))
    assert runtime.cli("stop", "-t", "0", name).rc == 0
    assert runtime.state(name) is None
