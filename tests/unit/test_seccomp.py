"""The seccomp profile: its shape checked before libseccomp compiles it, rules libseccomp
rejects refused, and the compiled BPF cached."""

import json
import os
import sys

import pytest

from runtime.errors import USAGE, ContainerError
from runtime.linux import Linux
from runtime.plugins import caps, seccomp
from runtime.plugins.seccomp.compile import ProfileError, build_filter, validate

from .fake_linux import FakeLinux

HOST = os.uname()


def test_default_profile_compiles_and_is_cached(tmp_path):
    program = seccomp.load_program(Linux(), seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path))
    assert program and len(program) % 8 == 0
    assert len(list(tmp_path.iterdir())) == 1
    # A hit needs neither the compiler module nor libseccomp.
    sys.modules.pop("runtime.plugins.seccomp.compile", None)
    assert seccomp.load_program(Linux(), seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path)) == program
    assert "runtime.plugins.seccomp.compile" not in sys.modules


def test_a_cache_that_cannot_be_written_fails_the_start_and_leaves_no_partial_program(tmp_path):
    fake = FakeLinux(host=tmp_path, fail={"replace_file": OSError(28, "No space left on device")})
    with pytest.raises(OSError, match="No space"):
        seccomp.load_program(fake, seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path / "cache"))
    assert list((tmp_path / "cache").iterdir()) == []
    # The compiled program went through memory only, not a file of its own.
    assert fake.named("anonymous_file") == [("seccomp-bpf",)]


def test_a_cached_program_of_a_torn_length_is_compiled_again(tmp_path):
    fake = FakeLinux(host=tmp_path)
    program = seccomp.load_program(fake, seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path))
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(program[:-3])
    assert seccomp.load_program(fake, seccomp.DEFAULT_PROFILE, caps.DEFAULT, str(tmp_path)) == program
    assert cached.read_bytes() == program


def test_cache_key_depends_on_caps_and_profile():
    a = seccomp.cache_key(b"{}", caps.DEFAULT, HOST)
    assert a != seccomp.cache_key(b"{}", caps.DEFAULT | {"SYS_ADMIN"}, HOST)
    assert a != seccomp.cache_key(b"{ }", caps.DEFAULT, HOST)
    assert a != seccomp.cache_key(b"{}", caps.DEFAULT, os.uname_result((*HOST[:2], "0.1", *HOST[3:])))


def test_the_binding_that_runs_is_the_declared_one():
    import runtime.plugins.seccomp.compile as compiler

    assert compiler._lib.__name__ == "pyseccomp"


def allow_but(*rules):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules)}


@pytest.mark.parametrize(
    "profile, message",
    [
        ({}, "defaultAction: missing"),
        ({"foo": 1}, "profile: unknown key 'foo'"),
        ([], "profile: not a JSON object"),
        ({"defaultAction": "SCMP_ACT_NOPE"}, "defaultAction: unknown action 'SCMP_ACT_NOPE'"),
        ({"defaultAction": ["SCMP_ACT_ALLOW"]}, "defaultAction: missing, or not an action name"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "1"}, "defaultErrnoRet: not a whole number"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}, "syscalls: not a list"),
        (allow_but({"names": ["mkdir", 3], "action": "SCMP_ACT_ERRNO"}), "syscalls[0].names: not a list of strings"),
        (allow_but({"names": "mkdir", "action": "SCMP_ACT_ERRNO"}), "syscalls[0].names: not a list of strings"),
        (allow_but({"action": "SCMP_ACT_ERRNO"}), "syscalls[0]: no 'names'"),
        (allow_but({"names": ["mkdir"]}), "syscalls[0].action: missing"),
        (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "nmes": []}), "syscalls[0]: unknown key 'nmes'"),
        (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}), "args[0].index"),
        (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "op": "EQ"}]}), "unknown comparison 'EQ'"),
        (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": "SYS_ADMIN"}}), "includes.caps"),
    ],
)
def test_a_malformed_profile_is_refused_before_compiling(profile, message):
    with pytest.raises(ProfileError) as raised:
        validate(profile)
    assert message in str(raised.value)


def test_dockers_own_profile_has_the_shape():
    with open(seccomp.DEFAULT_PROFILE) as f:
        validate(json.load(f))


def test_a_deny_rule_for_a_call_libseccomp_does_not_know_is_refused():
    # Dropped, it would leave the call allowed by the allow-by-default profile.
    profile = allow_but({"names": ["mkdir", "no_such_call"], "action": "SCMP_ACT_ERRNO"})
    with pytest.raises(ProfileError, match="'no_such_call': libseccomp knows no such system call"):
        build_filter(profile, caps.DEFAULT, HOST)


def test_an_allow_rule_for_a_call_libseccomp_does_not_know_is_skipped():
    # As Docker: the call meets the (deny) default action instead, nothing loosens.
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]}
    build_filter(profile, caps.DEFAULT, HOST)


def test_a_rule_libseccomp_rejects_is_refused():
    two_conditions_on_one_argument = [{"index": 1, "op": "SCMP_CMP_EQ", "value": 1}, {"index": 1, "op": "SCMP_CMP_EQ", "value": 2}]
    profile = allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": two_conditions_on_one_argument})
    with pytest.raises(ProfileError, match="'mkdir': libseccomp refuses it"):
        build_filter(profile, caps.DEFAULT, HOST)


@pytest.mark.parametrize("text", ["not json", "{}", '{"foo": 1}'])
def test_bad_profile_is_a_usage_error(tmp_path, text):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ContainerError) as raised:
        seccomp.load_program(Linux(), str(bad), caps.DEFAULT, str(tmp_path / "cache"))
    assert raised.value.code == USAGE and str(bad) in str(raised.value)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
