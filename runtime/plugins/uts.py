import os

from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWUTS
from ..plugin import Option
from .join import NamespacePlugin

_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


def valid_hostname(name):
    return 0 < len(name) <= 64 and set(name) <= _ALLOWED and not name.startswith(("-", "."))


def hostname_from_image_path(path):
    """`images/web-1.img` -> `web-1`: a DNS label made from the image file's name."""
    stem = os.path.basename(path).split(".", 1)[0].lower()
    label = "".join(c if c.isascii() and c.isalnum() else "-" for c in stem).strip("-")[:63]
    return label or "container"


def choose_hostname(requested, etc_hostname, host_name, image_path):
    """(hostname, where it came from): --hostname, else the image's /etc/hostname, else
    a name from the image file. An /etc/hostname that is the host's own name is passed
    over (debootstrap copies the build host's): the container would look like the host."""
    if requested is not None:
        return requested, "from --hostname"
    lines = (etc_hostname or "").strip().splitlines()
    name = lines[0].strip() if lines else ""
    fallback = hostname_from_image_path(image_path)
    if name == host_name:
        return fallback, f"from the image file's name (its /etc/hostname is this host's own name, {name})"
    if valid_hostname(name):
        return name, "from the image's /etc/hostname"
    return fallback, "from the image file's name (no usable /etc/hostname in the image)"


class UtsNamespace(NamespacePlugin):
    name = "uts"
    help = "own UTS namespace and hostname: --hostname, else the image's /etc/hostname, else the image's name (--uts ns:PATH joins one)"
    does = "clone(CLONE_NEWUTS), then sethostname(2): a hostname of its own"
    lost = "the container has the host's hostname (and root in it could change the host's)"
    host_power = ("SYS_ADMIN", "rename the host (sethostname)")
    options = (
        Option("--hostname", "NAME", "hostname inside the container", short="-H"),
        Option("--uts", "ns:PATH", "join this UTS namespace instead of a new one, keeping its hostname unless -H"),
    )
    nstype, kind, join_flag = CLONE_NEWUTS, "uts", "--uts"

    def prepare(self, ctx):
        super().prepare(ctx)
        name = ctx.options.hostname
        if name is not None and not valid_hostname(name):
            raise ContainerError(USAGE, f"invalid hostname {name!r}: use 1-64 letters, digits, '-' and '.'")

    def setup_child(self, ctx):
        if self.joined and ctx.options.hostname is None:  # the joined namespace's own name
            self.hostname, self.source = ctx.linux.uname().nodename, f"of the joined namespace {self.joined.path}"
            ctx.env.setdefault("HOSTNAME", self.hostname)
            return
        # Resolved inside the image (a device node or FIFO there is not read); before
        # sethostname, so uname() still gives the host's own name.
        requested = ctx.options.hostname
        etc_hostname = ctx.linux.read_in_root(ctx.rootfs, "/etc/hostname") if requested is None else None
        self.hostname, self.source = choose_hostname(requested, etc_hostname, ctx.linux.uname().nodename, ctx.image)
        ctx.linux.sethostname(self.hostname)
        ctx.env.setdefault("HOSTNAME", self.hostname)

    def explain(self, ctx):
        return f"{super().explain(ctx)}\nhostname {self.hostname}, {self.source}"
