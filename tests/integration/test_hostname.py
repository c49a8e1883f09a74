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


def test_an_etc_hostname_that_is_the_hosts_own_name_is_passed_over(runtime, host, variant_image, workdir):
    # debootstrap copies the build host's /etc/hostname into the image it makes.
    own = host.check_output("hostname")
    host.check_output("echo %s > %s/hostname", own, workdir)
    image = variant_image("Debian_12.img", remove=["/etc/hostname"])
    host.check_output("debugfs -w -R %s %s", f"write {workdir}/hostname /etc/hostname", image)
    out = runtime.run("hostname", image=image, options=("--explain",))
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "debian-12"
    assert f"hostname debian-12, from the image file's name (its /etc/hostname is this host's own name, {own})" in out.stderr
