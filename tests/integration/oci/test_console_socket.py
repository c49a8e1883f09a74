"""process.terminal with --console-socket: the pty master reaches the caller over the
unix socket (SCM_RIGHTS), the slave is the container's controlling terminal.

runc's docs/terminals.md (what conmon and containerd implement): "the runtime will
create a new pseudo-terminal ... and send the master file descriptor over the socket";
runtime.md, Errors: a console socket that does not exist is an error that leaves nothing.
"""

import json

import pytest

# Listens on argv[1]; once listening, the foreground part ends. Takes one fd, checks it
# is a terminal, reads it until the slave side is gone and writes all it read to the
# FIFO argv[2].
LISTENER = r"""
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
if os.fork():
    sys.exit(0)
os.setsid()
for fd in (0, 1, 2):
    os.dup2(os.open(os.devnull, os.O_RDWR), fd)
connection, _ = s.accept()
_, fds, _, _ = socket.recv_fds(connection, 4096, 1)
said = b"is a tty: %d\n" % os.isatty(fds[0])
while True:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    said += chunk
with open(sys.argv[2], "wb") as f:
    f.write(said)
"""


def test_the_master_goes_to_the_console_socket(oci, host, bundle, ids):
    def terminal(config):
        config["process"]["terminal"] = True
        config["process"]["consoleSize"] = {"height": 30, "width": 100}

    path, container_id = bundle(("sh", "-c", "tty; stty size; echo hello"), terminal), ids()
    socket_path, said = f"{path}/console.sock", f"{path}/said"
    host.check_output("mkfifo %s && python3 -c %s %s %s", said, LISTENER, socket_path, said)
    out, exit_code = oci.create(path, container_id, "--console-socket", socket_path)
    assert out.rc == 0, out.stderr
    assert oci("start", container_id).rc == 0
    text = host.check_output("timeout 60 cat %s", said).replace("\r", "")
    assert text.splitlines() == ["is a tty: 1", "/dev/pts/0", "30 100", "hello"]
    assert exit_code() == 0


def test_a_console_socket_that_does_not_exist_is_refused(oci, bundle, ids):
    path, container_id = bundle(change=lambda c: c["process"].update(terminal=True)), ids()
    out, _ = oci.create(path, container_id, "--console-socket", f"{path}/no-such.sock")
    assert out.rc == 125 and "console socket" in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr
    assert oci("state", container_id).rc == 71


@pytest.mark.kernel_independent("process.terminal without --console-socket: refused by the bundle checks, no container")
def test_a_terminal_without_a_console_socket_is_refused(oci, bundle, ids):
    path, container_id = bundle(change=lambda c: c["process"].update(terminal=True)), ids()
    out, _ = oci.create(path, container_id)
    assert out.rc == 64 and "--console-socket" in out.stderr, out.stderr
    assert json.loads(oci("list", "--format", "json").stdout or "[]") == [] or oci("state", container_id).rc == 71
