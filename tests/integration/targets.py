"""Where the integration tests run: the Vagrant VM, a host given with --hosts, or here.

The lead's conftest calls::

    from .targets import add_options, select_targets
    def pytest_addoption(parser): add_options(parser)
    targets = select_targets(pytestconfig)    # once per session (cached)

and runs every container test once per target (the ``target`` fixture is
parametrized over them when there are several).

Selection order (``--target auto``, the default):

1. ``--hosts`` given (testinfra's own option; also ``--sudo``, ``--ssh-config``,
   ``--ssh-identity-file``, ``--ansible-inventory``, ``--connection``): those hosts.
   Commands run as root there: with sudo when the login user is not root.
2. VMs of this repository's Vagrantfile are running: each of them over ssh, with sudo.
3. this machine, as root.

``--target local`` / ``--target vagrant`` force one of the last two.
Every choice comes with a one-line reason, printed in the session header.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Where lab/site.yml installs things on a provisioned machine.
PROVISIONED_IMAGE = "/var/lib/demo-runtime/container.img"
PROVISIONED_RUNTIME = "/usr/local/bin/demo-runtime"

TARGET_KEY = pytest.StashKey["list[Target]"]()


@dataclass
class Target:
    name: str  # "local", "vagrant:default", "ssh://host"
    host: "testinfra.host.Host"  # noqa: F821 - runs commands as root on the target
    reason: str  # one line: why this target was chosen
    image: str  # image path on the target
    runtime: str  # command that runs the runtime on the target
    # argv prefix giving an interactive terminal on the target (pexpect);
    # None when the connection type has no terminal (e.g. salt, winrm).
    tty_command: Optional[list[str]] = field(default_factory=list)
    kind: str = "local"  # "local" | "vagrant" | "remote"

    def interactive(self, argv: list[str]) -> list[str]:
        """Full argv to spawn ``argv`` on the target with a terminal (for pexpect).

        Local: argv itself. Over ssh the remote side gets one shell-quoted string,
        so arguments with spaces survive.
        """
        if self.tty_command is None:
            raise RuntimeError(f"target {self.name} offers no interactive terminal")
        if not self.tty_command:
            return list(argv)
        if self.tty_command[0] == "ssh":
            return [*self.tty_command, shlex.join(argv)]
        return [*self.tty_command, *argv]

    def run_argv(self, argv: list[str]) -> list[str]:
        """The runtime invocation as an argv (``runtime`` may hold several words)."""
        return [*shlex.split(self.runtime), *argv]


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("demo-runtime", "demo-runtime integration target")
    group.addoption(
        "--target",
        choices=("auto", "local", "vagrant"),
        default=os.environ.get("DEMO_RUNTIME_TARGET", "auto"),
        help="where the container tests run: auto (default: --hosts, else a running "
        "Vagrant VM of this repo, else here), local, or vagrant. "
        "Env: DEMO_RUNTIME_TARGET.",
    )
    group.addoption(
        "--image",
        default=os.environ.get("DEMO_RUNTIME_IMAGE"),
        help="container image path on the target (default: testcontainer/container.img "
        f"locally, {PROVISIONED_IMAGE} on a VM or remote host). Env: DEMO_RUNTIME_IMAGE.",
    )
    group.addoption(
        "--runtime",
        default=os.environ.get("DEMO_RUNTIME_CMD"),
        help="command that runs the runtime on the target (default: the demo-runtime of "
        f"this venv locally, {PROVISIONED_RUNTIME} on a VM or remote host). "
        "Env: DEMO_RUNTIME_CMD.",
    )
    group.addoption(
        "--kernel-only",
        action="store_true",
        help="skip the tests marked kernel_independent (they say nothing about a kernel: "
        "run them locally); the report lists them. The VM lab runs with it.",
    )
    group.addoption(
        "--report-as",
        metavar="NAME",
        help="the host's name in results/isolation-NAME.md and its column of "
        "results/isolation.md (default: the target's; the VM lab gives each VM's).",
    )


def select_targets(config: pytest.Config) -> list[Target]:
    """Choose the targets once per session; later calls return the same ones."""
    if TARGET_KEY not in config.stash:
        config.stash[TARGET_KEY] = _select(config)
    return config.stash[TARGET_KEY]


def select_target(config: pytest.Config) -> Target:
    """The first target (the only one, unless several hosts or VMs were found)."""
    return select_targets(config)[0]


def get_targets(config: pytest.Config) -> list[Target]:
    """The targets chosen so far, or none (used by the report plugin)."""
    return config.stash.get(TARGET_KEY, [])


# ----------------------------------------------------------------------------
# selection


def _opt(config: pytest.Config, name: str, default=None):
    try:
        value = config.getoption(name)
    except (ValueError, AttributeError):
        return default
    return default if value is None else value


def _select(config: pytest.Config) -> list[Target]:
    mode = _opt(config, "target", "auto")
    hosts = _opt(config, "hosts")
    if hosts and mode != "auto":
        _exit(f"--hosts and --target {mode} contradict each other: give one of them")
    if hosts:
        return _remote_targets(config, hosts)
    if mode == "local":
        return [_local_target(config, "--target local")]
    vms, why_not = _running_vagrant_vms(REPO_ROOT)
    if vms:
        return [_vagrant_target(config, vm) for vm in vms]
    if mode == "vagrant":
        _exit(
            f"--target vagrant, but {why_not}. Start it first: `vagrant up` "
            "(see README, 'The VM lab')."
        )
    return [_local_target(config, f"no --hosts and {why_not}")]


def _exit(msg: str) -> None:
    pytest.exit(f"demo-runtime integration target: {msg}", returncode=pytest.ExitCode.USAGE_ERROR)


# ---- local ------------------------------------------------------------------


def _local_runtime() -> str:
    beside = Path(sys.executable).parent / "demo-runtime"
    if beside.exists():
        return str(beside)
    found = shutil.which("demo-runtime")
    if found is None:  # `-m runtime`, not `-m runtime.cli`: that module only defines main()
        return f"{sys.executable} -m runtime"
    return found


def _local_target(config: pytest.Config, why: str) -> Target:
    import testinfra

    if not sys.platform.startswith("linux"):
        _exit(
            f"the local target needs Linux (this is {sys.platform}). "
            "Use the VM lab instead: `vagrant up && pytest tests/integration`."
        )
    if os.geteuid() != 0:
        _exit(
            "the local target needs root (namespaces, mounts, cgroups), and this "
            "pytest runs as uid %d. Either run it as root "
            "(`sudo .venv/bin/pytest tests/integration`) or use the VM lab: "
            "`vagrant up && pytest tests/integration`." % os.geteuid()
        )
    image = _opt(config, "image") or str(REPO_ROOT / "testcontainer" / "container.img")
    runtime = _opt(config, "runtime") or _local_runtime()
    note = "" if Path(image).exists() else f" (image {image} missing: testcontainer/build.sh builds it)"
    return Target(
        name="local",
        host=testinfra.get_host("local://"),
        reason=f"local host as root ({why}){note}",
        image=image,
        runtime=runtime,
        tty_command=[],
        kind="local",
    )


# ---- vagrant ----------------------------------------------------------------


def _vagrant_dotdir(root: Path) -> Path:
    env = os.environ.get("VAGRANT_DOTFILE_PATH")
    if env:
        p = Path(env)
        return p if p.is_absolute() else root / p
    return root / ".vagrant"


def _running_vagrant_vms(root: Path) -> tuple[list[str], str]:
    """(machine names, "") of the running VMs of root's Vagrantfile, else ([], why not).

    Cheap when there is no VM: vagrant itself only runs when .vagrant holds a
    machine id, i.e. `vagrant up` created one from this Vagrantfile.
    """
    if not (root / "Vagrantfile").exists():
        return [], "this checkout has no Vagrantfile"
    dotdir = _vagrant_dotdir(root)
    created = sorted({p.parts[-3] for p in dotdir.glob("machines/*/*/id")})
    if not created:
        return [], "no Vagrant VM was created from this checkout (no .vagrant/machines/*/*/id)"
    if shutil.which("vagrant") is None:
        return [], "vagrant is not installed"
    try:
        import vagrant  # python-vagrant
    except ImportError:
        return [], "python-vagrant is not installed (pip install -e '.[test]')"
    try:
        v = vagrant.Vagrant(root=str(root), quiet_stdout=True, quiet_stderr=True)
        statuses = v.status()
    except Exception as exc:  # vagrant or its provider failing is "no VM", not a crash
        return [], f"`vagrant status` failed ({type(exc).__name__}: {str(exc).strip()[:200]})"
    running = [s.name for s in statuses if s.state == "running"]
    if not running:
        states = ", ".join(f"{s.name}={s.state}" for s in statuses) or "none"
        return [], f"no Vagrant VM of this checkout is running ({states})"
    return running, ""


def _vagrant_target(config: pytest.Config, machine: str) -> Target:
    import testinfra
    import vagrant

    root = REPO_ROOT
    v = vagrant.Vagrant(root=str(root), quiet_stdout=True, quiet_stderr=True)
    cfg = _vagrant_dotdir(root) / f"ssh-config-{machine}"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(v.ssh_config(vm_name=machine))
    # The Vagrantfile lets the VM's key log in as root (no sudo: ~0.4 s a command
    # under TCG); a VM made otherwise is used through sudo.
    as_root = (
        subprocess.run(
            ["ssh", "-F", str(cfg), "-o", "User=root", "-o", "BatchMode=yes", machine, "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        ).returncode
        == 0
    )
    spec = f"ssh://root@{machine}" if as_root else f"ssh://{machine}"
    host = testinfra.get_host(spec, ssh_config=str(cfg), sudo=not as_root)
    shared = _share_connection(config, host.backend, f"vagrant-{machine}")
    login = ["-o", "User=root"] if as_root else []
    target = Target(
        name=f"vagrant:{machine}",
        host=host,
        reason=(
            f"Vagrant VM '{machine}' of {root / 'Vagrantfile'} is running "
            f"(ssh config from `vagrant ssh-config`, commands {'as root' if as_root else 'via sudo'})"
        ),
        image=_opt(config, "image") or PROVISIONED_IMAGE,
        runtime=_opt(config, "runtime") or PROVISIONED_RUNTIME,
        tty_command=["ssh", "-tt", "-F", str(cfg), *login, *shared, machine, *([] if as_root else ["sudo"])],
        kind="vagrant",
    )
    _check_provisioned(target)
    return target


# ---- --hosts ----------------------------------------------------------------


def _remote_targets(config: pytest.Config, hosts: str) -> list[Target]:
    import testinfra

    specs = [h.strip() for h in hosts.split(",") if h.strip()]
    kw = dict(
        connection=_opt(config, "connection"),
        ssh_config=_opt(config, "ssh_config"),
        ssh_identity_file=_opt(config, "ssh_identity_file"),
        sudo_user=_opt(config, "sudo_user"),
        ansible_inventory=_opt(config, "ansible_inventory"),
        force_ansible=bool(_opt(config, "force_ansible", False)),
    )
    if kw["connection"] is None and all("://" not in s for s in specs):
        # a bare host name: an inventory host with --ansible-inventory, else ssh
        # (testinfra's own default, paramiko, is rarely installed)
        kw["connection"] = "ansible" if kw["ansible_inventory"] else "ssh"
    asked_sudo = bool(_opt(config, "sudo", False))
    found = testinfra.get_hosts(specs, sudo=False, **kw)
    if not found:
        _exit(f"--hosts={hosts} matched no host (check the inventory / host pattern)")
    # one sudo-enabled twin per host, in the same order, for the hosts that need it
    with_sudo: list = []

    def sudo_twin(index: int):
        if not with_sudo:
            with_sudo.extend(testinfra.get_hosts(specs, sudo=True, **kw))
        return with_sudo[index]

    one_spec_each = len(specs) == len(found)  # else a pattern expanded to many hosts
    targets = []
    for i, login in enumerate(found):
        spec = specs[i] if one_spec_each else login.backend.get_pytest_id()
        targets.append(_remote_target(config, login, spec, asked_sudo, lambda i=i: sudo_twin(i)))
    return targets


def _remote_target(config: pytest.Config, login, spec: str, asked_sudo: bool, sudo_twin) -> Target:
    backend = login.backend
    name = backend.get_pytest_id()
    if "://" not in name:
        name = f"{backend.NAME}://{name}"

    sudo = asked_sudo or not _is_root(login)
    how = "as root"
    if sudo:
        how = "via sudo" if asked_sudo else "via sudo (the login user is not root)"
        r = login.run("sudo -n true")
        if r.rc != 0:
            _exit(
                f"{name}: the login user is not root and `sudo -n` fails "
                f"({r.stderr.strip()[:200]}). Log in as root, or give that user "
                "passwordless sudo."
            )
    host = sudo_twin() if sudo else login
    shared = []
    if host.backend.NAME in ("ssh", "safe-ssh"):
        shared = _share_connection(config, host.backend, re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:40])
    target = Target(
        name=name,
        host=host,
        reason=f"--hosts {spec}: {backend.NAME} connection, commands {how}",
        image=_opt(config, "image") or PROVISIONED_IMAGE,
        runtime=_opt(config, "runtime") or PROVISIONED_RUNTIME,
        tty_command=_tty_prefix(config, spec, backend, sudo, shared),
        kind="remote",
    )
    _check_provisioned(target)
    return target


def _is_root(host) -> bool:
    try:
        r = host.run("id -u")
    except Exception as exc:
        _exit(f"cannot reach {host.backend.get_pytest_id()}: {exc}")
    if r.rc != 0:
        _exit(f"cannot run commands on {host.backend.get_pytest_id()}: {r.stderr.strip()[:300]}")
    return r.stdout.strip() == "0"


def _tty_prefix(config: pytest.Config, spec: str, backend, sudo: bool, shared: list[str]) -> Optional[list[str]]:
    """argv prefix for an interactive terminal on the host.

    Built from what we gave testinfra (the host spec, --ssh-config, --ssh-identity-file,
    the inventory's variables through testinfra's public AnsibleRunner), not from the
    internals of its backends."""
    sudo_user = _opt(config, "sudo_user")
    name = backend.get_hostname()
    kind = backend.NAME
    identity = _opt(config, "ssh_identity_file")
    parsed = urlsplit(spec if "://" in spec else f"ssh://{spec}")
    user, port, password = parsed.username, parsed.port, parsed.password
    if kind == "ansible" and not _opt(config, "force_ansible", False):
        from testinfra.utils.ansible_runner import AnsibleRunner

        variables = AnsibleRunner(_opt(config, "ansible_inventory")).get_variables(name)
        kind = variables.get("ansible_connection", "ssh")
        name = variables.get("ansible_host", name)
        user, port = variables.get("ansible_user"), variables.get("ansible_port")
        password = variables.get("ansible_ssh_pass") or variables.get("ansible_password")
        identity = variables.get("ansible_ssh_private_key_file") or identity
        sudo = sudo or bool(variables.get("ansible_become"))
    sudo_argv = (["sudo"] + (["-u", sudo_user] if sudo_user else [])) if sudo else []
    if kind == "local":
        return sudo_argv
    if kind in ("docker", "podman"):
        return [kind, "exec", "-it", name, *sudo_argv]
    if kind not in ("ssh", "safe-ssh", "paramiko", "smart"):
        return None
    argv = ["sshpass", "-p", password, "ssh", "-tt"] if password else ["ssh", "-tt"]
    if _opt(config, "ssh_config"):
        argv += ["-F", _opt(config, "ssh_config")]
    if user:
        argv += ["-o", f"User={user}"]
    if port:
        argv += ["-o", f"Port={port}"]
    if identity:
        argv += ["-i", identity]
    return [*argv, *shared, name, *sudo_argv]


# ---- helpers ----------------------------------------------------------------


def _control_path(tag: str) -> str:
    # unix socket paths are limited to ~108 bytes: keep it short and per-user
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")
    # (this pytest's pid: concurrent sessions never share or close each other's)
    return str(base / f"demo-rt-{os.getuid()}-{os.getpid()}-{tag}")


def _shared_options(controlpath: str, persist: int) -> list[str]:
    return ["-o", "ControlMaster=auto", "-o", f"ControlPath={controlpath}", "-o", f"ControlPersist={persist}s"]


def _share_connection(config: pytest.Config, backend, tag: str) -> list[str]:
    """One ssh connection for every command sent to this host (testinfra's and the
    terminal tests' ssh): a ControlMaster, stopped at the end of the session so no
    ssh process outlives pytest. Returns the ssh options that use it."""
    if backend.controlpath or "controlpath" in (backend.ssh_extra_args or "").lower():
        return []  # the user chose their own
    controlpath = _control_path(tag)
    backend.controlpath = controlpath
    ssh_args = ["-F", backend.ssh_config] if backend.ssh_config else []

    def close() -> None:
        subprocess.run(
            ["ssh", *ssh_args, "-o", f"ControlPath={controlpath}", "-O", "exit", backend.host.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=15,
            check=False,
        )

    config.add_cleanup(close)
    return _shared_options(controlpath, backend.controlpersist)


def _check_provisioned(target: Target) -> None:
    """Add a hint to the reason when the runtime or image is missing there."""
    first = shlex.split(target.runtime)[0]
    try:
        r = target.host.run("command -v %s >/dev/null && test -e %s", first, target.image)
    except Exception as exc:  # ssh exit 255 and the like
        hint = ""
        if target.kind == "vagrant":
            hint = (
                " If the lab runs in a network namespace (lab/hostlab.sh), run pytest "
                "inside it: `lab/hostlab.sh shell`, or `lab/hostlab.sh exec pytest tests/integration`."
            )
        _exit(f"{target.name} is up but cannot be reached: {str(exc).strip()[:300]}.{hint}")
    if r.rc != 0:
        target.reason += (
            f"; WARNING: {first} or {target.image} missing there "
            "(provision it: `vagrant provision` or `ansible-playbook -i HOSTS lab/site.yml`)"
        )
