"""An OCI container's record under --root: runtime.state.State's directory, plus

  exec.fifo   while it exists the init waits at its gate (status `created`); `start`
              opens it, lets the init through and removes it
  teardown    the plugins whose teardown frees what the kernel does not (cgroups), as
              their prepare() left them, for `delete` (pickled: the janitor's way of
              knowing them, written to a root-only directory)

The status is not stored but found, as runc finds it: `creating` while the create
command lives, then `created` or `running` while the init lives (by its pid and start
time), then `stopped`.
"""

import time

from .. import errors
from ..errors import ContainerError
from ..state import State, check_name, names, process_status
from . import SPEC_VERSION

ROOT = "/run/demo-runtime-oci"
FIFO = "exec.fifo"
TEARDOWN = "teardown"


def not_found(container_id):
    # runc's words: clients (containerd's shim) look for "does not exist".
    return ContainerError(errors.NO_SUCH_CONTAINER, f"container {container_id!r} does not exist")


def check_id(container_id):
    try:
        return check_name(container_id)
    except ContainerError:
        raise ContainerError(errors.USAGE, f"invalid container id {container_id!r}: 1-64 letters, digits, '_', '.' and '-'") from None


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e9):09d}Z"


class Record:
    """One container: its State directory and what it recorded."""

    def __init__(self, state, data):
        self.state = state
        self.data = data
        self.id = state.name

    @classmethod
    def find(cls, root, container_id, linux=None):
        check_id(container_id)
        try:
            state = State.find(container_id, root, linux)
            return cls(state, state.load())
        except ContainerError as e:
            if e.code == errors.NO_SUCH_CONTAINER:
                raise not_found(container_id) from None
            raise

    @classmethod
    def all(cls, root, linux=None):
        found = []
        for name in names(root, linux):
            try:
                found.append(cls.find(root, name, linux))
            except ContainerError:  # removed meanwhile
                continue
        return found

    @property
    def fifo(self):
        return f"{self.state.path}/{FIFO}"

    def status(self):
        if self.data["status"] == "creating":
            return "creating" if self.state.supervised() else "stopped"
        if not self.alive():
            return "stopped"
        try:
            self.state.linux.stat(self.fifo)
            return "created"
        except FileNotFoundError:
            return "running"

    def alive(self):
        found = process_status(self.data["pid"], self.state.linux) if self.data.get("pid") else None
        return bool(found) and found[0] not in "ZX" and found[1] == self.data.get("pid_start")

    def spec_state(self, status=None):
        """The state of the runtime spec (runtime.md#state), with runc's extra fields."""
        status = status or self.status()
        return {
            "ociVersion": SPEC_VERSION,
            "id": self.id,
            "pid": self.data.get("pid", 0) if status != "stopped" else 0,
            "status": status,
            "bundle": self.data["bundle"],
            "rootfs": self.data["image"],
            "created": self.data["created"],
            "owner": "",
            "annotations": self.data.get("annotations", {}),
        }

    def save_teardown(self, plugins):
        # pickle's C part, imported here: the pickle module imports re (a sixth of a
        # start) and _pickle functools, which only create and delete need.
        import _pickle

        self.state.linux.replace_file(f"{self.state.path}/{TEARDOWN}", _pickle.dumps(plugins))

    def load_teardown(self):
        import _pickle

        try:
            return _pickle.loads(self.state.linux.read_bytes(f"{self.state.path}/{TEARDOWN}"))
        except FileNotFoundError:
            return []
