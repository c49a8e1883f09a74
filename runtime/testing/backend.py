"""testinfra backend for containers of demo-runtime, as testinfra's docker and podman ones:

    testinfra.get_host("demo-runtime://NAME")        # or --hosts=demo-runtime://NAME
    testinfra.get_host("demo-runtime://USER@NAME")   # commands as USER (exec -u)

Every command runs through `demo-runtime exec` (the Python API's, in a forked child:
no new interpreter per command), so with the container's own hardening.
"""

import testinfra.backend
from testinfra.backend import base

from .. import api

NAME = "demo-runtime"


class DemoRuntimeBackend(base.BaseBackend):
    NAME = NAME

    def __init__(self, name, *args, **kwargs):
        self.name, self.user = self.parse_containerspec(name)
        super().__init__(self.name, *args, **kwargs)

    def get_encoding(self):
        return "utf-8"  # what the runtime's messages are; an image need not have python to ask

    def run(self, command, *args, **kwargs):
        cmd = self.get_command(command, *args)
        status, stdout, stderr = self.exec(["/bin/sh", "-c", cmd])
        return self.result(status, self.encode(cmd), stdout, stderr)

    def exec(self, command):
        """(status, stdout, stderr) of `demo-runtime exec` here; a subclass may run it elsewhere."""
        user = ["-u", self.user] if self.user else []
        result = api.invoke(["exec", "-T", *user, self.name, *command])
        return result.status, result.stdout, result.stderr


def register():
    """Make `demo-runtime://` known to testinfra (its backends are a fixed table)."""
    testinfra.backend.BACKENDS[NAME] = f"{__name__}.DemoRuntimeBackend"


register()
