from ..linux import CLONE_NEWPID
from ..plugin import Plugin


class PidNamespace(Plugin):
    name = "pid"
    help = "own PID namespace: the command is PID 1 and sees only its descendants"

    def clone_flags(self, ctx):
        return CLONE_NEWPID
