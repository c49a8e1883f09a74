"""--seccomp FILE in the OCI runtime spec's form (config.json's linux.seccomp): its
rules hold in a real container, with their errno and argument comparisons, and what
cannot be compiled is one line, exit 64, nothing started."""

import json

import pytest

from .test_errors import assert_clean_failure

pytestmark = pytest.mark.property("seccomp")

PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        # kill(2) with signal 0 only (its second argument): other signals pass.
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
    ],
}
CHECKS = "mkdir /tmp/d 2>&1; kill -0 $$ 2>/dev/null || echo 'kill 0 refused'; kill -CONT $$ && echo 'kill CONT passed'"


@pytest.fixture
def profile(host, workdir):
    def write(content):
        path = f"{workdir}/oci-seccomp-{abs(hash(json.dumps(content))):x}.json"
        host.check_output("printf %%s %s > %s", json.dumps(content), path)
        return path

    return write


def test_the_oci_forms_rules_hold(runtime, profile):
    out = runtime.sh(CHECKS, options=("--seccomp", profile(PROFILE)))
    assert out.rc == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "Permission denied" in lines[0]  # errnoRet 13
    assert lines[1:] == ["kill 0 refused", "kill CONT passed"]  # the argument comparison
    control = runtime.sh(CHECKS, options=("--seccomp", profile({"defaultAction": "SCMP_ACT_ALLOW"})))
    assert control.stdout.splitlines() == ["kill CONT passed"]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"listenerPath": "/run/op-agent.sock"}, "seccomp notification"),
        ({"flags": ["SECCOMP_FILTER_FLAG_LOG"]}, "SECCOMP_FILTER_FLAG_LOG is not supported"),
        ({"architectures": ["SCMP_ARCH_VAX"]}, "unknown architecture"),
    ],
)
def test_what_cannot_be_compiled_is_refused(runtime, profile, change, words):
    assert_clean_failure(runtime.run("true", options=("--seccomp", profile({**PROFILE, **change}))), 64, words)
