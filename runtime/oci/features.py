"""The runtime spec's features document (features.md): what this runtime honours."""

from .. import __version__
from ..plugins.caps import NAMES
from ..plugins.volumes import TMPFS_FLAGS
from . import SPEC_VERSION
from .bundle import BIND_OPTIONS, HOOKS, NAMESPACES
# Of a bind or tmpfs mount's options, those taken (a tmpfs's size= and mode= too).
_MOUNT_OPTIONS = sorted(BIND_OPTIONS | set(TMPFS_FLAGS))


def features():
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": list(HOOKS),
        "mountOptions": _MOUNT_OPTIONS,
        "linux": {
            "namespaces": sorted(n for n in NAMESPACES if n not in ("time",)),
            "capabilities": [f"CAP_{name}" for name in NAMES],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": False},
            "seccomp": {"enabled": True},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.demo-runtime.version": __version__},
    }
