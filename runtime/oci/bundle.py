"""config.json onto the plugins: what each field means in demo-runtime's own options.

The mapping is a table, FIELDS, mirroring the config's shape: a nested dict for an
object whose fields map one by one, a function for a field that sets options, REFUSED
for a field no plugin honours (refused when it asks for anything: an empty value or
the default is fine). A field the table does not know is refused too: nothing in a
config is ever ignored. `plan(bundle)` returns a Plan: the options namespace the
plugins read (as `demo-runtime run`'s command line would have set it), the command,
its environment, and what only the OCI layer handles (terminal, hooks, annotations).
"""

import os
from stat import S_IMODE, S_ISBLK, S_ISDIR

from .. import errors, jsontext
from ..errors import ContainerError
from ..plugins.caps import NUMBER as CAPABILITY_NUMBER
from ..plugins.cgroup import check_path as check_cgroup_path
from ..plugins.masked_paths import MASKED, READ_ONLY
from ..plugins.volumes import parse_tmpfs

NOT_SUPPORTED = errors.OCI_UNSUPPORTED


def invalid(message):
    return ContainerError(errors.OCI_BAD_BUNDLE, message)


def unsupported(field, why="not supported by demo-runtime"):
    return ContainerError(NOT_SUPPORTED, f"config.json: {field}: {why}")


class Plan:
    """What a bundle asks for, in the runtime's terms."""

    def __init__(self, bundle, options, linux):
        self.bundle = bundle
        self.linux = linux  # runtime.linux.Linux, or the test double
        self.options = options  # the plugins' options (a types.SimpleNamespace)
        self.command = []
        self.env = {}
        self.uid = self.gid = 0
        self.terminal = False
        self.console_size = None  # (rows, columns)
        self.umask = 0o022  # runc's when the config sets none
        self.hooks = {}  # name -> [{"path", "args", "env", "timeout"}]
        self.annotations = {}
        self.namespaces = {}  # type -> path or None, as listed
        self.mounted = set()  # the plugins whose mounts the config asks for
        self.process = {}  # the process object as given (exec's defaults)
        self.seccomp = None  # linux.seccomp, for a file of the container's

    def disable(self, plugin):
        if plugin not in self.options.disable:
            self.options.disable.append(plugin)

    def set(self, field, dest, value):
        """Set a plugin option; a field whose option no plugin has (yet) is refused."""
        if not hasattr(self.options, dest):
            raise unsupported(field, f"needs the plugin option --{dest.replace('_', '-')}, which demo-runtime does not have yet")
        setattr(self.options, dest, value)


def REFUSED(value, plan, field):
    if value not in (None, "", [], {}, False, 0):
        raise unsupported(field)


def _string(value, field):
    if not isinstance(value, str):
        raise invalid(f"config.json: {field} must be a string")
    return value


def _strings(value, field):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"config.json: {field} must be an array of strings")
    return value


def _integer(value, field):
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"config.json: {field} must be an integer")
    return value


# -- top level --------------------------------------------------------------------------


def _version(value, plan, field):
    major = _string(value, field).split(".")[0]
    if major != "1":
        raise invalid(f"config.json: ociVersion {value!r} is not supported (this runtime speaks 1.x)")


def _root(value, plan, field):
    if not isinstance(value, dict) or "path" not in value:
        raise invalid("config.json: root.path is required")
    path = os.path.join(plan.bundle, _string(value["path"], "root.path"))
    try:
        is_directory = S_ISDIR(plan.linux.stat(path).st_mode)
    except OSError:
        is_directory = False
    if not is_directory:
        raise invalid(f"config.json: root.path {path}: not a directory")
    for key in value:
        if key not in ("path", "readonly"):
            raise unsupported(f"root.{key}")
    from ..plugins import BUILTIN

    if "rootfs" not in BUILTIN:
        raise unsupported("root.path", "a directory as the root needs the rootfs plugin, which this demo-runtime lacks")
    plan.options.rootfs = path
    if value.get("readonly"):
        plan.set("root.readonly", "read_only", True)
    else:
        plan.set("root.readonly", "rw", True)  # the bundle's rootfs, written through


def _hostname(value, plan, field):
    plan.options.hostname = _string(value, field) or None


def _annotations(value, plan, field):
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid("config.json: annotations must map strings to strings")
    plan.annotations = dict(value)


HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def _hooks(value, plan, field):
    if not isinstance(value, dict):
        raise invalid("config.json: hooks must be an object")
    for name, hooks in value.items():
        if name not in HOOKS:
            raise unsupported(f"hooks.{name}", "not a hook of the runtime spec")
        if not isinstance(hooks, list):
            raise invalid(f"config.json: hooks.{name} must be an array")
        for i, hook in enumerate(hooks):
            where = f"hooks.{name}[{i}]"
            if not isinstance(hook, dict) or not isinstance(hook.get("path"), str) or not hook["path"].startswith("/"):
                raise invalid(f"config.json: {where}.path must be an absolute path")
            for key in hook:
                if key not in ("path", "args", "env", "timeout"):
                    raise unsupported(f"{where}.{key}")
            _strings(hook.get("args", []), f"{where}.args")
            _strings(hook.get("env", []), f"{where}.env")
            if "timeout" in hook and (_integer(hook["timeout"], f"{where}.timeout") <= 0):
                raise invalid(f"config.json: {where}.timeout must be positive")
    plan.hooks = value


# -- process ---------------------------------------------------------------------------


def _args(value, plan, field):
    plan.command = _strings(value, field)
    if not plan.command:
        raise invalid("config.json: process.args must name a command")


def _env(value, plan, field):
    for item in _strings(value, field):
        key, _, val = item.partition("=")
        if key:
            plan.env[key] = val


def _cwd(value, plan, field):
    if not _string(value, field).startswith("/"):
        raise invalid(f"config.json: process.cwd {value!r} must be an absolute path")
    plan.options.workdir = value if value != "/" else None


def _terminal(value, plan, field):
    plan.terminal = value is True


def _console_size(value, plan, field):
    if not isinstance(value, dict):
        raise invalid("config.json: process.consoleSize must be an object")
    plan.console_size = (_integer(value.get("height", 0), f"{field}.height"), _integer(value.get("width", 0), f"{field}.width"))


def _uid(value, plan, field):
    plan.uid = _integer(value, field)


def _gid(value, plan, field):
    plan.gid = _integer(value, field)


def _umask(value, plan, field):
    plan.umask = _integer(value, field) & 0o777


def _additional_gids(value, plan, field):
    if value:
        plan.set(field, "group_add", [str(_integer(g, field)) for g in value])


def _no_new_privileges(value, plan, field):
    if value is not True:
        plan.disable("no-new-privs")


def _capability_names(values, field):
    names = set()
    for value in _strings(values, field):
        name = value.upper().removeprefix("CAP_")
        if name not in CAPABILITY_NUMBER:
            raise invalid(f"config.json: {field}: unknown capability {value!r}")
        names.add(name)
    return names


def _capabilities(value, plan, field):
    """The five sets as the caps plugin's --cap-set takes them (a set not given is empty)."""
    if not isinstance(value, dict):
        raise invalid(f"config.json: {field} must be an object")
    for name in value:
        if name not in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            raise unsupported(f"{field}.{name}")
    sets = {name: _capability_names(value[name], f"{field}.{name}") for name in value}
    given = [f"{name}={','.join(sorted(caps))}" for name, caps in sets.items() if caps]
    if given:
        plan.set(field, "cap_set", given)
    else:
        plan.options.cap_drop = ["ALL"]


def _rlimits(value, plan, field):
    if value:
        limits = []
        for i, limit in enumerate(value):
            if not isinstance(limit, dict) or not isinstance(limit.get("type"), str):
                raise invalid(f"config.json: {field}[{i}].type must be a string")
            soft, hard = (_integer(limit.get(k), f"{field}[{i}].{k}") for k in ("soft", "hard"))
            limits.append(f"{limit['type'].removeprefix('RLIMIT_').lower()}={soft}:{hard}")
        plan.set(field, "ulimit", limits)


def _oom_score_adj(value, plan, field):
    plan.set(field, "oom_score_adj", str(_integer(value, field)))


