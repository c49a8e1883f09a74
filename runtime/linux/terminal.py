"""Terminals: the pty of `-t`, its window size, raw mode, and handing the master from
the container's child to the runtime (runtime.console drives them). termios, tty,
select and socket are imported by the calls that need them, only with a terminal: they
stay off the ordinary start (socket alone imports enum)."""

import fcntl
import os

_WINSIZE = b"\0" * 8  # struct winsize


class Terminals:
    def openpty(self):
        """(master, slave) of a new pty: after pivot_root, from the container's devpts."""
        return os.openpty()

    def window_size(self, fd):
        import termios

        return fcntl.ioctl(fd, termios.TIOCGWINSZ, _WINSIZE)

    def set_window_size(self, fd, size):
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)

    def set_controlling_terminal(self, fd):
        import termios

        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)

    def dup2(self, fd, fd2):
        os.dup2(fd, fd2)

    def raw_mode(self, fd):
        """Put a terminal in raw mode; returns what restore_mode() needs."""
        import termios
        import tty

        saved = termios.tcgetattr(fd)
        tty.setraw(fd)
        return saved

    def restore_mode(self, fd, saved):
        """Back to `saved`; False if the terminal is gone."""
        import termios

        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except termios.error:
            return False
        return True

    def fd_socketpair(self):
        """Two connected sockets that carry descriptors (SOCK_SEQPACKET: one message each).

        The first terminal call, in the runtime before clone(): it imports what the
        others need, since the child can import nothing once it has pivoted."""
        import select  # noqa: F401
        import socket
        import termios  # noqa: F401
        import tty  # noqa: F401

        return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def connect_unix(self, path):
        """A stream socket connected to the unix socket at path (an OCI console socket).

        Like fd_socketpair, made before clone(): it imports what the child's terminal
        calls need once it has pivoted."""
        import select  # noqa: F401
        import socket
        import termios  # noqa: F401
        import tty  # noqa: F401

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(path)
        except OSError as e:
            sock.close()
            raise OSError(e.errno, f"connect: {e.strerror}", path) from None
        return sock

    def send_fd(self, sock, fd):
        import socket

        socket.send_fds(sock, [b"fd"], [fd])

    def receive_fd(self, sock):
        """The descriptor sent on sock, or None at EOF (the sender died before sending)."""
        import socket

        _, fds, _, _ = socket.recv_fds(sock, 16, 1)
        return fds[0] if fds else None

    def wakeup_pipe(self):
        """A non-blocking pipe (read end, write end) for signal.set_wakeup_fd."""
        return os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set_blocking(self, fd, blocking):
        os.set_blocking(fd, blocking)

    def isatty(self, fd):
        return os.isatty(fd)
