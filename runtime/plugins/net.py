from ..linux import CLONE_NEWNET
from ..plugin import Plugin


class NetNamespace(Plugin):
    name = "net"
    help = "own network namespace with only the loopback interface, up"

    def clone_flags(self, ctx):
        return CLONE_NEWNET

    def setup_child(self, ctx):
        ctx.linux.set_link_up("lo")
