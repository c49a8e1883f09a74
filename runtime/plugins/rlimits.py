"""Per-process limits of the container's processes: --ulimit (setrlimit(2)) and
--oom-score-adj (the OOM killer's preference), as docker takes them.

Set in the child before userns, no_new_privs, seccomp and caps: raising a hard limit
above the runtime's own, or lowering the OOM score, needs CAP_SYS_RESOURCE in the
host's user namespace. The command inherits them across execve, as do its children.
Without --ulimit the runtime's own limits are inherited (as with docker and runc).
"""

from ..errors import RUNTIME_FAILURE, USAGE, ContainerError
from ..plugin import Option, Plugin

# RLIMIT_* numbers, the same on x86_64 and aarch64 (asm-generic/resource.h); docker's names.
LIMITS = {
    "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7,
    "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
}  # fmt: skip
_INFINITY = 2**64 - 1  # RLIM_INFINITY as a number, as the OCI spec writes it
OOM_RANGE = (-1000, 1000)


def _value(text, spec):
    """A limit: a number, or unlimited (also -1 and 2^64-1): None."""
    if text in ("unlimited", "-1"):
        return None
    if not text.isdigit() or int(text) > _INFINITY:
        raise ContainerError(USAGE, f"invalid --ulimit {spec!r}: SOFT and HARD are numbers or unlimited")
    return None if int(text) == _INFINITY else int(text)


def parse_ulimits(specs):
    """`NAME=SOFT[:HARD]` items -> {name: (soft, hard)}, None for unlimited."""
    limits = {}
    for spec in specs:
        name, has_value, value = spec.partition("=")
        name = name.strip().lower()
        name = name[len("rlimit_") :] if name.startswith("rlimit_") else name
        if not has_value or not value:
            raise ContainerError(USAGE, f"invalid --ulimit {spec!r}: use NAME=SOFT[:HARD], e.g. nofile=1024:2048")
        if name not in LIMITS:
            raise ContainerError(USAGE, f"--ulimit {spec}: unknown limit {name!r} (one of {', '.join(LIMITS)})")
        if name in limits:
            raise ContainerError(USAGE, f"--ulimit {spec}: {name} is given twice")
        soft_text, _, hard_text = value.partition(":")
        soft = _value(soft_text, spec)
        hard = _value(hard_text, spec) if hard_text else soft
        if hard is not None and (soft is None or soft > hard):
            raise ContainerError(USAGE, f"--ulimit {spec}: the soft limit is above the hard one")
        limits[name] = (soft, hard)
    return limits


def parse_oom_score_adj(text):
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not OOM_RANGE[0] <= value <= OOM_RANGE[1]:
        raise ContainerError(USAGE, f"invalid --oom-score-adj {text!r}: a whole number from -1000 to 1000")
    return value


def _shown(value):
    return "unlimited" if value is None else str(value)


class Rlimits(Plugin):
    name = "rlimits"
    help = "--ulimit NAME=SOFT[:HARD] (setrlimit) and --oom-score-adj N for the container's processes"
    does = "setrlimit(2) of each --ulimit, and /proc/self/oom_score_adj: limits the command and its children inherit"
    lost = "--ulimit and --oom-score-adj are refused: the container has the runtime's own limits and OOM score"
    options = (
        Option("--ulimit", "NAME=SOFT[:HARD]", "a resource limit (setrlimit): nofile, nproc, core, stack...; unlimited or -1 (repeatable)", repeat=True),
        Option("--oom-score-adj", "N", "the OOM killer's preference for the container's processes, -1000 (never) to 1000"),
    )

    def __init__(self):
        self.limits = {}
        self.oom_score_adj = None

    def prepare(self, ctx):
        # Checked before anything starts.
        self.limits = parse_ulimits(getattr(ctx.options, "ulimit", ()))
        self.oom_score_adj = parse_oom_score_adj(getattr(ctx.options, "oom_score_adj", None))
        if self.limits:
            # The syscall layer's setrlimit is the `resource` module's: loaded here, from the
            # runtime's own root, for the child that sets the limits inside the container's.
            import resource  # noqa: F401

    def setup_child(self, ctx):
        for name, (soft, hard) in self.limits.items():
            try:
                ctx.linux.set_rlimit(LIMITS[name], soft, hard)
            except OSError as e:
                raise ContainerError(RUNTIME_FAILURE, f"--ulimit {name}={_shown(soft)}:{_shown(hard)}: {e.strerror}") from None
        if self.oom_score_adj is not None:
            try:
                ctx.linux.write_file("/proc/self/oom_score_adj", str(self.oom_score_adj))
            except OSError as e:
                raise ContainerError(RUNTIME_FAILURE, f"--oom-score-adj {self.oom_score_adj}: write /proc/self/oom_score_adj: {e.strerror}") from None

    def explain(self, ctx):
        limits = ", ".join(f"{name} {_shown(soft)}:{_shown(hard)}" for name, (soft, hard) in self.limits.items())
        oom = f"; oom_score_adj {self.oom_score_adj}" if self.oom_score_adj is not None else ""
        return f"setrlimit(2): {limits}{oom}" if limits else f"no --ulimit: the runtime's own limits, inherited{oom}"
