"""The terminal of `docker run -it`: a pty inside the container, relayed to ours.

The container never gets the host's terminal (TIOCSTI on it could type into the host
shell). Its init gets the slave of a pty from its own devpts; the runtime holds the
master, puts our terminal in raw mode and copies bytes both ways, so Ctrl-C is just a
byte that the container's line discipline turns into SIGINT for its foreground job.
Every terminal call goes through the syscall layer (runtime.linux.terminal).
"""

import _signal as signal

_WNOHANG = 1


class Console:
    def __init__(self, linux):
        self.linux = linux
        self._parent_end, self._child_end = linux.fd_socketpair()
        self.master = None

    def attach(self):
        """In the child, after /dev is set up: make a pty the controlling terminal and stdio."""
        linux = self.linux
        master, slave = linux.openpty()  # the container's /dev/ptmx: its own devpts instance
        linux.set_window_size(slave, linux.window_size(0))
        linux.send_fd(self._child_end, master)
        linux.close(master)
        self.take_terminal(slave)

    def take_terminal(self, slave):
        """A session of our own whose controlling terminal and stdio is the pty's slave."""
        linux = self.linux
        linux.setsid()
        linux.set_controlling_terminal(slave)
        for fd in (0, 1, 2):
            linux.dup2(slave, fd)
        linux.close(slave)

    def receive(self):
        """In the parent: take the pty master, or None if the child failed before attach()."""
        self._child_end.close()
        self.master = self.linux.receive_fd(self._parent_end)

    def relay(self, pid):
        """Copy between our terminal and the pty until the container exits; its wait status."""
        linux = self.linux
        wake_read, wake_write = linux.wakeup_pipe()
        previous_wakeup = linux.set_wakeup_fd(wake_write)
        # A handler for SIGCHLD, so that it wakes the wait.
        linux.set_signal_handlers({signal.SIGCHLD: lambda *_: None, signal.SIGWINCH: lambda *_: self._resize()})
        saved = linux.raw_mode(0)
        try:
            self._resize()
            sources = [self.master, 0, wake_read]
            while True:
                done, status = linux.waitpid(pid, _WNOHANG)
                if done:
                    self._drain()
                    return status
                for fd in linux.wait_readable(sources):
                    if fd == wake_read:
                        linux.read(wake_read, 512)
                    elif fd == 0:
                        data = self._read(0)
                        if data:
                            self._write_all(self.master, data)
                        else:
                            self._hang_up(pid, sources)
                    else:
                        data = self._read(self.master)
                        if not data:  # no slave left: the exit is on its way
                            sources.remove(self.master)
                        elif not self._write_all(1, data):
                            self._hang_up(pid, sources)
        finally:
            linux.restore_mode(0, saved)  # False if the terminal is gone: nothing to restore
            linux.set_wakeup_fd(previous_wakeup)
            linux.set_signal_handlers({signal.SIGCHLD: signal.SIG_DFL, signal.SIGWINCH: signal.SIG_DFL})
            linux.close(wake_read)
            linux.close(wake_write)

    def _hang_up(self, pid, sources):
        """Our terminal is gone (in raw mode, EOF means hangup: ^D is just a byte). An init
        ignores the SIGHUP a hangup sends, so end the container as ssh's session would end."""
        if 0 in sources:
            self.linux.kill(pid, signal.SIGKILL)
            sources.remove(0)

    def _resize(self):
        self.linux.set_window_size(self.master, self.linux.window_size(0))

    def _drain(self):
        self.linux.set_blocking(self.master, False)
        try:
            while data := self.linux.read(self.master, 65536):
                self._write_all(1, data)
        except OSError:
            pass

    def close(self):
        for end in (self._parent_end, self._child_end):
            end.close()
        if self.master is not None:
            self.linux.close(self.master)
            self.master = None

    def _read(self, fd):
        """Up to 64 KiB; b"" at end of file or when the terminal is hung up (EIO)."""
        try:
            return self.linux.read(fd, 65536)
        except OSError:
            return b""

    def _write_all(self, fd, data):
        """False if fd can no longer be written (a hung-up terminal)."""
        try:
            while data:
                data = data[self.linux.write(fd, data) :]
        except OSError:
            return False
        return True
