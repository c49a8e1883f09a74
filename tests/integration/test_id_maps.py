"""--uidmap/--gidmap in real containers: the maps are the user namespace's, and root in
it is the mapped host id."""

import pytest

from .test_errors import assert_clean_failure

pytestmark = pytest.mark.property("userns")


def test_the_maps_given_are_the_namespaces(runtime):
    out = runtime.sh("cat /proc/self/uid_map /proc/self/gid_map; stat -c %u /", options=("--uidmap", "0:200000:1000", "--uidmap", "1000:300000:10", "--gidmap", "0:400000:65536"))
    assert out.rc == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert rows[:3] == [["0", "200000", "1000"], ["1000", "300000", "10"], ["0", "400000", "65536"]]
    assert rows[3] == ["65534"]  # the image's root-owned files: host root is not mapped


def test_root_in_it_is_the_mapped_host_uid(runtime, host, names):
    name = runtime.start(names(), options=("--uidmap", "0:210000:65536"))
    pid = runtime.state(name)["pid"]
    assert host.check_output("stat -c %%u /proc/%s", str(pid)) == "210000"
    assert host.check_output("awk '/^Gid:/ {print $2}' /proc/%s/status", str(pid)) == "210000"  # the gid map is the same


@pytest.mark.parametrize(
    "options, words",
    [
        (("--uidmap", "0:200000:100", "--uidmap", "50:300000:10"), "overlap"),
        (("--gidmap", "0:200000"), "use CONTAINER:HOST:SIZE"),
        (("--uidmap", "0:1:1", "--userns-base", "300000"), "exclude each other"),
    ],
)
def test_bad_maps(runtime, options, words):
    assert_clean_failure(runtime.run("true", options=options), 64, words)
