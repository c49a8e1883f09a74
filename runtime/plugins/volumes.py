"""Volumes: host paths bound into the container (-v) and private tmpfs mounts (--tmpfs).

Targets are resolved inside the container's root by the syscall layer (open_in_root,
mount_in_root), never as strings the kernel would resolve through the image's
symlinks; a target that is a symlink in the image, or goes through one, is refused.
The host side is taken in the parent before clone, as a detached copy of its mount
(open_tree): a missing host path is one clear error before anything starts, and the
child attaches the copy (move_mount) even where its own view of the host is covered,
such as /tmp under the staging tmpfs. Every volume is nosuid and nodev, as the root is.
"""

import errno
import stat

from .. import errors
from ..errors import USAGE, ContainerError
from ..linux import MS_BIND, MS_NOATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME, MS_REMOUNT, MS_STRICTATIME
from ..plugin import Option, Plugin

_RESERVED = ("/proc", "/sys")  # the kernel's own, mounted and masked by other plugins
_LOCKED = MS_NOSUID | MS_NODEV
_SIZE_UNITS = "kKmMgG%"
# docker's --tmpfs flags that demo-runtime takes (nosuid and nodev it always sets).
# The atime ones too, which OCI configs give (containerd's /run: strictatime).
TMPFS_FLAGS = {"ro": MS_RDONLY, "rw": 0, "noexec": MS_NOEXEC, "exec": 0, "nosuid": 0, "nodev": 0,
                "strictatime": MS_STRICTATIME, "relatime": MS_RELATIME, "noatime": MS_NOATIME}  # fmt: skip


def _volume_error(message):
    return ContainerError(errors.VOLUME_ERROR, message)


def _container_path(path, flag):
    if not path.startswith("/"):
        raise ContainerError(USAGE, f"{flag}: the container path {path!r} is not absolute")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ContainerError(USAGE, f"{flag}: the container path {path!r} has '..'")
    normal = "/" + "/".join(parts)
    if normal == "/" or any(normal == r or normal.startswith(r + "/") for r in _RESERVED):
        raise ContainerError(USAGE, f"{flag}: cannot mount on {normal} (it belongs to the runtime)")
    return normal


def parse_volume(spec):
    """`HOST:CONTAINER[:OPTIONS]`, OPTIONS comma-separated from ro, rw, noexec, exec, create
    (podman's) -> (host, container, mount flags, create). Always nosuid and nodev."""
    fields = spec.split(":")
    if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
        raise ContainerError(USAGE, f"invalid --volume {spec!r}: use HOST:CONTAINER[:ro|rw][,noexec][,create]")
    options = set(fields[2].split(",")) if len(fields) == 3 else set()
    if not options <= {"ro", "rw", "noexec", "exec", "create"} or {"ro", "rw"} <= options or {"noexec", "exec"} <= options:
        raise ContainerError(USAGE, f"invalid --volume options {fields[2]!r}: ro or rw, noexec or exec, and create")
    if not fields[0].startswith("/"):
        raise ContainerError(USAGE, f"--volume {spec}: the host path must be absolute")
    flags = _LOCKED | (MS_RDONLY if "ro" in options else 0) | (MS_NOEXEC if "noexec" in options else 0)
    return fields[0], _container_path(fields[1], "--volume"), flags, "create" in options


def _tmpfs_size(size):
    digits = size[:-1] if size and size[-1] in _SIZE_UNITS else size
    if not digits.isdigit() or int(digits) == 0:
        raise ContainerError(USAGE, f"invalid --tmpfs size {size!r}: a number with k, m, g or %, e.g. 64m")
    return size


def parse_tmpfs(spec):
    """`PATH[:SIZE]`, or docker's `PATH[:OPTIONS]` (size=, mode=, ro, noexec...) ->
    (path, mount flags, mount data). Always nosuid and nodev, as every volume."""
    path, has_options, options = spec.partition(":")
    flags, mode, size = _LOCKED, "1777", None
    if has_options and "=" not in options and "," not in options and options not in TMPFS_FLAGS:
        size = _tmpfs_size(options)  # the bare SIZE
    elif has_options:
        for option in options.split(","):
            key, has_value, value = option.partition("=")
            if key == "size" and has_value:
                size = _tmpfs_size(value)
            elif key == "mode" and has_value and value and set(value) <= set("01234567") and int(value, 8) <= 0o7777:
                mode = value
            elif not has_value and key in TMPFS_FLAGS:
                flags |= TMPFS_FLAGS[key]
            else:
                raise ContainerError(USAGE, f"--tmpfs {spec}: option {option!r} is not supported (size=, mode=, ro, rw, noexec, exec, strictatime, relatime, noatime; always nosuid and nodev)")
    return _container_path(path, "--tmpfs"), flags, f"mode={mode}" + (f",size={size}" if size else "")


