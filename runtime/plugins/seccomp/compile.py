"""Compile a seccomp profile in Docker's JSON format, or in the OCI runtime spec's
(config.json's linux.seccomp: the same keys but for includes/excludes and archMap,
plus listenerPath), to BPF with libseccomp.

Imported only when the cache (runtime.plugins.seccomp) has no program for the profile:
json and the libseccomp bindings stay off the ordinary start path.

The profile's shape is checked first (validate), so that a malformed one is one clear
line and exit 64, not a filter that kills the container's setup (exit 139, silent).
A rule libseccomp rejects is refused, never dropped: in an allow-by-default profile a
dropped deny rule would loosen the filter. The one exception is Docker's: a rule that
allows a call libseccomp has no name for is skipped, since that call then meets the
default action anyway.
"""

import errno

# The binding, chosen: pyseccomp, libseccomp's Python API over ctypes on the system's
# libseccomp2. libseccomp's own bindings (Debian's python3-seccomp) are not on PyPI,
# so a venv (setup.sh's, the lab's) never sees them, and preferring them would make
# the binding that runs depend on how Python was installed. The compiler is libseccomp
# either way.
import pyseccomp as _lib

from ... import jsontext

_ACTIONS = {
    "SCMP_ACT_ALLOW": lambda ret: _lib.ALLOW,
    "SCMP_ACT_ERRNO": lambda ret: _lib.ERRNO(errno.EPERM if ret is None else ret),
    "SCMP_ACT_KILL": lambda ret: _lib.KILL,
    "SCMP_ACT_KILL_THREAD": lambda ret: _lib.KILL,
    "SCMP_ACT_KILL_PROCESS": lambda ret: _lib.KILL_PROCESS,
    "SCMP_ACT_TRAP": lambda ret: _lib.TRAP,
    "SCMP_ACT_LOG": lambda ret: _lib.LOG,
    "SCMP_ACT_TRACE": lambda ret: _lib.TRACE(errno.EPERM if ret is None else ret),
}
_OPS = {
    "SCMP_CMP_NE": _lib.NE,
    "SCMP_CMP_LT": _lib.LT,
    "SCMP_CMP_LE": _lib.LE,
    "SCMP_CMP_EQ": _lib.EQ,
    "SCMP_CMP_GE": _lib.GE,
    "SCMP_CMP_GT": _lib.GT,
    "SCMP_CMP_MASKED_EQ": _lib.MASKED_EQ,
}
_UNKNOWN_SYSCALL = -1  # libseccomp's __NR_SCMP_ERROR
_LOOSER_THAN_ANY_DEFAULT = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
# uname -m -> Docker's (Go's) architecture names, and libseccomp's.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le"}
_SCMP_ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "riscv64": "SCMP_ARCH_RISCV64"}


class ProfileError(Exception):
    pass


# The filter is loaded with prctl(PR_SET_SECCOMP), which takes no flags. TSYNC has nothing
# to do (the runtime is single-threaded when it loads it); any other flag is refused.
_FLAGS_WITHOUT_EFFECT = {"SECCOMP_FILTER_FLAG_TSYNC"}
_NOTIFY = "seccomp notification (SCMP_ACT_NOTIFY, listenerPath) is not supported"


_TOP = {"comment", "defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags"}
_RULE = {"comment", "names", "name", "action", "errnoRet", "args", "includes", "excludes"}
_ARG = {"index", "value", "valueTwo", "op"}
_FILTER = {"arches", "caps", "minKernel"}


def validate(profile):
    """Raise ProfileError, naming the place, unless `profile` has the shape of Docker's format."""

    def fail(where, what):
        raise ProfileError(f"{where}: {what}")

    def keys(value, known, where):
        if not isinstance(value, dict):
            fail(where, "not a JSON object")
        unknown = sorted(set(value) - known)
        if unknown:
            fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")

    def strings(value, where):  # null is an empty list, as Go writes it
        if not isinstance(value, (list, type(None))) or not all(isinstance(v, str) for v in value or ()):
            fail(where, "not a list of strings")

    def number(value, where, low=0, high=2**64 - 1):
        if type(value) is not int or not low <= value <= high:
            fail(where, f"not a whole number from {low} to {high}")

    def action(value, where):
        if not isinstance(value, str):
            fail(where, "missing, or not an action name such as SCMP_ACT_ERRNO")
        if value == "SCMP_ACT_NOTIFY":
            fail(where, _NOTIFY)
        if value not in _ACTIONS:
            fail(where, f"unknown action {value!r}")

    def items(mapping, key, where):
        value = mapping.get(key)
        if value is not None and not isinstance(value, list):
            fail(where, "not a list")
        return value or []

    for key in ("listenerPath", "listenerMetadata"):
        if key in profile:
            fail(key, _NOTIFY)
    keys(profile, _TOP, "profile")
    action(profile.get("defaultAction"), "defaultAction")
    if "defaultErrnoRet" in profile:
        number(profile["defaultErrnoRet"], "defaultErrnoRet", high=4095)
    if "architectures" in profile:
        strings(profile["architectures"], "architectures")
        for i, name in enumerate(profile["architectures"] or ()):
            if _arch(name) is None:
                fail(f"architectures[{i}]", f"unknown architecture {name!r}")
    if "flags" in profile:
        strings(profile["flags"], "flags")
        for i, flag in enumerate(profile["flags"] or ()):
            if flag not in _FLAGS_WITHOUT_EFFECT:
                fail(f"flags[{i}]", f"{flag} is not supported: the filter is loaded with prctl(PR_SET_SECCOMP), which takes no flags")
    for i, entry in enumerate(items(profile, "archMap", "archMap")):
        keys(entry, {"architecture", "subArchitectures"}, f"archMap[{i}]")
        strings(entry.get("subArchitectures", []), f"archMap[{i}].subArchitectures")
    for i, rule in enumerate(items(profile, "syscalls", "syscalls")):
        where = f"syscalls[{i}]"
        keys(rule, _RULE, where)
        names = rule["names"] if "names" in rule else [rule["name"]] if "name" in rule else None
        if names is None:
            fail(where, "no 'names'")
        strings(names, f"{where}.names")
        action(rule.get("action"), f"{where}.action")
        if "errnoRet" in rule:
            number(rule["errnoRet"], f"{where}.errnoRet", high=4095)
        for j, arg in enumerate(items(rule, "args", f"{where}.args")):
            keys(arg, _ARG, f"{where}.args[{j}]")
            number(arg.get("index"), f"{where}.args[{j}].index", high=5)
            number(arg.get("value", 0), f"{where}.args[{j}].value")
            number(arg.get("valueTwo", 0), f"{where}.args[{j}].valueTwo")
            if not isinstance(arg.get("op"), str) or arg["op"] not in _OPS:
                fail(f"{where}.args[{j}].op", f"unknown comparison {arg.get('op')!r}")
        for part in ("includes", "excludes"):
            if part in rule:
                keys(rule[part], _FILTER, f"{where}.{part}")
                for field in ("arches", "caps"):
                    strings(rule[part].get(field, []), f"{where}.{part}.{field}")
                if not isinstance(rule[part].get("minKernel", ""), str):
                    fail(f"{where}.{part}.minKernel", "not a string such as \"5.8\"")