PROCESS = {
    "terminal": _terminal,
    "consoleSize": _console_size,
    "user": {"uid": _uid, "gid": _gid, "umask": _umask, "additionalGids": _additional_gids, "username": REFUSED},
    "args": _args,
    "commandLine": REFUSED,
    "env": _env,
    "cwd": _cwd,
    "capabilities": _capabilities,
    "rlimits": _rlimits,
    "noNewPrivileges": _no_new_privileges,
    "apparmorProfile": REFUSED,
    "selinuxLabel": REFUSED,
    "oomScoreAdj": _oom_score_adj,
    "scheduler": REFUSED,
    "ioPriority": REFUSED,
    "execCPUAffinity": REFUSED,
}


# The options a process object sets (exec starts them from their defaults again).
PROCESS_OPTIONS = ("user", "workdir", "cap_add", "cap_drop", "cap_set", "group_add", "ulimit", "oom_score_adj")
PROCESS_PLUGINS = ("no-new-privs", "caps")  # turned off by what the process object lacks


def _process(value, plan, field):
    plan.process = value
    apply_process(value, plan, field)


def apply_process(value, plan, field="process"):
    """A process object (config.json's, or exec's process.json) onto the plan."""
    if not isinstance(value, dict):
        raise invalid(f"{field} must be an object")
    if "noNewPrivileges" not in value:
        plan.disable("no-new-privs")
    if "capabilities" not in value:
        plan.disable("caps")  # as runc: no capabilities object, no capability dropped
    if "cwd" not in value:
        raise invalid("config.json: process.cwd is required")
    _walk(PROCESS, value, plan, field)
    plan.options.user = f"{plan.uid}:{plan.gid}"


# -- mounts ----------------------------------------------------------------------------

# The mounts a plugin makes itself, by destination: (the types it takes, the plugin).
# Their options are the plugin's own (README: "OCI mounts").
PROVIDED = {
    "/proc": (("proc",), "proc"),
    "/sys": (("sysfs",), "sys"),
    "/dev": (("tmpfs",), "dev"),
    "/dev/pts": (("devpts",), "dev"),
    "/dev/shm": (("tmpfs",), "dev"),
    "/dev/mqueue": (("mqueue",), "dev"),
    "/sys/fs/cgroup": (("cgroup", "cgroup2"), "cgroup"),
}
# Options a bind or tmpfs mount may carry: volumes are nosuid and nodev anyway, and
# open_tree's copy is private.
BIND_OPTIONS = {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "private", "rprivate", "noexec", "exec"}
# Where a bind replaces what a plugin mounts: volumes mount after dev (plugins.ORDER), so a
# bind at /dev/shm covers dev's own shm tmpfs (podman's /dev/shm: a tmpfs on the host).
_BIND_OVER = {"/dev/shm"}


def _mount(mount, plan, field):
    if not isinstance(mount, dict):
        raise invalid(f"config.json: {field} must be an object")
    for key in mount:
        if key not in ("destination", "type", "source", "options"):
            raise unsupported(f"{field}.{key}")
    destination = os.path.normpath(_string(mount.get("destination"), f"{field}.destination"))
    if not destination.startswith("/"):
        raise invalid(f"config.json: {field}.destination {destination!r} must be an absolute path")
    kind = mount.get("type") or ""
    options = _strings(mount.get("options", []), f"{field}.options")
    what = f"{field} ({destination}, type {kind or 'none'})"
    is_bind = kind == "bind" or bool({"bind", "rbind"} & set(options))
    if destination in PROVIDED and not (is_bind and destination in _BIND_OVER):
        types, plugin = PROVIDED[destination]
        if kind not in types:
            raise unsupported(what, f"demo-runtime's {plugin} plugin mounts {destination} as {types[0]}")
        plan.mounted.add(plugin)
        return
    if is_bind:
        source = os.path.join(plan.bundle, _string(mount.get("source"), f"{field}.source"))
        extra = set(options) - BIND_OPTIONS
        if extra:
            raise unsupported(what, f"bind options {', '.join(sorted(extra))} are not supported")
        if ":" in source + destination:
            raise unsupported(what, "a path with ':' cannot be bound")
        flags = [flag for flag in ("ro", "noexec") if flag in options]
        plan.options.volume.append(f"{source}:{destination}" + (":" + ",".join(flags) if flags else ""))
    elif kind == "tmpfs":
        spec = destination + (":" + ",".join(options) if options else "")
        try:
            parse_tmpfs(spec)  # the volumes plugin's own check, said of this field
        except ContainerError as e:
            raise unsupported(what, str(e)) from None
        plan.options.tmpfs.append(spec)
    else:
        raise unsupported(what, f"demo-runtime mounts binds and tmpfs, and {', '.join(PROVIDED)}")


