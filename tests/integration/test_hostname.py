import pytest

pytestmark = pytest.mark.property("uts")


def test_hostname_option_sets_the_hostname(runtime, host):
    out = runtime.run("hostname", options=("--hostname", "lab-web-1"))
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "lab-web-1"
    assert host.check_output("hostname") != "lab-web-1"


def test_hostname_comes_from_the_image(container, runtime, host):
    inside = host.check_output("debugfs -R 'cat /etc/hostname' %s 2>/dev/null", runtime.target.image).strip()
    assert inside, "the test image must ship /etc/hostname"
    assert container.check_output("hostname") == inside.splitlines()[0]


def test_hostname_derived_from_image_name_without_etc_hostname(runtime, variant_image):
    image = variant_image("Web_42.img", remove=["/etc/hostname"])
    out = runtime.run("hostname", image=image)
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "web-42"


def test_hostname_change_inside_does_not_reach_host(runtime, host):
    before = host.check_output("hostname")
    # sethostname needs CAP_SYS_ADMIN, dropped by default (as in Docker).
    assert runtime.run("hostname", "changed-inside", options=("--cap-add", "SYS_ADMIN")).rc == 0
    assert host.check_output("hostname") == before


def test_invalid_hostname_is_refused(runtime):
    out = runtime.run("true", options=("--hostname", "no spaces allowed"))
    assert out.rc == 64
    assert "invalid hostname" in out.stderr
    assert "Traceback" not in out.stderr