class Volumes(Plugin):
    name = "volumes"
    help = "-v HOST:CONTAINER[:ro] bind mounts and --tmpfs PATH[:SIZE|OPTIONS], targets resolved inside the root"
    does = "bind mounts of host paths (-v) and tmpfs mounts (--tmpfs), nosuid and nodev, onto targets resolved inside the root"
    lost = "no host path can be shared with the container and no extra tmpfs mounted (-v and --tmpfs are refused)"
    requires = ("root",)
    options = (
        Option("--volume", "HOST:CONTAINER[:ro][,noexec][,create]", "bind a host path (create: make a missing host directory)", short="-v", repeat=True),
        Option("--tmpfs", "PATH[:SIZE|OPTIONS]", "a private tmpfs at PATH (mode 1777; SIZE like 64m; docker's size=,mode=,ro,noexec)", repeat=True),
    )

    def __init__(self):
        self.binds = []  # (detached tree fd, host path, container path, mount flags, is_directory)
        self.tmpfs = []

    def prepare(self, ctx):
        for spec in getattr(ctx.options, "volume", ()):
            host, target, flags, create = parse_volume(spec)
            if create:
                try:
                    ctx.linux.makedirs(host, 0o755)
                except FileExistsError:
                    pass  # a file (or a symlink) is there: bound as it is
                except OSError as e:
                    raise _volume_error(f"--volume {spec}: cannot create {host}: {e.strerror}") from None
            try:
                is_directory = stat.S_ISDIR(ctx.linux.stat(host).st_mode)
            except OSError as e:
                hint = " (add ,create to make it)" if e.errno == errno.ENOENT else ""
                raise _volume_error(f"--volume {spec}: host path {host}: {e.strerror}{hint}") from None
            try:
                tree = ctx.linux.detach_tree(host)
            except OSError as e:
                raise _volume_error(f"--volume {spec}: {e.strerror}") from None
            self.binds.append((tree, host, target, flags, is_directory))
        self.tmpfs = [parse_tmpfs(spec) for spec in getattr(ctx.options, "tmpfs", ())]

    def setup_child(self, ctx):
        linux, root = ctx.linux, ctx.rootfs
        for tree, host, target, flags, is_directory in self.binds:
            self._refuse_symlinks(linux, root, target, f"--volume {host}:{target}")
            try:
                linux.attach_tree_in_root(tree, root, target, make="dir" if is_directory else "file")
            except OSError as e:
                raise _volume_error(f"--volume {host}:{target}: cannot mount on {target}: {e.strerror}") from None
            # A bind takes its flags from the host's mount; set ours on the new one.
            self._mount(linux, root, target, None, None, MS_BIND | MS_REMOUNT | flags, None, None)
        for target, flags, data in self.tmpfs:
            self._refuse_symlinks(linux, root, target, f"--tmpfs {target}")
            self._mount(linux, root, target, "tmpfs", "tmpfs", flags, data, "dir")

    def _refuse_symlinks(self, linux, root, target, what):
        try:
            linux.close(linux.open_in_root(root, target, symlinks=False))
        except FileNotFoundError:
            pass  # made by mount_in_root
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.EXDEV):
                raise _volume_error(f"{what}: {target} is a symlink in the image, or goes through one") from None
            raise

    def _mount(self, linux, root, target, source, fstype, flags, data, make):
        try:
            linux.mount_in_root(root, target, source, fstype, flags, data, make=make)
        except OSError as e:
            raise _volume_error(f"cannot mount on {target}: {e.strerror}") from None

    def teardown(self, ctx):
        for tree, *_ in self.binds:
            ctx.linux.close(tree)  # the last reference: an unattached copy is freed with it
        self.binds = []