def _mounts(value, plan, field):
    if not isinstance(value, list):
        raise invalid("config.json: mounts must be an array")
    for i, mount in enumerate(value):
        _mount(mount, plan, f"mounts[{i}]")
    for plugin in ("proc", "sys", "dev"):
        if plugin not in plan.mounted:
            plan.disable(plugin)


# -- linux -----------------------------------------------------------------------------

# A namespace type: (the plugin that makes one, how the options share the host's instead).
NAMESPACES = {
    "pid": ("pid", lambda plan: plan.disable("pid")),
    "ipc": ("ipc", lambda plan: plan.disable("ipc")),
    "uts": ("uts", lambda plan: plan.disable("uts")),
    "network": ("net", lambda plan: setattr(plan.options, "net", "host")),
    "cgroup": ("cgroup", lambda plan: None),  # decided with the cgroup mount, below
    "mount": ("mount", None),
    "user": ("userns", lambda plan: None),
    "time": ("time", lambda plan: None),
}


# The namespaces a plugin can join by path instead of making one: type -> its option.
JOINED_BY = {"network": "net", "ipc": "ipc", "uts": "uts", "pid": "pid"}


def _namespaces(value, plan, field):
    if not isinstance(value, list):
        raise invalid(f"config.json: {field} must be an array")
    for i, ns in enumerate(value):
        kind = ns.get("type") if isinstance(ns, dict) else None
        if kind not in NAMESPACES:
            raise invalid(f"config.json: {field}[{i}].type {kind!r} is not a namespace type")
        if kind in plan.namespaces:
            raise invalid(f"config.json: {field}: {kind} is listed twice")
        path = ns.get("path") or None
        plan.namespaces[kind] = path
        if path is not None:
            if kind not in JOINED_BY:
                raise unsupported(f"{field}[{i}].path", f"joining an existing {kind} namespace is not supported")
            plan.set(f"{field}[{i}].path", JOINED_BY[kind], f"ns:{path}")
    for kind, (plugin, share) in NAMESPACES.items():
        if kind not in plan.namespaces:
            if share is None:
                raise unsupported(field, f"a container without its own {kind} namespace is not supported")
            share(plan)
    if "time" in plan.namespaces:
        raise unsupported(f"{field}: time", "a time namespace needs linux.timeOffsets, not supported")


def _id_mappings(value, plan, field):
    if value:
        plan.id_mappings = getattr(plan, "id_mappings", {})
        plan.id_mappings[field] = value


def _masked_paths(value, plan, field):
    masked = set(_strings(value, field))
    plan.options.unmask += sorted(set(MASKED) - masked)
    plan.options.mask += sorted(masked - set(MASKED))


def _readonly_paths(value, plan, field):
    read_only = set(_strings(value, field))
    plan.options.unmask += sorted(set(READ_ONLY) - read_only)
    extra = sorted(read_only - set(READ_ONLY))
    if extra:
        plan.set(field, "read_only_path", extra)


def _seccomp(value, plan, field):
    """The seccomp plugin compiles the spec's form from a file: create writes it into the
    container's directory (plan.seccomp) and points --seccomp there."""
    if not isinstance(value, dict):
        raise invalid(f"config.json: {field} must be an object")
    plan.seccomp = value


def _propagation(value, plan, field):
    if value not in ("", "slave", "rslave"):
        raise unsupported(field, f"{value!r}: the root is always a recursive slave of the host's")


def _sysctl(value, plan, field):
    if value:
        plan.set(field, "sysctl", [f"{k}={v}" for k, v in value.items()])


def _devices(value, plan, field):
    """The dev plugin makes a node of a host device's own type and number: a config's
    device must be the host's node at the same path."""
    for i, device in enumerate(value or ()):
        path = device.get("path") if isinstance(device, dict) else None
        where = f"{field}[{i}]"
        if not isinstance(path, str) or not path.startswith("/dev/"):
            raise unsupported(where, "a device under /dev")
        try:
            st = plan.linux.stat(path)
        except OSError as e:
            raise unsupported(where, f"{path}: {e.strerror} (a device must be the host's node of that path)") from None
        kind = "b" if S_ISBLK(st.st_mode) else "c"
        if (device.get("type"), device.get("major"), device.get("minor")) != (kind, os.major(st.st_rdev), os.minor(st.st_rdev)):
            raise unsupported(where, f"{path} is not the host's {kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")
        for key in ("fileMode", "uid", "gid"):
            if key in device and device[key] != {"fileMode": S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}[key]:
                raise unsupported(f"{where}.{key}", "the node gets the host's mode and owner")
        plan.set(where, "device", plan.options.device + [f"{path}:{path}"] if hasattr(plan.options, "device") else None)


