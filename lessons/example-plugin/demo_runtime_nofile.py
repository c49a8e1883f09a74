"""An example third-party plugin: the container may hold at most LIMIT open files."""

import resource  # imported when the runtime loads the plugin, before the container starts

from runtime.plugin import Plugin

LIMIT = 64


class NoFile(Plugin):
    name = "nofile"
    help = f"at most {LIMIT} open files (RLIMIT_NOFILE)"
    does = f"setrlimit(RLIMIT_NOFILE, {LIMIT}): the command may hold at most {LIMIT} open files"
    lost = "the container may open as many files as the runtime itself"

    def setup_child(self, ctx):
        # In the child, after every built-in plugin (third-party plugins run last).
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
