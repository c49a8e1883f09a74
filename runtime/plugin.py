"""The plugin contract and the state one container run shares between plugins.

A plugin is one separation concern. The runtime calls its hooks in this order:

  prepare(ctx)        parent, before clone()            e.g. attach the image to a loop device
  clone_flags(ctx)    parent, the flags it adds to clone()   e.g. CLONE_NEWPID
  clone_args(ctx)     parent, other clone3() arguments      e.g. {"cgroup": fd} (CLONE_INTO_CGROUP)
  setup_parent(ctx)   parent, after clone(), while the child waits (ctx.pid is set)
                                                        e.g. uid maps, veth pairs, cgroups
  setup_child(ctx)    child, before exec                e.g. mount, pivot_root, sethostname
  meet_child(ctx)     parent, once the child is let go, while it runs setup_child: the
                      parent's part of a setup_child that stops midway for it
                                                        e.g. OCI's create hooks before pivot_root
  running(ctx)        parent, once the command has been exec'd   e.g. record PID 1 as running
  teardown(ctx)       parent, on every exit path, in reverse order, for each plugin whose
                      prepare() was entered (so it must cope with half-done work)

A plugin whose teardown frees what the kernel does not free by itself (a cgroup
directory, a firewall rule) sets teardown_after_sigkill: a janitor process then runs
the teardowns if the runtime is killed outright. It knows the state that prepare() made.

Plugins run in the order of runtime.plugins.ORDER in every phase.

Each plugin also explains itself, for --explain, --disable and the lessons: `does` says
in kernel terms what it does, `lost` what a container is without it, and explain(ctx)
what it did in this run (the child calls it after every setup_child, before exec).
"""

# Plain classes, not dataclasses: importing dataclasses costs more than a container start.


class Option:
    """A command-line option a plugin contributes; `metavar=None` makes it a switch."""

    def __init__(self, flag, metavar, help, short=None, repeat=False, default=None):
        self.flag = flag
        self.metavar = metavar
        self.help = help
        self.short = short
        self.repeat = repeat
        self.default = [] if repeat else default
        self.dest = flag.lstrip("-").replace("-", "_")


class Context:
    """What one run shares between plugins: the command line, the container's init,
    its root. State only one plugin needs stays in that plugin."""

    def __init__(self, image, command, options, linux, tty=False):
        self.image = image
        self.command = command
        # COMMAND as the command line gave it ([] for none), when the image's defaults
        # may apply (the process plugin); None: `command` is final.
        self.given_command = None
        self.options = options  # the parsed command line (a types.SimpleNamespace)
        self.linux = linux  # runtime.linux.Linux, or a test double
        self.tty = tty
        self.env = {}
        self.pid = 0  # the container's init, as the runtime sees it
        self.exit_status = None  # the runtime's exit status for it, once it has exited
        self.rootfs = None  # the assembled root, in the child, before pivot_root
        self.console = None  # a console of the caller's instead of -t's relay (OCI: a console socket)
        # OCI create: called in the child just before exec as gate(ctx, env, report_fd);
        # it reports the setup done (closing report_fd), waits for `start`, returns None.
        self.gate = None
        self.plugins = ()  # this run's plugins, in order (set by runtime.container.run)

    def plugin(self, name):
        """This run's plugin of that name, or None: a plugin that builds on another's
        result (ports on net's address) asks it, instead of a field of the context."""
        return next((p for p in self.plugins if p.name == name), None)


class Plugin:
    name = ""
    help = ""
    does = ""  # what it does, in kernel terms: "clone(CLONE_NEWPID): ..."
    lost = ""  # what the container is without it: "it sees every host process"
    # (CAPABILITY, what it allows) for a namespace plugin: kept while the plugin is off,
    # that capability acts on the host's own namespace.
    host_power = None
    options = ()
    requires = ()  # names of plugins (or of roles, below) that must run too
    provides = ()  # roles it fills for other plugins' requires: "root" (mount-image or rootfs)
    default = True  # on unless disabled; opt-in plugins say False
    teardown_after_sigkill = False
    # Whether prepare() or setup_parent() changes the runtime's own process for good (a
    # namespace its later children are born in): the Python API then runs the runtime in
    # a fork of its caller, never in the caller itself.
    changes_runtime_process = False

    @classmethod
    def wanted(cls, options):
        """Whether the command line turns this plugin on (for opt-in plugins)."""
        return cls.default

    @classmethod
    def isolates(cls, options):
        """Whether, when on, it gives the container its own namespace (net: not with --net host)."""
        return True

    def explain(self, ctx):
        """One or two lines on what this run got from the plugin, for --explain. Runs in
        the child after pivot_root: no imports."""
        return self.does

    def prepare(self, ctx):
        pass

    def clone_flags(self, ctx):
        return 0

    def clone_args(self, ctx):
        """clone3() arguments beyond the flags, as keywords of Linux.clone (e.g. cgroup=fd)."""
        return {}

    def setup_parent(self, ctx):
        pass

    def setup_child(self, ctx):
        pass

    def meet_child(self, ctx):
        """Returns at once unless setup_child waits for it (then also when the child
        failed before: its report says why)."""

    def running(self, ctx):
        pass

    def teardown(self, ctx):
        pass


def explanations(ctx, plugins):
    """The --explain report: each plugin's explain(), one line each, continuations indented."""
    lines = ["demo-runtime: what each plugin did (--explain):"]
    for plugin in plugins:
        text = plugin.explain(ctx) or plugin.help
        first, *rest = text.splitlines()
        lines.append(f"  {plugin.name}: {first}")
        lines += [f"  {' ' * len(plugin.name)}  {more}" for more in rest]
    return "\n".join(lines) + "\n"
