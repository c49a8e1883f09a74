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
DEFAULT_BASE = "100000"
_MAX_ID = 2**32 - 1  # (uid_t)-1 is no id
_MAX_LINES = 340  # the kernel's limit on a map (since 4.15)


def base(options):
    try:
        value = int(options.userns_base)
    except (TypeError, ValueError):
        raise ContainerError(USAGE, f"--userns-base: {options.userns_base!r} is not a uid") from None
    if not 1 <= value <= 2**32 - 1 - SIZE:
        raise ContainerError(USAGE, "--userns-base must leave room for 65536 ids above it")
    return value


def parse_map(specs, flag):
    """podman's `CONTAINER:HOST:SIZE` items -> a uid_map/gid_map text, checked as the
    kernel would check it (the ranges may not overlap, inside or outside)."""
    ranges = []
    for spec in specs:
        fields = spec.split(":")
        if len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise ContainerError(USAGE, f"invalid {flag} {spec!r}: use CONTAINER:HOST:SIZE, e.g. 0:100000:65536")
        inside, outside, size = (int(f) for f in fields)
        if size == 0 or inside + size > _MAX_ID or outside + size > _MAX_ID:
            raise ContainerError(USAGE, f"{flag} {spec}: the range is empty or goes beyond id {_MAX_ID - 1}")
        ranges.append((inside, outside, size))
    for side, name in ((0, "container"), (1, "host")):
        ordered = sorted(ranges, key=lambda r: r[side])
        for a, b in zip(ordered, ordered[1:]):
            if a[side] + a[2] > b[side]:
                raise ContainerError(USAGE, f"{flag}: the {name} ranges of {':'.join(map(str, a))} and {':'.join(map(str, b))} overlap")
    if len(ranges) > _MAX_LINES:
        raise ContainerError(USAGE, f"{flag}: at most {_MAX_LINES} ranges (the kernel's limit)")
    return "".join(f"{inside} {outside} {size}\n" for inside, outside, size in ranges)


def id_maps(options):
    """(uid_map, gid_map) texts: --uidmap/--gidmap (either alone serves for both, as in
    podman), else container ids 0-65535 at host ids from --userns-base."""
    uids, gids = getattr(options, "uidmap", ()), getattr(options, "gidmap", ())
    if not uids and not gids:
        mapping = f"0 {base(options)} {SIZE}\n"
        return mapping, mapping
    if getattr(options, "userns_base", DEFAULT_BASE) != DEFAULT_BASE:
        raise ContainerError(USAGE, "--userns-base and --uidmap/--gidmap exclude each other")
    uid_map, gid_map = parse_map(uids, "--uidmap"), parse_map(gids, "--gidmap")
    return uid_map or gid_map, gid_map or uid_map


class UserNamespace(Plugin):
    name = "userns"
    help = "container uids 0-65535 are host uids BASE.. (default 100000); the image's files stay host-owned (read-only to it)"
    does = "unshare(CLONE_NEWUSER) with /proc/PID/uid_map and gid_map: container root is an unprivileged host uid"
    lost = "root in the container is uid 0 of the host, held back only by the other protections"
    options = (
        Option("--userns", None, "user namespace: container root is host uid BASE; image files owned by host root show as nobody and stay unwritable"),
        Option("--userns-base", "UID", "first host uid (and gid) of the container's range (default 100000)", default=DEFAULT_BASE),
        Option("--uidmap", "CONTAINER:HOST:SIZE", "map container uids CONTAINER.. to host uids HOST.. (repeatable; turns on userns; alone: gids too)", repeat=True),
        Option("--gidmap", "CONTAINER:HOST:SIZE", "map container gids likewise (repeatable; alone: uids too)", repeat=True),
    )
    default = False

    @classmethod
    def wanted(cls, options):
        return bool(getattr(options, "userns", False) or getattr(options, "uidmap", ()) or getattr(options, "gidmap", ()))

    def prepare(self, ctx):
        id_maps(ctx.options)  # checked before anything starts

    def setup_child(self, ctx):
        linux = ctx.linux
        uid_map, gid_map = id_maps(ctx.options)
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
                    linux.write_file(f"/proc/{parent}/uid_map", uid_map)
                    linux.write_file(f"/proc/{parent}/gid_map", gid_map)
                    code = 0
            finally:
                linux.exit_now(code)
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
        uid_map, gid_map = id_maps(ctx.options)

        def ranges(text):
            rows = [[int(n) for n in line.split()] for line in text.splitlines()]
            return ", ".join(f"{i}-{i + n - 1} at {o}-{o + n - 1}" for i, o, n in rows)

        return f"{self.does}\ncontainer uids {ranges(uid_map)}; gids {ranges(gid_map)} (host ids)"
