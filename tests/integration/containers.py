"""Run demo-runtime on a target, and commands inside its containers through testinfra."""

import json
import shlex
import uuid

from testinfra.backend.base import BaseBackend
from testinfra.host import Host


# Names of the containers this test session makes: other sessions share the machine.
NAME_PREFIX = f"t{uuid.uuid4().hex[:6]}"
STATE_ROOT = "/run/demo-runtime/containers"


class Runtime:
    """demo-runtime as invoked on the target machine (locally, or over ssh with sudo)."""

    def __init__(self, target):
        self.target = target
        self.host = target.host

    def argv(self, *command, options=(), image=None):
        return self.target.run_argv([*options, image or self.target.image, *command])

    def line(self, *command, options=(), image=None):
        """The invocation as one shell-quoted line, for composing host commands."""
        return shlex.join(self.argv(*command, options=options, image=image))

    def run(self, *command, options=(), image=None, stdin=None):
        """Start one container; returns testinfra's CommandResult (rc, stdout, stderr)."""
        line = self.line(*command, options=options, image=image)
        if stdin is not None:
            line = f"printf %s {shlex.quote(stdin)} | {line}"
        return self.host.run(line)

    def cli(self, *argv, stdin=None):
        """A subcommand (ps, exec, stop...) on the target: testinfra's CommandResult."""
        line = shlex.join(self.target.run_argv(list(argv)))
        if stdin is not None:
            line = f"printf %s {shlex.quote(stdin)} | {line}"
        return self.host.run(line)

    def start(self, name, *command, options=()):
        """`run -d --name NAME`: the container runs when this returns."""
        out = self.cli("run", "-d", "--name", name, *options, self.target.image, *(command or ("sleep", "1000")))
        assert (out.rc, out.stdout) == (0, f"{name}\n"), out.stderr
        return name

    def state(self, name):
        """The container's record as the runtime wrote it (or None)."""
        out = self.host.run("cat %s/%s/state.json", STATE_ROOT, name)
        return json.loads(out.stdout) if out.rc == 0 else None

    def sh(self, script, options=(), image=None):
        return self.run("/bin/sh", "-c", script, options=options, image=image)

    def container(self, *options, image=None):
        """A testinfra Host whose every command runs in a fresh container."""
        return Host(ContainerBackend(self, options, image))


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
