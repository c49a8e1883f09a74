from ..linux import CLONE_NEWIPC
from ..plugin import Plugin


class IpcNamespace(Plugin):
    name = "ipc"
    help = "own IPC namespace: SysV shared memory, semaphores and message queues"

    def clone_flags(self, ctx):
        return CLONE_NEWIPC
