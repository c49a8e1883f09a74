"""Network namespaces for the tests that need a network of their own (bridge, ports,
NAT, raw sockets): each test makes one, runs demo-runtime in it with `ip netns exec`,
and finds it as it left it. The fixtures are registered in conftest.py."""

import contextlib
import glob
import os
import shlex
import subprocess
import time
import uuid

import pytest

from runtime.linux import CLONE_NEWNET, Linux

from .containers import Runtime

BRIDGE = "--net", "bridge"
# A container init that ends on SIGTERM (PID 1 gets no default actions: `sleep` would not).
# Says "trapped" once a TERM (forwarded by the runtime) would end it. It waits on one long
# sleep (the trap interrupts the wait), not a loop of short ones: under TCG ten forks and
# execs a second took about half a vCPU from the tests beside it.
LONG = ("/bin/sh", "-c", "trap 'exit 0' TERM; echo trapped; while :; do sleep 3600 & wait $!; done")


class NsRuntime(Runtime):
    """demo-runtime run with `ip netns exec NS` in front. In-process (where the runtime it
    is made from is) a run forks with this thread moved into NS, which the child and all
    the runtime starts inherit, as under `ip netns exec` (whose private /sys and
    /etc/netns binds the runtime does not read)."""

    def __init__(self, runtime, namespace):
        super().__init__(runtime.target, runtime.in_process)
        self.namespace = namespace
        if self.in_process:
            # Imported here once, not in each forked start's child (net.py imports it on
            # first use): 1.7 s of a vCPU a bridged start under TCG, as a caller's own
            # runs after its first find it imported.
            import pyroute2  # noqa: F401

    def cli_argv(self, argv):
        return ["ip", "netns", "exec", self.namespace, *super().cli_argv(argv)]

    def run(self, *command, options=(), image=None, stdin=None):
        if not self.in_process:
            return super().run(*command, options=options, image=image, stdin=stdin)
        with entered(f"/run/netns/{self.namespace}"):
            return super().run(*command, options=options, image=image, stdin=stdin)

    def spawn_cli(self, *argv, stdin="/dev/null", out):
        if not self.in_process:
            return super().spawn_cli(*argv, stdin=stdin, out=out)
        with entered(f"/run/netns/{self.namespace}"):
            return super().spawn_cli(*argv, stdin=stdin, out=out)


@contextlib.contextmanager
def entered(netns_path):
    """This thread in the network namespace at netns_path, then back in its own."""
    linux = Linux()
    own, other = os.open("/proc/self/ns/net", os.O_RDONLY), os.open(netns_path, os.O_RDONLY)
    try:
        linux.setns(other, CLONE_NEWNET)
        yield
    finally:
        linux.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(other)


