"""A real distribution: Debian bookworm (debootstrap, cached), run as people run it."""

import pytest

from .debian import bookworm_image
from .targets import REPO_ROOT

pytestmark = pytest.mark.property("debian")

SERVE_AND_FETCH = """
import http.server, threading, urllib.request
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
page = urllib.request.urlopen(f"http://localhost:{server.server_port}/hello.txt", timeout=10).read()
print(page.decode().strip())
"""


@pytest.fixture(scope="module")
def debian(host, target):
    build = str(REPO_ROOT / "testcontainer" / "build.sh") if target.kind == "local" else "/opt/demo-runtime/src/testcontainer/build.sh"
    return bookworm_image(host, build)


def sh(runtime, image, script, options=()):
    result = runtime.run("/bin/sh", "-c", script, options=options, image=image)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def test_python_apt_and_dpkg(runtime, debian):
    out = sh(runtime, debian, "python3 -c 'print(6 * 7)'; apt-get --version | head -n1; dpkg -l python3 | tail -n1")
    answer, apt, python = out.splitlines()
    assert answer == "42"
    assert apt.startswith("apt 2.6")
    assert python.split()[:2] == ["ii", "python3"]


def test_su_to_nobody(runtime, debian):
    assert sh(runtime, debian, "su nobody -s /bin/sh -c id").startswith("uid=65534(nobody) gid=65534(nogroup)")


def test_an_http_server_inside_is_reached_as_localhost(runtime, debian):
    script = f"mkdir -p /srv && cd /srv && echo served > hello.txt && python3 -c '{SERVE_AND_FETCH}'"
    assert sh(runtime, debian, script) == "served"


def test_user_and_workdir(runtime, debian):
    out = sh(runtime, debian, "id -un; id -gn; pwd; echo $HOME", options=("--user", "nobody", "--workdir", "/var/tmp/work"))
    assert out.splitlines() == ["nobody", "nogroup", "/var/tmp/work", "/nonexistent"]


def test_a_volume_round_trip(runtime, debian, host, workdir):
    host.check_output("mkdir -p %s/vol && echo from-host > %s/vol/in", workdir, workdir)
    out = sh(runtime, debian, "cat /data/in; echo from-container > /data/out", options=("-v", f"{workdir}/vol:/data"))
    assert out == "from-host"
    assert host.check_output("cat %s/vol/out", workdir) == "from-container"