def _arch(name):
    """libseccomp's number for SCMP_ARCH_NAME, or None."""
    return getattr(_lib.Arch, name.removeprefix("SCMP_ARCH_"), None) if name.startswith("SCMP_ARCH_") else None


def _kernel_at_least(release, version):
    have = [int(x) for x in release.split("-")[0].split(".")[:2] if x.isdigit()]
    want = [int(x) for x in version.split(".")[:2]]
    return have >= want


def _applies(rule, arch, caps, release):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    if any(c.upper().removeprefix("CAP_") not in caps for c in inc.get("caps") or ()):
        return False
    if any(c.upper().removeprefix("CAP_") in caps for c in exc.get("caps") or ()):
        return False
    if inc.get("minKernel") and not _kernel_at_least(release, inc["minKernel"]):
        return False
    if exc.get("minKernel") and _kernel_at_least(release, exc["minKernel"]):
        return False
    return True


def build_filter(profile, caps, uname):
    """A libseccomp SyscallFilter for a Docker-format profile (dict) and the kept caps, for
    the machine and kernel release of `uname` (an os.uname_result)."""
    machine = uname.machine
    arch = _GOARCH.get(machine, machine)

    def action(name, ret):
        return _ACTIONS[name](ret)

    default = action(profile["defaultAction"], profile.get("defaultErrnoRet"))
    flt = _lib.SyscallFilter(default)
    try:  # a binary tree of syscall numbers: half the kernel's load time (libseccomp >= 2.5)
        flt.set_attr(_lib.Attr.CTL_OPTIMIZE, 2)
    except (AttributeError, OSError, ValueError, RuntimeError):
        pass
    native = _SCMP_ARCH.get(machine)
    # The architectures the rules cover besides the native one: the OCI form (and Docker's
    # older one) lists them; Docker's archMap names them per native architecture.
    covered = list(profile.get("architectures") or ())
    for entry in profile.get("archMap") or ():
        if entry.get("architecture") == native:
            covered += entry.get("subArchitectures") or ()
    for name in covered:
        arch_id = _arch(name)
        if arch_id is not None and not flt.exist_arch(arch_id):
            flt.add_arch(arch_id)
    for rule in profile.get("syscalls") or ():
        if not _applies(rule, arch, caps, uname.release):
            continue
        act = action(rule["action"], rule.get("errnoRet"))
        if act == default:
            continue  # libseccomp refuses a rule that only restates the default
        args = [_lib.Arg(a["index"], _OPS[a["op"]], a.get("value", 0), a.get("valueTwo", 0)) for a in rule.get("args") or ()]
        for name in rule["names"] if "names" in rule else [rule["name"]]:
            if _lib.resolve_syscall(_lib.Arch.NATIVE, name) == _UNKNOWN_SYSCALL:
                if rule["action"] in _LOOSER_THAN_ANY_DEFAULT:
                    continue  # as Docker: the call meets the default action instead
                raise ProfileError(f"{rule['action']} rule for {name!r}: libseccomp knows no such system call")
            try:
                flt.add_rule(act, name, *args)
            except (ValueError, OSError, RuntimeError) as e:
                raise ProfileError(f"{rule['action']} rule for {name!r}: libseccomp refuses it: {_why(e)}") from None
    return flt


def _why(error):
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def compile_profile(linux, profile_bytes, caps):
    """The BPF program (bytes) for a Docker-format profile and the kept caps."""
    try:
        profile = jsontext.loads(profile_bytes)
    except ValueError as e:
        raise ProfileError(f"not JSON: {e}") from None
    validate(profile)
    flt = build_filter(profile, caps, linux.uname())
    fd = linux.anonymous_file("seccomp-bpf")  # libseccomp exports into a descriptor
    try:
        flt.export_bpf(_Descriptor(fd))
        return linux.pread(fd, linux.fstat(fd).st_size, 0)
    finally:
        linux.close(fd)


class _Descriptor:
    """What export_bpf takes: anything with fileno()."""

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd
