"""The terminal of `docker run -it`: a pty inside the container, relayed to ours.

The container never gets the host's terminal (TIOCSTI on it could type into the host
shell). Its init gets the slave of a pty from its own devpts; the runtime holds the
master, puts our terminal in raw mode and copies bytes both ways, so Ctrl-C is just a
byte that the container's line discipline turns into SIGINT for its foreground job.
"""

import fcntl
import os
import select
import socket
import termios
import tty

import _signal as signal


class Console:
    def __init__(self):
        self._parent_end, self._child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.master = None

    def attach(self):
        """In the child, after /dev is set up: make a pty the controlling terminal and stdio."""
        master, slave = os.openpty()  # the container's /dev/ptmx: its own devpts instance
        fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
        socket.send_fds(self._child_end, [b"pty"], [master])
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)

    def receive(self):
        """In the parent: take the pty master, or None if the child failed before attach()."""
        self._child_end.close()
        _, fds, _, _ = socket.recv_fds(self._parent_end, 16, 1)
        self.master = fds[0] if fds else None

    def relay(self, pid):
        """Copy between our terminal and the pty until the container exits; its wait status."""
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD wakes select()
        signal.signal(signal.SIGWINCH, lambda *_: self._resize())
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        try:
            self._resize()
            sources = [self.master, 0, wake_read]
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self._drain()
                    return status
                for fd in select.select(sources, [], [])[0]:
                    if fd == wake_read:
                        os.read(wake_read, 512)
                    elif fd == 0:
                        data = _read(0)
                        if data:
                            _write_all(self.master, data)
                        else:
                            self._hang_up(pid, sources)
                    else:
                        data = _read(self.master)
                        if not data:  # no slave left: the exit is on its way
                            sources.remove(self.master)
                        elif not _write_all(1, data):
                            self._hang_up(pid, sources)
        finally:
            try:
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
            except termios.error:
                pass  # the terminal is gone
            signal.set_wakeup_fd(previous_wakeup)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGWINCH, signal.SIG_DFL)
            os.close(wake_read)
            os.close(wake_write)

    def _hang_up(self, pid, sources):
        """Our terminal is gone (in raw mode, EOF means hangup: ^D is just a byte). An init
        ignores the SIGHUP a hangup sends, so end the container as ssh's session would end."""
        if 0 in sources:
            os.kill(pid, signal.SIGKILL)
            sources.remove(0)

    def _resize(self):
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))

    def _drain(self):
        os.set_blocking(self.master, False)
        try:
            while data := os.read(self.master, 65536):
                _write_all(1, data)
        except OSError:
            pass

    def close(self):
        for end in (self._parent_end, self._child_end):
            end.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None


def _read(fd):
    """Up to 64 KiB; b"" at end of file or when the terminal is hung up (EIO)."""
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


def _write_all(fd, data):
    """False if fd can no longer be written (a hung-up terminal)."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        return False
    return True
