"""A bundle create cannot use: one line on stderr, a documented exit status, nothing left.

runtime.md, Create: "If the runtime cannot apply a property as specified in the
configuration, it MUST generate an error and a new container MUST NOT be created."
runtime.md, Errors: "generating an error MUST leave the state of the environment as if
the operation were never attempted".
"""

import pytest

pytestmark = pytest.mark.kernel_independent(
    "config.json refused by the bundle's own checks (fields, versions, paths) before any container is made"
)

BAD_BUNDLE, UNSUPPORTED = 90, 91


def _broken(kind):
    def change(config):
        if kind == "unknown ociVersion":
            config["ociVersion"] = "2.0.0"
        elif kind == "missing rootfs":
            config["root"]["path"] = "no-such-rootfs"
        elif kind == "no process.args":
            config["process"]["args"] = []
        elif kind == "relative cwd":
            config["process"]["cwd"] = "tmp"
        elif kind == "unknown namespace":
            config["linux"]["namespaces"].append({"type": "wormhole"})

    return change


@pytest.mark.parametrize("kind", ["unknown ociVersion", "missing rootfs", "no process.args", "relative cwd", "unknown namespace"])
def test_a_malformed_config_is_refused(oci, bundle, ids, kind):
    container_id = ids()
    out, _ = oci.create(bundle(change=_broken(kind)), container_id)
    assert out.rc == BAD_BUNDLE, out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert oci("state", container_id).rc == 71


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_a_config_that_is_not_a_json_object_is_refused(oci, host, bundle, ids, content):
    path = bundle()
    host.check_output("printf %%s %s > %s/config.json", content, path)
    out, _ = oci.create(path, ids())
    assert out.rc == BAD_BUNDLE and "config.json" in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr


def test_a_missing_config_is_refused(oci, host, bundle, ids):
    path = bundle()
    host.check_output("rm %s/config.json", path)
    out, _ = oci.create(path, ids())
    assert out.rc == BAD_BUNDLE and "config.json" in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr


@pytest.mark.parametrize(
    "field, change",
    [
        ("linux.intelRdt", lambda c: c["linux"].update(intelRdt={"closID": "x"})),
        ("process.apparmorProfile", lambda c: c["process"].update(apparmorProfile="p")),
        ("linux.resources.memory.swap", lambda c: c["linux"]["resources"].update(memory={"swap": 1 << 30})),
        ("mounts[0]", lambda c: c["mounts"].insert(0, {"destination": "/x", "type": "nfs", "source": "h:/x"})),
        ("weird", lambda c: c.update(weird=1)),
        ("hooks.precreate", lambda c: c.update(hooks={"precreate": [{"path": "/bin/true"}]})),
    ],
)
def test_a_field_it_does_not_honour_is_refused_by_name(oci, bundle, ids, field, change):
    out, _ = oci.create(bundle(change=change), ids())
    assert out.rc == UNSUPPORTED and f"config.json: {field}" in out.stderr, out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
