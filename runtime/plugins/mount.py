from ..linux import CLONE_NEWNS, MS_REC, MS_SLAVE
from ..plugin import Plugin


class MountNamespace(Plugin):
    name = "mount"
    help = "own mount namespace; host mounts reach it as slaves, nothing flows back"
    does = "clone(CLONE_NEWNS): its own mount table; / made a recursive slave (MS_SLAVE|MS_REC): host mounts propagate in, none out"
    lost = "every mount happens in the host's own mount table"
    host_power = ("SYS_ADMIN", "mount over the host's own filesystems")

    def clone_flags(self, ctx):
        return CLONE_NEWNS

    def setup_child(self, ctx):
        # A new namespace copies the host's propagation: shared mounts would carry our
        # mounts back to the host. Slave keeps host -> container, cuts container -> host.
        ctx.linux.mount(None, "/", None, MS_REC | MS_SLAVE)
