"""seccomp: a syscall allowlist compiled by libseccomp, cached as BPF.

libseccomp (its Python bindings: `seccomp`, else the API-compatible `pyseccomp`)
compiles the profile once; the BPF it exports is cached under CACHE_DIR, keyed by the
profile's bytes, the architecture, the kernel release, the kept capabilities (rules
can depend on them, as in Docker's format) and the runtime's version. A start then
only reads the profile, hashes it and reads the cached program: no JSON parsing, no
bindings imported. The child installs the program with prctl(PR_SET_SECCOMP).
"""

import os
import sys

# The C module: hashlib would load OpenSSL on every start. Python 3.12 merged
# _sha256 into _sha2 (Debian 13's python3 has only that one). Chosen by version: a
# failed import searches every sys.path entry (0.14 ms a start).
if sys.version_info >= (3, 12):
    from _sha2 import sha256
else:
    from _sha256 import sha256

from ... import __version__
from ...errors import USAGE, ContainerError
from ...plugin import Option, Plugin
from ..caps import capabilities, mask

DEFAULT_PROFILE = os.path.join(os.path.dirname(__file__), "default.json")
CACHE_DIR = "/var/cache/demo-runtime/seccomp"


def profile_path(options):
    """The profile file to use, or None for no filter."""
    value = getattr(options, "seccomp", None) or "default"
    if value == "unconfined":
        return None
    return DEFAULT_PROFILE if value == "default" else value


def cache_key(profile, kept_caps, uname):
    """Hex digest naming the compiled program for this profile on this machine and
    kernel (`uname`, an os.uname_result)."""
    h = sha256(profile)
    h.update(f"\0{uname.machine}\0{uname.release}\0{mask(kept_caps):x}\0{__version__}".encode())
    return h.hexdigest()


def load_program(linux, path, kept_caps, cache_dir=CACHE_DIR):
    """The BPF program for profile `path`, from the cache or compiled (and cached) now."""
    try:
        profile = linux.read_bytes(path)
    except OSError as e:
        raise ContainerError(USAGE, f"--seccomp: cannot read profile {path}: {e.strerror}") from None
    cached = os.path.join(cache_dir, cache_key(profile, kept_caps, linux.uname()) + ".bpf")
    try:
        program = linux.read_bytes(cached)
        if program and len(program) % 8 == 0:
            return program
    except FileNotFoundError:
        pass
    from .compile import ProfileError, compile_profile  # a miss: libseccomp

    try:
        program = compile_profile(linux, profile, kept_caps)
    except ProfileError as e:
        raise ContainerError(USAGE, f"--seccomp: {path}: {e}") from None
    linux.makedirs(cache_dir, 0o700)
    linux.replace_file(cached, program)  # whole or not at all: a start reads it unlocked
    return program


class Seccomp(Plugin):
    name = "seccomp"
    help = "seccomp allowlist modelled on Docker's default (libseccomp, cached BPF); denied calls fail with EPERM"
    does = "prctl(PR_SET_SECCOMP) with a BPF allowlist: denied system calls fail with EPERM"
    lost = "every system call reaches the kernel: keyctl, bpf, perf_event_open, mount, unshare..."
    options = (
        Option("--seccomp", "PROFILE", "unconfined, default, or a profile FILE in Docker's JSON format or the OCI spec's (linux.seccomp)"),
    )

    def __init__(self):
        self.program = None

    def prepare(self, ctx):
        path = profile_path(ctx.options)
        if path is not None:
            self.program = load_program(ctx.linux, path, capabilities(ctx.options))

    def setup_child(self, ctx):
        # Before caps drops CAP_SYS_ADMIN, so no_new_privs is not needed to load it (as
        # in runc); the profile must then allow what caps and the exec still call:
        # prctl, capset, the console's ioctl/sendmsg/setsid/dup2, and execve.
        if self.program:
            ctx.linux.load_seccomp(self.program)

    def explain(self, ctx):
        if not self.program:
            return "no filter (--seccomp unconfined): every system call reaches the kernel"
        path = profile_path(ctx.options)
        source = "the default profile (Docker's)" if path == DEFAULT_PROFILE else path
        return f"{self.does}\n{len(self.program) // 8} BPF instructions, from {source}"
