from ..linux import CLONE_NEWPID
from ..plugin import Plugin


class PidNamespace(Plugin):
    name = "pid"
    help = "own PID namespace: the command is PID 1 and sees only its descendants"
    does = "clone(CLONE_NEWPID): the command is PID 1 and sees only its own processes"
    lost = "the container sees and can signal every host process"
    host_power = ("SYS_PTRACE", "trace every host process and read its memory")

    def clone_flags(self, ctx):
        return CLONE_NEWPID
