"""Signal dispositions and the mask: the runtime forwards signals to the container,
ignores or resets them in forked children, and wakes its terminal relay with them.
Through the syscall layer, so that the double records what a start set and a unit test
can deliver a signal by calling the handler it holds."""

import _signal  # the C module: `signal` would add an enum import to every start

# The signal the runtime ends processes with, for code outside the layer (which imports
# no signal module of its own).
SIGKILL = _signal.SIGKILL


class Signals:
    def set_signal_handlers(self, handlers):
        """sigaction(2) for each {signum: handler} (a function, SIG_IGN or SIG_DFL);
        returns the previous ones, in the same form, for restoring them."""
        return {signum: _signal.signal(signum, handler) for signum, handler in handlers.items()}

    def signal_handler(self, signum):
        """The handler of signum now, as set_signal_handlers takes it (None: one not set
        from Python)."""
        return _signal.getsignal(signum)

    def block_signals(self, signums):
        """Hold these signals pending (pthread_sigmask(SIG_BLOCK)) until unblock_signals;
        returns those of them that were not blocked already, to unblock only those."""
        return set(signums) - _signal.pthread_sigmask(_signal.SIG_BLOCK, signums)

    def unblock_signals(self, signums):
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, signums)

    def set_wakeup_fd(self, fd):
        """Have a signal's arrival write a byte to fd (-1: none); returns the previous fd."""
        return _signal.set_wakeup_fd(fd)
