"""linux.namespaces[].path: a container joins another's network, IPC and UTS namespaces, as
a Kubernetes pod's app containers join its sandbox's; the same test against
demo-runtime-oci, runc and crun.

config-linux.md, Namespaces: "path (string, OPTIONAL) - namespace file. ... the runtime
MUST place the container process in the namespace associated with that path". A joined
UTS namespace keeps its hostname when the config sets none (runc sets it only if given).
"""

NAMESPACES = ("net", "ipc", "uts")


def test_a_container_joins_the_sandboxs_namespaces_by_path(any_runtime, host, bundle, ids):
    sandbox_id, app_id = ids(), ids()
    sandbox = bundle(("sleep", "1000"), lambda config: config.update(hostname="sandbox"))
    out, exit_code = any_runtime.create(sandbox, sandbox_id)
    assert out.rc == 0, out.stderr
    assert any_runtime("start", sandbox_id).rc == 0
    pid = any_runtime.state(sandbox_id)["pid"]
    joined = {"net": "network", "ipc": "ipc", "uts": "uts"}

    def join(config):
        del config["hostname"]
        config["linux"]["namespaces"] = [
            {"type": t["type"], "path": f"/proc/{pid}/ns/{short}"} if (short := next((s for s, k in joined.items() if k == t["type"]), None)) else t
            for t in config["linux"]["namespaces"]
        ]

    script = "hostname; " + "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES)
    app = any_runtime("run", "--bundle", bundle(("sh", "-c", script), join), app_id)
    assert app.rc == 0, app.stderr
    expected = [host.check_output("readlink /proc/%s/ns/%s", str(pid), n) for n in NAMESPACES]
    assert app.stdout.splitlines() == ["sandbox", *expected]
    assert host.check_output("nsenter -t %s -u hostname", str(pid)) == "sandbox"  # untouched
    assert any_runtime("delete", "--force", sandbox_id).rc == 0
    assert exit_code() == 137
