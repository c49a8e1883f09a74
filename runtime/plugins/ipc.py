from ..linux import CLONE_NEWIPC
from ..plugin import Plugin


class IpcNamespace(Plugin):
    name = "ipc"
    help = "own IPC namespace: SysV shared memory, semaphores and message queues"
    does = "clone(CLONE_NEWIPC): its own SysV shared memory, semaphores and message queues, and POSIX message queues"
    lost = "the container shares the host's SysV IPC objects: ipcs lists them, same-uid processes attach"
    host_power = ("IPC_OWNER", "read, change and remove any SysV IPC object of the host")

    def clone_flags(self, ctx):
        return CLONE_NEWIPC
