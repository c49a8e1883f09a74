import os

from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWUTS
from ..plugin import Option, Plugin

_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


def valid_hostname(name):
    return 0 < len(name) <= 64 and set(name) <= _ALLOWED and not name.startswith(("-", "."))


def hostname_from_image_path(path):
    """`images/web-1.img` -> `web-1`: a DNS label made from the image file's name."""
    stem = os.path.basename(path).split(".", 1)[0].lower()
    label = "".join(c if c.isascii() and c.isalnum() else "-" for c in stem).strip("-")[:63]
    return label or "container"


class UtsNamespace(Plugin):
    name = "uts"
    help = "own UTS namespace and hostname: --hostname, else the image's /etc/hostname, else the image's name"
    options = (Option("--hostname", "NAME", "hostname inside the container", short="-H"),)

    def prepare(self, ctx):
        name = ctx.options.hostname
        if name is not None and not valid_hostname(name):
            raise ContainerError(USAGE, f"invalid hostname {name!r}: use 1-64 letters, digits, '-' and '.'")

    def clone_flags(self, ctx):
        return CLONE_NEWUTS

    def setup_child(self, ctx):
        # Runs after pivot_root, so a symlinked /etc/hostname resolves inside the image.
        name = ctx.options.hostname
        if name is None:
            lines = (ctx.linux.read_file("/etc/hostname") or "").strip().splitlines()
            name = lines[0].strip() if lines else ""
            if not valid_hostname(name):
                name = hostname_from_image_path(ctx.image)
        ctx.linux.sethostname(name)
        ctx.env.setdefault("HOSTNAME", name)
