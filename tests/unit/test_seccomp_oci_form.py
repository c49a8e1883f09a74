"""The OCI runtime spec's linux.seccomp form compiles like Docker's: architectures,
errnoRet, defaultErrnoRet and argument comparisons kept; what cannot be compiled
(notification, filter flags, an unknown architecture) is refused, never dropped."""

import os

import pytest
import pyseccomp

from runtime.plugins import caps
from runtime.plugins.seccomp.compile import ProfileError, build_filter, validate

# As runc's spec example (and podman's config.json) write it.
OCI_FORM = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 8}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    ],
}


def pfc(flt, tmp_path):
    with open(tmp_path / "filter.pfc", "w+b") as out:  # libseccomp writes to a descriptor
        flt.export_pfc(out)
    return (tmp_path / "filter.pfc").read_text()


def test_the_oci_form_compiles_with_every_part_kept(tmp_path):
    validate(OCI_FORM)
    flt = build_filter(OCI_FORM, caps.DEFAULT, os.uname_result(("Linux", "host", os.uname().release, "#1", "x86_64")))
    assert flt.exist_arch(pyseccomp.Arch.X86) and flt.exist_arch(pyseccomp.Arch.X32)
    text = pfc(flt, tmp_path)
    assert "action ERRNO(38)" in text  # defaultErrnoRet
    assert "ERRNO(13)" in text  # errnoRet
    assert "if ($a1.lo32 == 0)" in text  # the kill argument (allowed unless signal 0)
    assert "if ($a0.lo32 & 0xffffffff == 8)" in text  # personality's masked comparison
    assert "filter for arch x86 (" in text and "filter for arch x32 (" in text


@pytest.mark.parametrize(
    "change, message",
    [
        ({"listenerPath": "/run/agent.sock"}, "listenerPath: seccomp notification"),
        ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}, "syscalls\\[0\\].action: seccomp notification"),
        ({"flags": ["SECCOMP_FILTER_FLAG_LOG"]}, "flags\\[0\\]: SECCOMP_FILTER_FLAG_LOG is not supported"),
        ({"flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}, "is not supported"),
        ({"architectures": ["SCMP_ARCH_VAX"]}, "architectures\\[0\\]: unknown architecture 'SCMP_ARCH_VAX'"),
        ({"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}, "index"),
    ],
)
def test_what_cannot_be_compiled_is_refused(change, message):
    with pytest.raises(ProfileError, match=message):
        validate({**OCI_FORM, **change})
