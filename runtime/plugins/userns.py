"""User namespace, opt-in: container root is an unprivileged host uid.

The kernel cannot mount ext4 inside a user namespace, so the container is assembled
by real root first and the user namespace is unshared last, just before no_new_privs,
seccomp and caps (a helper forked before the unshare writes the uid/gid maps).

The limit: the image's files keep their host owners. Host root (uid 0) is not mapped
into the namespace, so the image's root-owned files show as nobody (65534) and
container root cannot change them (nor read those that are not world-readable); only
world-writable places such as /tmp take its writes. An idmapped mount of the image
(open_tree + mount_setattr(MOUNT_ATTR_IDMAP), kernel >= 5.12, overlay over idmapped
layers >= 5.19) would lift this; mount-image does not do that
yet.
"""

import os

from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWUSER
from ..plugin import Option, Plugin

SIZE = 65536


def base(options):
    try:
        value = int(options.userns_base)
    except (TypeError, ValueError):
        raise ContainerError(USAGE, f"--userns-base: {options.userns_base!r} is not a uid") from None
    if not 1 <= value <= 2**32 - 1 - SIZE:
        raise ContainerError(USAGE, "--userns-base must leave room for 65536 ids above it")
    return value


def id_map(options):
    return f"0 {base(options)} {SIZE}\n"


class UserNamespace(Plugin):
    name = "userns"
    help = "container uids 0-65535 are host uids BASE.. (default 100000); the image's files stay host-owned (read-only to it)"
    does = "unshare(CLONE_NEWUSER) with /proc/PID/uid_map and gid_map: container root is an unprivileged host uid"
    lost = "root in the container is uid 0 of the host, held back only by the other protections"
    options = (
        Option("--userns", None, "user namespace: container root is host uid BASE; image files owned by host root show as nobody and stay unwritable"),
        Option("--userns-base", "UID", "first host uid (and gid) of the container's range (default 100000)", default="100000"),
    )
    default = False

    @classmethod
    def wanted(cls, options):
        return getattr(options, "userns", False)

    def prepare(self, ctx):
        base(ctx.options)

    def setup_child(self, ctx):
        linux = ctx.linux
        mapping = id_map(ctx.options)
        # Only a process with CAP_SETUID in the parent namespace may write a map with
        # more than its own id: a helper forked before the unshare writes ours.
        ready_read, ready_write = linux.pipe()
        helper = linux.fork()
        if helper == 0:
            code = 1
            try:
                linux.close(ready_write)
                if linux.read(ready_read, 1) == b"u":
                    parent = linux.getppid()
                    linux.write_file(f"/proc/{parent}/uid_map", mapping)
                    linux.write_file(f"/proc/{parent}/gid_map", mapping)
                    code = 0
            finally:
                os._exit(code)
        linux.close(ready_read)
        try:
            linux.unshare(CLONE_NEWUSER)
            linux.write(ready_write, b"u")
        finally:
            linux.close(ready_write)
            _, status = linux.waitpid(helper)
        if status != 0:
            raise ContainerError(125, "user namespace: could not write the uid/gid maps")
        linux.become_root()

    def explain(self, ctx):
        first = base(ctx.options)
        return f"{self.does}\ncontainer uids 0-{SIZE - 1} are host uids {first}-{first + SIZE - 1}"
