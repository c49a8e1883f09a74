"""The runtime spec's features document (features.md): what this runtime honours."""

from .. import __version__
from ..plugins.caps import NAMES
from . import SPEC_VERSION
from .bundle import HOOKS, NAMESPACES

# The hooks run where the runtime runs; those of the container's namespaces are refused.
_HOOKS = [h for h in HOOKS if h not in ("createContainer", "startContainer")]
# Of a bind or tmpfs mount's options, those taken (bundle.py: _BIND_OPTIONS, _TMPFS_OPTIONS).
_MOUNT_OPTIONS = ["bind", "nodev", "nosuid", "private", "rbind", "ro", "rprivate", "rw"]


def features():
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": _HOOKS,
        "mountOptions": _MOUNT_OPTIONS,
        "linux": {
            "namespaces": sorted(n for n in NAMESPACES if n not in ("time",)),
            "capabilities": [f"CAP_{name}" for name in NAMES],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": False},
            "seccomp": {"enabled": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.demo-runtime.version": __version__},
    }
