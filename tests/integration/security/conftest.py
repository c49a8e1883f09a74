"""The escape-attempt suite: each technique runs from inside a container twice.

With the defaults it must be DENIED; with only its protection turned off it must be OK,
so that no test here can pass because the technique itself is broken. The helper that
runs inside is testcontainer/src/probe.c (built into the image by build.sh).
"""

import shlex
import time

import pytest

from ..conftest import serve_on_host


class Verdict:
    def __init__(self, result):
        self.rc = result.rc
        self.line = (result.stdout.strip().splitlines() or [""])[-1]
        self.stderr = result.stderr
        self.word = self.line.split(" ", 1)[0]

    def __repr__(self):
        return f"<{self.line!r} rc={self.rc} stderr={self.stderr.strip()!r}>"


PROBE = "/usr/local/bin/probe"


class Probe:
    """probe(TECHNIQUE, *ARGS, options=()) -> Verdict (.word is OK, DENIED or ERROR), one
    container each; probe.each(CASES, options=()) -> the Verdicts of several techniques
    (each a tuple of probe's arguments) run one after another in one container: one start
    for them all, made by the first test that asks (in its body, so its residue check
    covers that container), the others reading what it found; probe.among(CASES, *CASE)
    -> CASE's."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.found = {}

    def __call__(self, *args, options=()):
        return Verdict(self.runtime.run(PROBE, *args, options=tuple(options)))

    def each(self, cases, options=()):
        key = (tuple(cases), tuple(options))
        if key not in self.found:
            # After each probe (a process of its own: nothing of one reaches the next), a
            # line with its exit status; what it printed before that is its output.
            script = "".join(f"{shlex.join([PROBE, *case])}; printf '\\n{_END} %s\\n' $?; " for case in cases)
            out = self.runtime.sh(script, options=options)
            outputs = out.stdout.split(f"\n{_END} ")
            assert out.rc == 0 and len(outputs) == len(cases) + 1, out
            statuses = [int(part.split("\n", 1)[0]) for part in outputs[1:]]
            texts = [outputs[0], *(part.split("\n", 1)[1] for part in outputs[1:-1])]
            self.found[key] = [Verdict(Ran(rc, text, out.stderr)) for rc, text in zip(statuses, texts)]
        return dict(zip(cases, self.found[key]))

    def among(self, cases, *case, options=()):
        """The Verdict of case (probe's arguments), made with the others of cases (each)."""
        return self.each(cases, options)[case]


_END = "probe-exited"


class Ran:
    """A probe's exit status and output, as Verdict reads a run's."""

    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


@pytest.fixture(scope="module")
def probe(runtime):
    if runtime.run("test", "-x", PROBE).rc != 0:
        pytest.fail("the image has no /usr/local/bin/probe: rebuild it with testcontainer/build.sh where gcc and libc6-dev exist")
    return Probe(runtime)


def require_host_path(host, path, why=""):
    """Skip, saying so, where this kernel lacks what a technique needs."""
    if host.run("test -e %s", path).rc != 0:
        pytest.skip(f"this kernel has no {path}{why}")


def blocked(verdict):
    return verdict.word == "DENIED" and verdict.rc == 1


def breached(verdict):
    return verdict.word == "OK" and verdict.rc == 0


@pytest.fixture
def host_key(host):
    """A key in uid 0's user keyring on the host, which an unmasked /proc/keys lists."""
    script = (
        "import ctypes,sys;l=ctypes.CDLL(None,use_errno=True);"
        "k=l.syscall(248,b'user',b'demo-runtime-escape-suite',b'x',1,-4);"  # add_key, x86_64
        "print(k)"
    )
    if host.check_output("uname -m") != "x86_64":
        pytest.skip("the host key fixture uses the x86_64 add_key number")
    key = host.check_output("python3 -c %s", script)
    if int(key) < 0:
        pytest.skip("could not add a key on the host")
    yield "demo-runtime-escape-suite"
    host.run("python3 -c %s", f"import ctypes;ctypes.CDLL(None).syscall(250,3,{int(key)})")  # keyctl(KEYCTL_REVOKE)
    host.run("python3 -c %s", f"import ctypes;ctypes.CDLL(None).syscall(250,9,{int(key)},-4)")  # KEYCTL_UNLINK from @u


@pytest.fixture
def abstract_socket(host, workdir):
    """A listening abstract unix socket on the host: yields its name."""
    name = f"demo-runtime-escape-{time.monotonic_ns()}"
    ready = f"{workdir}/abstract"
    stop = serve_on_host(host, ready, f"s=socket.socket(socket.AF_UNIX);s.bind('\\0{name}');s.listen(8);open({ready!r},'w').write('up')")
    yield name
    stop()


@pytest.fixture
def host_block_device(host, workdir):
    """(major, minor, first bytes) of a block device the host itself can read.

    The host's root disk when the host can read it; else (a sandbox may forbid even the
    host that) a loop device over a file in workdir, detached after the test.
    """
    root = host.check_output("findmnt -no MAJ:MIN / 2>/dev/null | head -n1; true").strip()
    if root:
        path = host.check_output("readlink -f /dev/block/%s 2>/dev/null; true", root)
        if path and host.run("head -c 512 %s >/dev/null", path).rc == 0:
            major, minor = root.split(":")
            yield major, minor, path
            return
    backing = f"{workdir}/block-device"
    host.check_output("printf 'demo-runtime-escape-suite-disk' > %s && truncate -s 1M %s", backing, backing)
    device = host.check_output("losetup -f --show %s", backing)
    try:
        major, minor = host.check_output("stat -c '%%t %%T' %s", device).split()
        yield str(int(major, 16)), str(int(minor, 16)), device
    finally:
        host.run("losetup -d %s; rm -f %s", device, backing)


@pytest.fixture
def held_bridge(netns, workdir):
    """A bridge of the test's own (br-held, 10.88.0.1/16) in its namespace, held up with
    carrier by a container while the test runs: without a port a bridge has no carrier,
    which flushes its neighbour table and its IPv6 addresses. Its MAC is set (else it
    takes its ports' lowest, and a change flushes the table too). No duplicate address
    detection, so its link-local address is usable at once. Yields its --net option."""
    netns.check(
        "ip link add br-held address 02:00:00:00:00:01 type bridge && sysctl -qw net.ipv6.conf.br-held.accept_dad=0"
        " && ip addr add 10.88.0.1/16 dev br-held && ip link set br-held up"
    )
    option = ("--net", "bridge=br-held")
    try:
        keeper = netns.start_long(option, out=f"{workdir}/keeper.out")
        yield option
        netns.host.check_output(f"kill {keeper}")
        netns.wait_exit(keeper)
    finally:
        netns.check("ip link del br-held")  # the namespace is then as the netns fixture found it
