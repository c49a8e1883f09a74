"""Run demo-runtime on a target, and commands inside its containers through testinfra."""

import json
import os
import shlex
import sys
import uuid
from pathlib import Path

from testinfra.backend.base import BaseBackend
from testinfra.host import Host

from runtime import api
from runtime.linux import WALL
from runtime.testing.backend import DemoRuntimeBackend


# Names of the containers this test session makes: other sessions share the machine.
NAME_PREFIX = f"t{uuid.uuid4().hex[:6]}"
# Test runs' scratch directories on the target (mktemp templates add XXXXXX), this run's
# named by NAME_PREFIX: the residue check tells another run's mounts in theirs from ours.
# Short: podman's runroot under one (oci_clients) may have at most 50 characters. Runs
# of older checkouts name theirs demo-runtime-tests.XXXXXX.
TEST_DIRS = ("dr-tests.", "demo-runtime-tests.")
OUR_TEST_DIRS = f"{TEST_DIRS[0]}{NAME_PREFIX}."
STATE_ROOT = "/run/demo-runtime/containers"


def own_command(target):
    """Whether the target's runtime is this interpreter's own package (the local target)."""
    return target.runtime == str(Path(sys.executable).parent / "demo-runtime")


class Runtime:
    """demo-runtime as invoked on the target machine (locally, or over ssh with sudo).

    in_process: run, sh, cli and start go through the Python API (runtime.api forks this
    interpreter and runs the command line's main with the same argv), where the target's
    runtime is this package: no interpreter start per container (~1 s under TCG). Tests of
    the command itself (its messages, exit statuses, process) get a new process each time
    (the new_process marker)."""

    def __init__(self, target, in_process=False):
        self.target = target
        self.host = target.host
        self.in_process = in_process and own_command(target)

    def argv(self, *command, options=(), image=None):
        return self.cli_argv([*options, image or self.target.image, *command])

    def cli_argv(self, argv):
        """The runtime's command line with these arguments, as the target runs it."""
        return self.target.run_argv(list(argv))

    def line(self, *command, options=(), image=None):
        """The invocation as one shell-quoted line, for composing host commands."""
        return shlex.join(self.argv(*command, options=options, image=image))

    def run(self, *command, options=(), image=None, stdin=None):
        """Start one container; returns testinfra's CommandResult (rc, stdout, stderr)."""
        if self.in_process:
            return self.cli(*options, image or self.target.image, *command, stdin=stdin)
        line = self.line(*command, options=options, image=image)
        if stdin is not None:
            line = f"printf %s {shlex.quote(stdin)} | {line}"
        return self.host.run(line)

    def cli(self, *argv, stdin=None):
        """A subcommand (ps, exec, stop...) on the target: testinfra's CommandResult."""
        line = shlex.join(self.target.run_argv(list(argv)))
        if self.in_process:
            out = api.invoke(list(argv), (stdin or "").encode())
            return self.host.backend.result(out.status, line.encode(), out.stdout, out.stderr)
        if stdin is not None:
            line = f"printf %s {shlex.quote(stdin)} | {line}"
        return self.host.run(line)

    def spawn(self, *command, options=(), image=None, stdin="/dev/null", out):
        """Start one container and return at once (many at a time): see spawn_cli."""
        return self.spawn_cli(*options, image or self.target.image, *command, stdin=stdin, out=out)

    def spawn_cli(self, *argv, stdin="/dev/null", out):
        """`demo-runtime ARGV`, returning at once: stdin from the file stdin, stdout and
        stderr into the file out (paths on the target). Its Forked or Backgrounded.
        In-process a fork of this interpreter runs it (no interpreter start: ~3 s of CPU
        each under TCG), else a background process on the target."""
        if self.in_process:
            with open(stdin, "rb") as given, open(out, "wb") as output:
                return Forked(api.start(list(argv), (given.fileno(), output.fileno(), output.fileno())))
        line = shlex.join(self.cli_argv(argv))
        self.host.check_output(f"rm -f {out}.rc; ({line} <{stdin} >{out} 2>&1; echo $? >{out}.rc) >/dev/null 2>&1 &")
        return Backgrounded(self.host, f"{out}.rc")

    def start(self, name, *command, options=()):
        """`run -d --name NAME`: the container runs when this returns."""
        out = self.cli("run", "-d", "--name", name, *options, self.target.image, *(command or ("sleep", "1000")))
        assert (out.rc, out.stdout) == (0, f"{name}\n"), out.stderr
        return name

    def entered(self, name):
        """A testinfra Host whose every command is `exec`'d into the running container NAME:
        the package's backend, with its exec run on the target."""
        return Host(TargetExecBackend(self, name))

    def state(self, name):
        """The container's record as the runtime wrote it (or None)."""
        out = self.host.run("cat %s/%s/state.json", STATE_ROOT, name)
        return json.loads(out.stdout) if out.rc == 0 else None

    def sh(self, script, options=(), image=None):
        return self.run("/bin/sh", "-c", script, options=options, image=image)

    def container(self, *options, image=None):
        """A testinfra Host whose every command runs in a fresh container."""
        return Host(ContainerBackend(self, options, image))


class Forked:
    """A runtime forked from this process (Runtime.spawn): status() is its exit status
    once it ended, else None."""

    def __init__(self, pid):
        self.pid = pid
        self.exit_status = None

    def status(self):
        if self.exit_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG | WALL)  # api.start's child sends no SIGCHLD
            if pid:
                code = os.waitstatus_to_exitcode(status)
                self.exit_status = 128 - code if code < 0 else code  # as a shell gives it
        return self.exit_status


class Backgrounded:
    """A runtime in the background on the target (Runtime.spawn): status() as Forked's,
    from the file its shell writes the status into."""

    def __init__(self, host, status_file):
        self.host = host
        self.status_file = status_file
        self.exit_status = None

    def status(self):
        if self.exit_status is None:
            out = self.host.run(f"cat {self.status_file}")
            self.exit_status = int(out.stdout) if out.rc == 0 and out.stdout.strip() else None
        return self.exit_status


class ContainerBackend(BaseBackend):
    NAME = "demo-runtime"

    def __init__(self, runtime, options, image):
        super().__init__("container")
        self.runtime = runtime
        self.options = tuple(options)
        self.image = image

    def get_encoding(self):
        return "utf-8"

    def run(self, command, *args, **kwargs):
        command = self.quote(command, *args)
        out = self.runtime.sh(command, options=self.options, image=self.image)
        return self.result(out.rc, self.encode(command), out.stdout_bytes, out.stderr_bytes)


class TargetExecBackend(DemoRuntimeBackend):
    """runtime.testing's backend: in this process where the target is this machine's own
    runtime, else its `exec` run on the target (over ssh, or a --runtime given)."""

    def __init__(self, runtime, name):
        self.runtime = runtime
        super().__init__(name)

    def exec(self, command):
        if own_command(self.runtime.target):
            return super().exec(command)  # the package's own: in-process, no interpreter start
        out = self.runtime.cli("exec", "-T", self.name, *command)
        return out.rc, out.stdout_bytes, out.stderr_bytes