def _cgroups_path(value, plan, field):
    """The cgroup plugin's --cgroup-path: an absolute path is from each hierarchy's root,
    as runc takes it; a relative one (runc: under the runtime's own cgroup) is refused."""
    if _string(value, field):
        try:
            check_cgroup_path(value)
        except ContainerError as e:
            raise unsupported(field, str(e).removeprefix("--cgroup-path ")) from None
        plan.set(field, "cgroup_path", value)


def _pids(value, plan, field):
    limit = _integer(value.get("limit", 0), f"{field}.limit") if isinstance(value, dict) else 0
    plan.options.pids_limit = str(limit) if limit > 0 else "0"


def _memory_limit(value, plan, field):
    if _integer(value, field) > 0:
        plan.options.memory = str(value)


def _cpu(value, plan, field):
    if not isinstance(value, dict):
        raise invalid(f"config.json: {field} must be an object")
    for key, item in value.items():
        if key not in ("quota", "period", "shares"):
            REFUSED(item, plan, f"{field}.{key}")
    if _integer(value.get("shares", 0), f"{field}.shares") > 0:
        plan.options.cpu_shares = str(value["shares"])
    quota = _integer(value.get("quota", 0), f"{field}.quota")
    if quota > 0:
        period = _integer(value.get("period", 100000), f"{field}.period") or 100000
        plan.options.cpus = f"{quota / period:g}"


# What the dev plugin gives and nodev holds to: the default /dev's character devices
# (null zero full random urandom tty, and the pty pair), nothing else opens.
_DEFAULT_DEVICES = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, None)}


def _device_rules(value, plan, field):
    """The devices cgroup list: a deny-all first, then at most the default devices,
    is what the minimal /dev and the nodev root hold to (README: security defaults)."""
    rules = value or []
    if not rules:
        return
    first = rules[0]
    if first.get("allow") is not False or first.get("type", "a") != "a" or first.get("major", -1) not in (-1, None):
        raise unsupported(f"{field}[0]", "demo-runtime's device rule is deny-all, then the default devices")
    for i, rule in enumerate(rules[1:], 1):
        key = (rule.get("major"), rule.get("minor"))
        allowed = key in _DEFAULT_DEVICES or (key[0], None) in _DEFAULT_DEVICES
        if rule.get("allow") is not True or rule.get("type") != "c" or not allowed:
            raise unsupported(f"{field}[{i}]", "only the default devices (null zero full random urandom tty, ptys) are allowed")


RESOURCES = {
    "devices": _device_rules,
    "pids": _pids,
    "memory": {"limit": _memory_limit, "reservation": REFUSED, "swap": REFUSED, "kernel": REFUSED, "kernelTCP": REFUSED,
               "swappiness": REFUSED, "disableOOMKiller": REFUSED, "useHierarchy": REFUSED, "checkBeforeUpdate": REFUSED},
    "cpu": _cpu,
    "blockIO": REFUSED,
    "hugepageLimits": REFUSED,
    "network": REFUSED,
    "rdma": REFUSED,
    "unified": REFUSED,
}  # fmt: skip


def _resources(value, plan, field):
    if not isinstance(value, dict):
        raise invalid(f"config.json: {field} must be an object")
    _walk(RESOURCES, value, plan, field)


LINUX = {
    "namespaces": _namespaces,
    "uidMappings": _id_mappings,
    "gidMappings": _id_mappings,
    "timeOffsets": REFUSED,
    "devices": _devices,
    "netDevices": REFUSED,
    "cgroupsPath": _cgroups_path,
    "resources": _resources,
    "sysctl": _sysctl,
    "seccomp": _seccomp,
    "rootfsPropagation": _propagation,
    "maskedPaths": _masked_paths,
    "readonlyPaths": _readonly_paths,
    "mountLabel": REFUSED,
    "intelRdt": REFUSED,
    "personality": REFUSED,
    "memoryPolicy": REFUSED,
}


