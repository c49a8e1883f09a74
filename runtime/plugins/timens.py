from ..errors import USAGE, ContainerError
from ..linux import CLONE_NEWTIME
from ..plugin import Option, Plugin


class TimeNamespace(Plugin):
    name = "time"
    help = "own time namespace (kernel >= 5.6): CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted by --time-offset"
    does = "unshare(CLONE_NEWTIME) and /proc/self/timens_offsets: CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted"
    lost = "the container's monotonic and boot-time clocks are the host's (uptime shows the host's)"
    options = (Option("--time-offset", "SECONDS", "shift the container's monotonic and boot-time clocks (turns on the time plugin)"),)
    default = False
    changes_runtime_process = True  # unshare(CLONE_NEWTIME): every later child of the runtime

    @classmethod
    def wanted(cls, options):
        return getattr(options, "time_offset", None) is not None

    def prepare(self, ctx):
        # CLONE_NEWTIME is no clone() flag: unshare() puts the *children* of this
        # process into a new time namespace, whose offsets can be set until a process
        # enters it. The container's init is the first one.
        try:
            offset = int(ctx.options.time_offset or 0)
        except ValueError:
            raise ContainerError(USAGE, f"--time-offset: {ctx.options.time_offset!r} is not a whole number of seconds") from None
        ctx.linux.unshare(CLONE_NEWTIME)
        ctx.linux.write_file("/proc/self/timens_offsets", f"monotonic {offset} 0\nboottime {offset} 0\n")

    def explain(self, ctx):
        return f"unshare(CLONE_NEWTIME): CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted by {int(ctx.options.time_offset or 0)} s"
