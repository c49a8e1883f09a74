"""--version in runc's shape, and features (features.md) as JSON true to what is honoured."""

import json

import pytest

pytestmark = pytest.mark.kernel_independent("--version and features print fixed text: no container")


def test_version_names_the_spec(oci):
    out = oci("--version")
    first, spec = out.stdout.splitlines()
    assert first.startswith("demo-runtime-oci version ") and spec.startswith("spec: 1.")


def test_features_is_the_spec_document(oci):
    # features.md: ociVersionMin and ociVersionMax (REQUIRED), hooks, mountOptions, linux.
    features = json.loads(oci("features").stdout)
    assert features["ociVersionMin"] == "1.0.0" and features["ociVersionMax"].startswith("1.")
    assert features["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    assert {"noexec", "strictatime", "rbind"} <= set(features["mountOptions"])
    assert features["linux"]["seccomp"]["enabled"] is True
    assert {"pid", "network", "ipc", "uts", "mount"} <= set(features["linux"]["namespaces"])
    assert features["linux"]["cgroup"]["systemd"] is False
