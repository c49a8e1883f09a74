from ..plugin import Plugin


class NoNewPrivs(Plugin):
    name = "no-new-privs"
    help = "set no_new_privs: no exec (setuid, file capabilities) can raise privileges"
    does = "prctl(PR_SET_NO_NEW_PRIVS): no execve (setuid binary, file capabilities) can raise privileges"
    lost = "a setuid-root or file-capability program run in the container gains privileges"

    def setup_child(self, ctx):
        ctx.linux.set_no_new_privs()