class Netns:
    def __init__(self, host, runtime, name):
        self.host = host
        self.name = name
        self.runtime = NsRuntime(runtime, name)
        self.pids = []
        self.forked = {}  # pid -> Forked: the runtimes start() forked from this process
        # The target is this machine: its files and processes are read by this process.
        # (A poll by `cat` or `ps` is a new process or two each 0.1 s, ~0.1 s of a vCPU
        # each under TCG, taken from the starts being waited for.)
        self.local = runtime.target.kind == "local"

    def read(self, path):
        """The text of a file on the target ("" if there is none, or its process ended
        between the open and the read: ESRCH)."""
        if not self.local:
            return self.host.run(f"cat {path}").stdout
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except (FileNotFoundError, ProcessLookupError):
            return ""

    def run(self, script):
        """A host shell command inside the namespace."""
        return self.host.run(f"ip netns exec {self.name} sh -c {shlex.quote(script)}")

    def check(self, script):
        out = self.run(script)
        assert out.rc == 0, f"{script}: {out.stderr}"
        return out.stdout

    def start(self, *command, options=BRIDGE, out):
        """A container in the background; returns the runtime's pid. In-process a fork of
        this interpreter (Runtime.spawn), else `ip netns exec`, which execs the runtime."""
        if self.runtime.in_process:
            started = self.runtime.spawn(*command, options=options, out=out)
            pid = started.pid
            self.forked[pid] = started
        else:
            line = self.runtime.line(*command, options=options)
            pid = int(self.host.check_output(f"{line} >{out} 2>&1 </dev/null & echo $!"))
        self.pids.append(pid)
        return pid

    def start_long(self, options=BRIDGE, *, out):
        """LONG in the background, once its TERM trap is set; returns the runtime's pid."""
        pid = self.start(*LONG, options=options, out=out)
        wait_for(lambda: "trapped" in self.read(out), "the container's TERM trap", self.ended(pid, out))
        return pid

    def ended(self, pid, out=None):
        """For wait_for: why the runtime `pid` can no longer do what is awaited (it ended)."""
        return lambda: not self.running(pid) and f"runtime {pid} ended ({self.read(out) if out else ''})"

    def running(self, pid):
        if pid in self.forked:
            return self.forked[pid].status() is None  # (reaps it)
        if self.local:
            stat = self.read(f"/proc/{pid}/stat")
            return bool(stat) and stat.rpartition(")")[2].split()[0] != "Z"
        return self.host.run(f"ps -o stat= -p {pid} | grep -qv Z").rc == 0

    def wait_exit(self, pid):
        wait_for(lambda: not self.running(pid), f"runtime {pid} to exit")

    def listen(self, address, reply, workdir):
        """A TCP service inside the namespace (not in a container), IPv4 or IPv6: its port."""
        port_file = f"{workdir}/port-{uuid.uuid4().hex[:6]}"
        script = (
            f"import socket;s=socket.socket(socket.AF_INET6 if ':' in {address!r} else socket.AF_INET);s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            f"s.bind(({address!r},0));s.listen(8);open({port_file!r},'w').write(str(s.getsockname()[1]));"
            f"[(c.sendall(({reply!r}+' '+a[0]+'\\n').encode()),c.close()) for c,a in iter(s.accept,None)]"
        )
        pid = self.host.check_output(
            f"ip netns exec {self.name} python3 -c {shlex.quote(script)} >/dev/null 2>&1 & echo $!"
        )
        self.pids.append(int(pid))
        wait_for(lambda: self.read(port_file), "the listener", lambda: not self.running(int(pid)) and f"the listener {pid} ended")
        return int(self.read(port_file))

    def snapshot(self):
        """Links, addresses, routes and firewall rules in the namespace, and the runtime's
        state directory for it. (Not ip_forward: --nat leaves it on, see the NAT test.)
        Where the target is this machine, read by this process (netlink from a thread in
        the namespace, and nft started from it): two processes, not a shell's dozen."""
        n = self.name
        if self.local:
            with entered(f"/run/netns/{n}"):
                links = netlink_view(routes=True)
                rules = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
            state = sorted(glob.glob(f"/run/demo-runtime/net/{os.stat(f'/run/netns/{n}').st_ino}-*"))
            return "\n".join([links, rules, *state])
        return self.host.check_output(
            f"ip -n {n} -o link | awk -F': ' '{{print $2}}' | cut -d@ -f1;"
            f"ip -n {n} -o addr | awk '{{print $2, $3, $4}}';"
            # (a bridge's carrier, "linkdown", follows its ports: state, not residue)
            f"{{ ip -n {n} route; ip -n {n} -6 route; }} | sed 's/ linkdown//';"
            f"ip netns exec {n} nft list ruleset;"
            f"ls -d /run/demo-runtime/net/$(stat -L -c %i /run/netns/{n})-* 2>/dev/null; true"
        )

    def machine_links(self):
        """The machine's own namespace: link names and addresses, read-only."""
        if self.local:
            return netlink_view(routes=False)
        return self.host.check_output("ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1; ip -o addr | awk '{print $2, $4}'")


