"""Privileged calls: module loading, keyctl, perf_event_open, bpf, a new user namespace."""

import pytest

from .conftest import blocked, breached

pytestmark = pytest.mark.property("seccomp")

# What the tests below try with the defaults, made in one container (probe.among).
DEFAULTS = [("init-module",), ("finit-module",), ("keyctl",), ("perf-event-open",), ("bpf",), ("unshare-user",)]


def needs_modules(host):
    if host.run("test -e /proc/modules").rc != 0:
        pytest.skip("this kernel has no module support (CONFIG_MODULES off): the call cannot succeed even unconfined")


@pytest.mark.parametrize("technique", ["init-module", "finit-module"])
def test_module_loading_is_blocked(probe, technique):
    v = probe.among(DEFAULTS, technique)
    assert blocked(v) and "EPERM" in v.line, v


@pytest.mark.parametrize("technique", ["init-module", "finit-module"])
def test_module_loading_reaches_the_loader_with_cap_sys_module(probe, host, technique):
    # Its protection: CAP_SYS_MODULE, which the profile requires for these calls too.
    # The "module" is garbage: the loader rejects it (ENOEXEC and the like), nothing loads.
    needs_modules(host)
    assert breached(probe(technique, options=("--cap-add", "SYS_MODULE")))


def test_keyctl_is_blocked(probe):
    assert blocked(probe.among(DEFAULTS, "keyctl"))


def test_keyctl_works_without_seccomp(probe):
    # keyctl needs no capability: the filter is its only protection.
    assert breached(probe("keyctl", options=("--seccomp", "unconfined")))


def test_perf_event_open_is_blocked(probe):
    assert blocked(probe.among(DEFAULTS, "perf-event-open"))


def test_perf_event_open_works_with_cap_perfmon(probe, host):
    # CAP_PERFMON both satisfies the kernel and, as in Docker's profile, allows the call
    # in the filter. Debian's kernels add perf_event_paranoid=3, which wants
    # CAP_SYS_ADMIN on top.
    options = ("--cap-add", "PERFMON")
    if int(host.check_output("cat /proc/sys/kernel/perf_event_paranoid")) > 2:
        options += ("--cap-add", "SYS_ADMIN")
    assert breached(probe("perf-event-open", options=options))


def test_bpf_is_blocked(probe):
    assert blocked(probe.among(DEFAULTS, "bpf"))


def test_bpf_works_with_cap_bpf(probe):
    assert breached(probe("bpf", options=("--cap-add", "BPF")))


def test_new_user_namespace_is_blocked(probe):
    assert blocked(probe.among(DEFAULTS, "unshare-user"))


def test_new_user_namespace_works_without_seccomp(probe, host):
    if host.run("test \"$(cat /proc/sys/user/max_user_namespaces)\" != 0").rc != 0:
        pytest.skip("user namespaces are disabled on this host")
    # Unprivileged user namespaces need no capability: the filter is the protection.
    assert breached(probe("unshare-user", options=("--seccomp", "unconfined")))
