"""The testinfra backend and the pytest plugin as a user gets them: `pip install` of this
checkout into a fresh venv, then a user's own test file run with that venv's pytest."""

import subprocess
import sys
import textwrap

import pytest

from ..checkout_builds import one_build_at_a_time
from .targets import REPO_ROOT

pytestmark = [
    pytest.mark.property("api"),
    pytest.mark.kernel_independent("packaging: the pytest plugin and testinfra backend as pip installs them"),
]

USER_TESTS = """
import pytest

@pytest.fixture(scope="module")
def web(demo_runtime_module):
    return demo_runtime_module({image!r}, hostname="web", env={{"MODE": "prod"}})

def test_my_configuration(web):
    assert web.check_output("hostname") == "web"
    assert web.check_output("echo $MODE") == "prod"
    assert web.file("/etc/passwd").contains("^root:")

def test_the_same_container_throughout(web):
    web.run("touch /tmp/seen")
    assert web.file("/tmp/seen").exists
    assert web.check_output("head -c 7 /proc/1/cmdline") == "/bin/sh"
"""

HOSTS_TEST = """
def test_through_hosts(host):
    assert host.backend.NAME == "demo-runtime"
    assert host.check_output("hostname") == "given"
"""


@pytest.fixture(scope="module")
def venv(target, tmp_path_factory):
    if target.kind != "local":
        pytest.skip("installs this checkout into a venv on the machine that runs pytest")
    path = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(path / "bin/pip"), "install", "-q", "--disable-pip-version-check", str(REPO_ROOT), "pytest", "pytest-testinfra"]
    with one_build_at_a_time():
        done = subprocess.run(pip, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def user_pytest(venv, directory, *argv):
    return subprocess.run(
        [str(venv / "bin/pytest"), "-q", "-p", "no:cacheprovider", *argv], cwd=directory, capture_output=True, text=True
    )


def test_the_fixture_in_a_users_test_file(venv, runtime, tmp_path):
    (tmp_path / "test_mine.py").write_text(textwrap.dedent(USER_TESTS.format(image=runtime.target.image)))
    done = user_pytest(venv, tmp_path, "test_mine.py")
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout + done.stderr
    # no_residue: the fixture removed its container (no process, loop device or cgroup left)


def test_hosts_option_reaches_a_running_container(venv, runtime, names, tmp_path):
    name = runtime.start(names(), options=("--hostname", "given"))
    (tmp_path / "test_hosts.py").write_text(HOSTS_TEST)
    done = user_pytest(venv, tmp_path, f"--hosts=demo-runtime://{name}", "test_hosts.py")
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
