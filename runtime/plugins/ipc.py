from ..linux import CLONE_NEWIPC
from ..plugin import Option
from .join import NamespacePlugin


class IpcNamespace(NamespacePlugin):
    name = "ipc"
    help = "own IPC namespace: SysV shared memory, semaphores and message queues (--ipc ns:PATH joins one)"
    does = "clone(CLONE_NEWIPC): its own SysV shared memory, semaphores and message queues, and POSIX message queues"
    lost = "the container shares the host's SysV IPC objects: ipcs lists them, same-uid processes attach"
    host_power = ("IPC_OWNER", "read, change and remove any SysV IPC object of the host")
    options = (Option("--ipc", "ns:PATH", "join this IPC namespace instead of a new one (a pod's: /proc/PID/ns/ipc)"),)
    nstype, kind, join_flag = CLONE_NEWIPC, "ipc", "--ipc"
