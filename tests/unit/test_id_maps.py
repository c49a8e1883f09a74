"""--uidmap/--gidmap: podman's CONTAINER:HOST:SIZE, written as the user namespace's maps."""

from types import SimpleNamespace

import pytest

from runtime import plugins
from runtime.errors import ContainerError
from runtime.plugins.userns import id_maps, parse_map


def options(**values):
    return SimpleNamespace(**{"disable": [], "plugin": [], "userns": False, "userns_base": "100000", "uidmap": [], "gidmap": [], **values})


def test_maps_are_the_kernels_lines():
    assert parse_map(["0:200000:1000", "1000:300000:10"], "--uidmap") == "0 200000 1000\n1000 300000 10\n"


def test_one_alone_serves_for_both_and_the_default_is_the_base():
    assert id_maps(options(uidmap=["0:200000:65536"])) == ("0 200000 65536\n",) * 2
    assert id_maps(options(uidmap=["0:1:5"], gidmap=["0:7:5"])) == ("0 1 5\n", "0 7 5\n")
    assert id_maps(options(userns=True)) == ("0 100000 65536\n",) * 2


@pytest.mark.parametrize(
    "specs, message",
    [
        (["0:200000"], "use CONTAINER:HOST:SIZE"),
        (["0:-1:10"], "use CONTAINER:HOST:SIZE"),
        (["0:200000:0"], "empty"),
        (["0:4294967290:10"], "beyond"),
        (["0:200000:100", "50:300000:10"], "container ranges .* overlap"),
        (["0:200000:100", "100:200050:10"], "host ranges .* overlap"),
    ],
)
def test_bad_maps(specs, message):
    with pytest.raises(ContainerError, match=message) as refused:
        parse_map(specs, "--uidmap")
    assert refused.value.code == 64


def test_a_map_turns_the_plugin_on_and_excludes_the_base():
    assert plugins.UserNamespace in plugins.select(options(gidmap=["0:200000:10"]))
    with pytest.raises(ContainerError, match="exclude each other"):
        id_maps(options(uidmap=["0:1:1"], userns_base="300000"))
