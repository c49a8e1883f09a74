from ..errors import RUNTIME_FAILURE, USAGE, ContainerError
from ..linux import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC
from ..plugin import Option, Plugin

# As Docker (moby's oci/defaults.go) sets them.
MASKED = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
    "/sys/devices/virtual/powercap", "/sys/firmware",
)  # fmt: skip
READ_ONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
_LOCKED = MS_NOSUID | MS_NODEV | MS_NOEXEC  # what /proc and /sys are mounted with


def _paths(values):
    paths = {p.strip().rstrip("/") or "/" for v in values for p in v.split(",") if p.strip()}
    for path in paths - {"ALL"}:
        if not path.startswith("/"):
            raise ContainerError(USAGE, f"--mask/--unmask/--read-only-path: {path!r} is not an absolute path in the container")
    return paths


def plan(options):
    """(masked, read_only): the paths this container gets, after --mask, --read-only-path
    and --unmask (which lifts Docker's, not the container's own)."""
    unmask = _paths(options.unmask)
    given = sorted(_paths(getattr(options, "read_only_path", ())) - set(READ_ONLY))
    if "ALL" in unmask:
        return tuple(sorted(_paths(options.mask))), tuple(given)
    masked = [p for p in MASKED if p not in unmask] + sorted(_paths(options.mask) - set(MASKED))
    return tuple(masked), tuple(p for p in READ_ONLY if p not in unmask) + tuple(given)


class MaskedPaths(Plugin):
    name = "masked-paths"
    help = "Docker's masked paths (/proc/kcore, /proc/keys, ...) and read-only ones (/proc/sys, ...)"
    does = "/dev/null or an empty read-only tmpfs bound over Docker's masked paths; read-only binds over /proc/sys and the like"
    lost = "/proc/kcore, /proc/keys, /proc/timer_list and more show host data; /proc/sys and /proc/sysrq-trigger are writable"
    options = (
        Option("--mask", "PATH", "hide one more path: /dev/null over a file, an empty read-only tmpfs over a directory (repeatable)", repeat=True),
        Option("--unmask", "PATH", "neither mask nor make read-only PATH (repeatable, comma-separated; ALL)", repeat=True),
        Option("--read-only-path", "PATH", "make one more path read-only, in /proc, /sys or anywhere in the root (repeatable)", repeat=True),
    )
    requires = ("root",)

    def setup_child(self, ctx):
        # Before pivot_root, inside the root: /proc and /sys there are the kernel's own
        # (proc and sys refuse an image whose /proc or /sys is not a real directory), so a
        # path that does not resolve is one this kernel lacks. Any other failure stops the
        # start: the container never runs with a protection silently missing.
        masked, read_only = plan(ctx.options)
        linux, root = ctx.linux, ctx.rootfs
        for path in masked:
            kind = linux.kind_in_root(root, path)
            try:
                if kind == "dir":
                    linux.mount_in_root(root, path, "tmpfs", "tmpfs", MS_RDONLY | _LOCKED, "mode=0555")
                elif kind == "file":
                    linux.mount_in_root(root, path, "/dev/null", None, MS_BIND)
            except OSError as e:
                raise ContainerError(RUNTIME_FAILURE, f"cannot mask {path}: {e.strerror}") from None
        for path in read_only:
            if linux.kind_in_root(root, path) is None:
                continue
            try:
                linux.mount_in_root(root, path, None, None, MS_BIND | MS_REC)
                # The bind's own flags kept (nosuid, nodev, noexec of /proc; a volume's).
                linux.restrict_mount(path, MS_RDONLY, root=root)
            except OSError as e:
                raise ContainerError(RUNTIME_FAILURE, f"cannot make {path} read-only: {e.strerror}") from None

    def explain(self, ctx):
        masked, read_only = plan(ctx.options)
        return f"{len(masked)} paths masked ({', '.join(masked[:3])}...), {len(read_only)} read-only ({', '.join(read_only)})"