MAIN_TABLE = 254  # RT_TABLE_MAIN


def netlink_view(routes):
    """This thread's network namespace as text: its links' names, addresses and, with
    routes, the main table's routes, as `ip route` lists them (the local table follows
    the addresses, an IPv6 one's route only once its duplicate detection ends), not
    their flags (a bridge's "linkdown" follows its ports: state, not residue)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        lines = sorted(names.values())
        lines += sorted(f"{names.get(a['index'])} {a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr())
        if routes:
            lines += sorted(
                " ".join(str(field) for field in (r["family"], r.get_attr("RTA_DST"), r["dst_len"],
                                                  r.get_attr("RTA_GATEWAY"), names.get(r.get_attr("RTA_OIF")), r["proto"], r["scope"], r["type"]))
                for r in ipr.get_routes()
                if r.get_attr("RTA_TABLE") == MAIN_TABLE
            )
    return "\n".join(lines)


# A bound for an event that never comes (a hang), not a time anything should take: under
# TCG on a loaded machine a start alone can take tens of seconds, and no verdict may
# depend on the machine's load.
HANG = 300


def wait_for(condition, what, ended=None):
    """Until condition() holds. ended(): a reason (a true value) once the event can no
    longer come, e.g. the process that would make it exited: fails then, at once."""
    deadline = time.monotonic() + HANG
    while not condition():
        gone = ended() if ended else None
        if gone and not condition():
            pytest.fail(f"waiting for {what}: {gone}")
        if time.monotonic() > deadline:
            pytest.fail(f"waiting for {what}: nothing after {HANG} s (a hang)")
        time.sleep(0.1)


def settled(read, done):
    """read() until done(its value) holds, or at most HANG: the last value read. For what
    the kernel finishes after the call that started it (a loop device's autoclear, a
    reaped process, a veth's peer): a leak shows in the value, reported by the caller."""
    deadline = time.monotonic() + HANG
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def until(condition):
    """Shell (sh, busybox's too): until the shell condition holds, polled; gives up at
    the same hang bound as wait_for (the caller's next command then says what is wrong).
    Not for testinfra's %-formatting (it holds `date +%s`): build the line with f-strings."""
    return f"end=$(($(date +%s) + {HANG})); until {condition}; do [ $(date +%s) -lt $end ] || break; sleep 0.05; done"


@pytest.fixture(scope="session")
def ip_netns_ready(host):
    """`ip netns add` mounts /run/netns the first time and leaves it: have that happen
    before any test's residue snapshot, so it is not taken for the runtime's."""
    if host.run("command -v nft && command -v ip").rc != 0:
        pytest.fail("the bridge tests need ip (iproute2) and nft (nftables) on the target")
    prime = f"dr-test-prime-{uuid.uuid4().hex[:8]}"  # sessions at once (pytest -n) each prime
    host.check_output(f"ip netns add {prime} && ip netns del {prime}")


@pytest.fixture
def netns(host, runtime, ip_netns_ready):
    name = f"dr-test-{uuid.uuid4().hex[:8]}"
    host.check_output(f"ip netns add {name} && ip -n {name} link set lo up")
    ns = Netns(host, runtime, name)
    machine_before = ns.machine_links()
    ns.before = ns.snapshot()
    try:
        yield ns
        # The runtime's teardown is synchronous, but the kernel frees a veth's peer and
        # routes after the netns holding it goes: wait for that (a leak fails at HANG).
        after = settled(ns.snapshot, lambda now: now == ns.before)
        assert after == ns.before, f"left behind in {name}:\nbefore:\n{ns.before}\nafter:\n{after}"
        assert ns.machine_links() == machine_before
    finally:
        for pid in ns.pids:
            host.run(f"kill {pid} 2>/dev/null")
        for pid in ns.pids:
            ns.wait_exit(pid)
        host.run(f"ip netns del {name}")
