from ..linux import CLONE_NEWPID
from ..plugin import Option
from .join import NamespacePlugin


class PidNamespace(NamespacePlugin):
    name = "pid"
    help = "own PID namespace: the command is PID 1 and sees only its descendants (--pid ns:PATH joins one)"
    does = "clone(CLONE_NEWPID): the command is PID 1 and sees only its own processes"
    lost = "the container sees and can signal every host process"
    host_power = ("SYS_PTRACE", "trace every host process and read its memory")
    # Joined, the command is not PID 1: the namespace's init is someone else's (a pod's).
    options = (Option("--pid", "ns:PATH", "join this PID namespace instead of a new one (a pod's: /proc/PID/ns/pid)"),)
    nstype, kind, join_flag = CLONE_NEWPID, "pid", "--pid"
