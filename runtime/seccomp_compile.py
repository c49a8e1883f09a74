"""Compile a seccomp profile in Docker's JSON format to BPF with libseccomp.

Imported only when the cache (runtime.plugins.seccomp) has no program for the profile:
json and the libseccomp bindings stay off the ordinary start path.
"""

import errno
import json
import os

try:
    import seccomp as _lib  # libseccomp's own bindings (python3-seccomp)
except ImportError:
    import pyseccomp as _lib  # the same API over ctypes; the declared dependency

from .plugins.caps import NUMBER

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
# uname -m -> Docker's (Go's) architecture names, and libseccomp's.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le"}
_SCMP_ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64", "riscv64": "SCMP_ARCH_RISCV64"}


class ProfileError(Exception):
    pass


def _kernel_at_least(version):
    have = [int(x) for x in os.uname().release.split("-")[0].split(".")[:2] if x.isdigit()]
    want = [int(x) for x in version.split(".")[:2]]
    return have >= want


def _applies(rule, arch, caps):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    if any(c.upper().removeprefix("CAP_") not in caps for c in inc.get("caps") or ()):
        return False
    if any(c.upper().removeprefix("CAP_") in caps for c in exc.get("caps") or ()):
        return False
    if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
        return False
    if exc.get("minKernel") and _kernel_at_least(exc["minKernel"]):
        return False
    return True


def build_filter(profile, caps, machine=None):
    """A libseccomp SyscallFilter for a Docker-format profile (dict) and the kept caps."""
    machine = machine or os.uname().machine
    arch = _GOARCH.get(machine, machine)

    def action(name, ret):
        if name not in _ACTIONS:
            raise ProfileError(f"unknown action {name!r}")
        return _ACTIONS[name](ret)

    default = action(profile.get("defaultAction", "SCMP_ACT_ERRNO"), profile.get("defaultErrnoRet"))
    flt = _lib.SyscallFilter(default)
    try:  # a binary tree of syscall numbers: half the kernel's load time (libseccomp >= 2.5)
        flt.set_attr(_lib.Attr.CTL_OPTIMIZE, 2)
    except (AttributeError, OSError, ValueError, RuntimeError):
        pass
    native = _SCMP_ARCH.get(machine)
    for entry in profile.get("archMap") or ():
        if entry.get("architecture") == native:
            for sub in entry.get("subArchitectures") or ():
                arch_id = getattr(_lib.Arch, sub.removeprefix("SCMP_ARCH_"), None)
                if arch_id is not None:
                    flt.add_arch(arch_id)
    for rule in profile.get("syscalls") or ():
        if not _applies(rule, arch, caps):
            continue
        act = action(rule.get("action"), rule.get("errnoRet"))
        if act == default:
            continue  # libseccomp refuses a rule that only restates the default
        args = []
        for a in rule.get("args") or ():
            if a.get("op") not in _OPS:
                raise ProfileError(f"unknown comparison {a.get('op')!r}")
            args.append(_lib.Arg(a["index"], _OPS[a["op"]], a.get("value", 0), a.get("valueTwo", 0)))
        for name in rule.get("names") or [rule["name"]]:
            try:
                flt.add_rule(act, name, *args)
            except (ValueError, OSError, RuntimeError):
                pass  # a call this architecture or libseccomp does not know (as Docker does)
    return flt


def compile_profile(profile_bytes, caps, cache_path):
    """Compile, write the BPF to cache_path atomically, and return it."""
    try:
        profile = json.loads(profile_bytes)
    except ValueError as e:
        raise ProfileError(f"not JSON: {e}") from None
    if not isinstance(profile, dict):
        raise ProfileError("not a seccomp profile (a JSON object)")
    flt = build_filter(profile, caps)
    directory = os.path.dirname(cache_path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = f"{cache_path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w+b") as f:
            flt.export_bpf(f)
            f.flush()
            f.seek(0)
            program = f.read()
            os.fsync(f.fileno())
        os.rename(tmp, cache_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return program
