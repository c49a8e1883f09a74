"""--cap-set: the five capability sets given whole (an OCI config's process.capabilities),
checked as the kernel would refuse them, applied in the child."""

from types import SimpleNamespace

import pytest

from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.caps import NUMBER, Capabilities, capabilities, explicit_sets, mask

from .fake_linux import FakeLinux


def options(*cap_set, **values):
    return SimpleNamespace(**{"cap_add": [], "cap_drop": [], "cap_set": list(cap_set), "user": None, **values})


def test_sets_not_given_are_empty_and_the_bounding_set_is_what_is_kept():
    sets = explicit_sets(options("bounding=CAP_CHOWN,KILL,NET_BIND_SERVICE", "effective=CHOWN", "permitted=chown"))
    assert sets["bounding"] == {"CHOWN", "KILL", "NET_BIND_SERVICE"} and sets["effective"] == {"CHOWN"}
    assert sets["inheritable"] == sets["ambient"] == frozenset()
    assert capabilities(options("bounding=KILL")) == {"KILL"}
    assert explicit_sets(options()) is None


@pytest.mark.parametrize(
    "items, values, message",
    [
        (["effective=CHOWN"], {}, "an effective capability must be permitted: CHOWN"),
        (["bounding=KILL", "inheritable=CHOWN"], {}, "inheritable capability must be in the bounding set"),
        (["bounding=KILL", "permitted=KILL", "ambient=KILL"], {}, "an ambient capability must be inheritable"),
        (["permitted=KILL", "permitted=CHOWN"], {}, "given twice"),
        (["limiting=KILL"], {}, "SET one of bounding"),
        (["bounding=WARP"], {}, "unknown capability 'WARP'"),
        (["bounding=KILL"], {"cap_add": ["NET_RAW"]}, "excludes --cap-add"),
    ],
)
def test_what_the_kernel_would_refuse_is_one_usage_error(items, values, message):
    with pytest.raises(ContainerError, match=message) as refused:
        explicit_sets(options(*items, **values))
    assert refused.value.code == 64


def test_the_user_changes_before_caps_drops_what_the_change_needs():
    from runtime import plugins

    order = [c.name for c in plugins.ORDER]
    assert order.index("seccomp") < order.index("process") < order.index("caps") == len(order) - 1


def test_applied_bounding_then_capset_then_ambient():
    fake = FakeLinux()
    fake.get_caps = lambda: (2**41 - 1,) * 3  # the runtime has every capability
    items = ("bounding=KILL,NET_BIND_SERVICE,CHOWN", "permitted=KILL,NET_BIND_SERVICE", "effective=KILL", "inheritable=NET_BIND_SERVICE", "ambient=NET_BIND_SERVICE")
    ctx = Context("/i", ["/bin/sh"], options(*items), fake)
    plugin = Capabilities()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    dropped = {c[0] for c in fake.named("drop_bounding_cap")}
    assert {NUMBER["KILL"], NUMBER["CHOWN"], NUMBER["NET_BIND_SERVICE"]}.isdisjoint(dropped) and NUMBER["SYS_ADMIN"] in dropped
    assert fake.named("set_caps") == [(mask({"KILL"}), mask({"KILL", "NET_BIND_SERVICE"}), mask({"NET_BIND_SERVICE"}))]
    assert fake.named("raise_ambient_cap") == [(NUMBER["NET_BIND_SERVICE"],)]
    names = [c[0] for c in fake.calls]
    assert names.index("clear_ambient_caps") < names.index("set_caps") < names.index("raise_ambient_cap")
