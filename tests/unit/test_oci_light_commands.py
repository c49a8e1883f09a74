"""demo-runtime-oci's start and kill import no plugin: podman and containerd's shim run each
command in a new interpreter, once or more a container (README: the benchmark under podman)."""

import subprocess
import sys


def test_start_and_kill_import_no_plugin():
    code = (
        "import sys; from runtime.oci import cli, running;"
        "print(sorted(m for m in sys.modules if m.startswith('runtime.plugins') or m in ('runtime.container', 'runtime.oci.bundle')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    control = subprocess.run([sys.executable, "-c", code.replace("running", "lifecycle")], capture_output=True, text=True, check=True)
    assert "runtime.plugins" in control.stdout  # create's module does: what the test would catch
