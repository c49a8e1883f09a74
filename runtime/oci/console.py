"""process.terminal under OCI: the init's pty master goes to the caller's console
socket (runc's docs/terminals.md), which holds it from then on; the slave is the init's
controlling terminal and stdio."""

from .. import errors
from ..console import Console
from ..errors import ContainerError


class ConsoleSocket(Console):
    def __init__(self, linux, path, size=None):
        self.linux = linux
        self.size = size  # (rows, columns) of process.consoleSize
        self.master = None
        try:
            self.socket = linux.connect_unix(path)
        except OSError as e:
            raise ContainerError(errors.RUNTIME_FAILURE, f"console socket {path}: {e.strerror}") from None

    def attach(self):
        linux = self.linux
        master, slave = linux.openpty()  # after pivot_root: the container's own devpts
        if self.size and all(self.size):
            linux.set_window_size(slave, _winsize(*self.size))
        linux.send_fd(self.socket, master)
        linux.close(master)
        self.take_terminal(slave)

    def receive(self):
        """The master went to the socket, not to us."""

    def close(self):
        self.socket.close()


def _winsize(rows, columns):
    return rows.to_bytes(2, "little") + columns.to_bytes(2, "little") + bytes(4)
