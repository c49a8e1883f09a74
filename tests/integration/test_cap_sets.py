"""--cap-set in real containers: the sets as given (effective as the kernel makes it for
root at execve: all of permitted), for an exec'd process too."""

import pytest

from runtime.plugins.caps import NUMBER

from .test_errors import assert_clean_failure

pytestmark = pytest.mark.property("caps")

SETS = (
    "--cap-set", "bounding=KILL,NET_BIND_SERVICE,CHOWN",
    "--cap-set", "permitted=KILL,NET_BIND_SERVICE",
    "--cap-set", "effective=KILL",
    "--cap-set", "inheritable=NET_BIND_SERVICE",
    "--cap-set", "ambient=NET_BIND_SERVICE",
)  # fmt: skip


def bits(*names):
    value = 0
    for name in names:
        value |= 1 << NUMBER[name]
    return value


def capability_sets(status):
    return {line.split()[0].rstrip(":"): int(line.split()[1], 16) for line in status.splitlines() if line.startswith("Cap")}


def expected():
    # Root at execve: effective = permitted (root's file capabilities, capabilities(7));
    # no_new_privs (a default) keeps permitted as given instead of bounding | inheritable.
    permitted = bits("KILL", "NET_BIND_SERVICE")
    inheritable = bits("NET_BIND_SERVICE")
    return {"CapBnd": bits("KILL", "NET_BIND_SERVICE", "CHOWN"), "CapInh": inheritable, "CapAmb": inheritable, "CapPrm": permitted, "CapEff": permitted}


def test_the_sets_given_are_the_commands(runtime):
    out = runtime.run("grep", "^Cap", "/proc/self/status", options=SETS)
    assert out.rc == 0, out.stderr
    assert capability_sets(out.stdout) == expected()
    control = capability_sets(runtime.run("grep", "^Cap", "/proc/self/status").stdout)
    assert control["CapBnd"] != expected()["CapBnd"] and control["CapAmb"] == 0


def test_an_exec_gets_them_too(runtime, names):
    name = runtime.start(names(), options=SETS)
    out = runtime.cli("exec", name, "grep", "^Cap", "/proc/self/status")
    assert out.rc == 0, out.stderr
    assert capability_sets(out.stdout) == expected()


def test_a_non_root_user_keeps_its_ambient_capabilities(runtime):
    given = ("--user", "1000:1000", "--cap-set", "bounding=NET_BIND_SERVICE,KILL", "--cap-set", "permitted=NET_BIND_SERVICE,KILL")
    ambient = ("--cap-set", "inheritable=NET_BIND_SERVICE", "--cap-set", "ambient=NET_BIND_SERVICE")
    out = runtime.run("grep", "^Cap", "/proc/self/status", options=given + ambient)
    assert out.rc == 0, out.stderr
    sets = capability_sets(out.stdout)
    assert (sets["CapEff"], sets["CapPrm"], sets["CapAmb"]) == (bits("NET_BIND_SERVICE"),) * 3
    control = capability_sets(runtime.run("grep", "^Cap", "/proc/self/status", options=given).stdout)
    assert (control["CapEff"], control["CapPrm"], control["CapAmb"]) == (0, 0, 0)  # execve as non-root: none


def test_a_user_change_needs_no_setuid_in_the_containers_set(runtime):
    """runc's default set lacks SETUID and SETGID: the user still changes (before caps)."""
    out = runtime.run("id", "-u", options=("--user", "1000:1000", "--cap-drop", "SETUID,SETGID"))
    assert (out.rc, out.stdout) == (0, "1000\n"), out.stderr


def test_without_sys_admin_in_the_bounding_set_mount_fails(runtime):
    out = runtime.sh("mount -t tmpfs none /mnt && echo mounted", options=("--cap-set", "bounding=SYS_ADMIN", "--cap-set", "permitted=SYS_ADMIN", "--cap-set", "effective=SYS_ADMIN", "--seccomp", "unconfined"))
    assert out.stdout == "mounted\n", out.stderr  # the control: given, it is there
    denied = runtime.sh("mount -t tmpfs none /mnt && echo mounted", options=("--cap-set", "bounding=KILL", "--seccomp", "unconfined"))
    assert denied.rc != 0 and "mounted" not in denied.stdout


@pytest.mark.parametrize(
    "options, words",
    [
        (("--cap-set", "effective=KILL"), "an effective capability must be permitted"),
        (("--cap-set", "bounding=KILL", "--cap-add", "CHOWN"), "excludes --cap-add"),
    ],
)
def test_bad_sets(runtime, options, words):
    assert_clean_failure(runtime.run("true", options=options), 64, words)