def _linux(value, plan, field):
    if not isinstance(value, dict):
        raise invalid("config.json: linux must be an object")
    if "namespaces" not in value:
        raise invalid("config.json: linux.namespaces is required")
    if "maskedPaths" not in value:
        plan.options.unmask += list(MASKED)
    if "readonlyPaths" not in value:
        plan.options.unmask += list(READ_ONLY)
    if "seccomp" not in value:
        plan.options.seccomp = "unconfined"  # as runc: no seccomp object, no filter
    if "resources" not in value or "pids" not in value.get("resources", {}):
        plan.options.pids_limit = "0"  # no pids limit unless the config sets one
    _walk(LINUX, value, plan, field)
    _user_namespace(plan)


def _user_namespace(plan):
    """A user namespace and its maps: the userns plugin's --uidmap and --gidmap."""
    mappings = getattr(plan, "id_mappings", {})
    if "user" not in plan.namespaces:
        if mappings:
            raise invalid("config.json: linux.uidMappings and gidMappings need a user namespace in linux.namespaces")
        return
    for field, dest in (("linux.uidMappings", "uidmap"), ("linux.gidMappings", "gidmap")):
        items = []
        for i, m in enumerate(mappings.get(field, [])):
            numbers = [_integer(m.get(k) if isinstance(m, dict) else None, f"{field}[{i}].{k}") for k in ("containerID", "hostID", "size")]
            items.append(":".join(map(str, numbers)))
        if not items:
            raise invalid(f"config.json: a user namespace needs {field}")
        plan.set(field, dest, items)


# In the order they are applied: root last, as the only field needing a plugin not on
# every runtime, so a malformed config is said to be malformed first.
FIELDS = {
    "ociVersion": _version,
    "process": _process,
    "hostname": _hostname,
    "domainname": REFUSED,
    "mounts": _mounts,
    "hooks": _hooks,
    "annotations": _annotations,
    "linux": _linux,
    "root": _root,
}


def _walk(table, value, plan, path):
    for key, item in sorted(value.items(), key=lambda kv: list(table).index(kv[0]) if kv[0] in table else -1):
        field = f"{path}.{key}" if path else key
        handler = table.get(key)
        if handler is None:
            raise unsupported(field, "not a field demo-runtime knows")
        if isinstance(handler, dict):
            if not isinstance(item, dict):
                raise invalid(f"config.json: {field} must be an object")
            _walk(handler, item, plan, field)
        else:
            handler(item, plan, field)


def read_config(linux, bundle):
    """config.json of the bundle, as a dict; OCI_BAD_BUNDLE if it is missing or malformed."""
    path = os.path.join(bundle, "config.json")
    try:
        config = jsontext.loads(linux.read_bytes(path))
    except OSError as e:
        raise invalid(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise invalid(f"{path} is not JSON: {e}") from None
    if not isinstance(config, dict):
        raise invalid(f"{path} is not a JSON object")
    return config


def plan(bundle, config, options, linux):
    """The Plan of a bundle's config onto `options` (every plugin option at its default)."""
    plan = Plan(linux.absolute_path(bundle), options, linux)
    for required in ("ociVersion", "root", "linux"):
        if required not in config:
            raise invalid(f"config.json: {required} is required")
    _version(config["ociVersion"], plan, "ociVersion")
    if "process" not in config:
        raise invalid("config.json: process is required (demo-runtime starts a process in every container)")
    _walk(FIELDS, config, plan, "")
    if plan.options.hostname is not None and "uts" not in plan.namespaces:
        raise invalid("config.json: hostname needs a uts namespace of its own in linux.namespaces")
    if plan.options.hostname is None and "uts" in plan.namespaces and plan.namespaces["uts"] is None:
        # A new namespace's name is the host's, as runc leaves it; a joined one keeps its own.
        plan.options.hostname = linux.uname().nodename
    cgroup_mount = "cgroup" in plan.mounted
    # The cgroup plugin mounts /sys/fs/cgroup only in a cgroup namespace of its own.
    plan.options.cgroupns = "private" if cgroup_mount or "cgroup" in plan.namespaces else "host"
    return plan
