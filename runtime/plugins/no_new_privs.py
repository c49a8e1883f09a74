from ..plugin import Plugin
from .caps import privileged


class NoNewPrivs(Plugin):
    name = "no-new-privs"
    help = "set no_new_privs: no exec (setuid, file capabilities) can raise privileges"

    def setup_child(self, ctx):
        if not privileged(ctx.options):
            ctx.linux.set_no_new_privs()
