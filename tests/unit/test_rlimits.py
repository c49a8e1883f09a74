"""--ulimit and --oom-score-adj: docker's forms parsed, set in the child, errors in one line."""

from types import SimpleNamespace

import pytest

from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.rlimits import Rlimits, parse_oom_score_adj, parse_ulimits

from .fake_linux import FakeLinux


@pytest.mark.parametrize(
    "specs, expected",
    [
        (["nofile=1024:2048"], {"nofile": (1024, 2048)}),
        (["nproc=64"], {"nproc": (64, 64)}),  # one value: soft and hard
        (["core=0:unlimited", "RLIMIT_STACK=-1"], {"core": (0, None), "stack": (None, None)}),
        (["memlock=18446744073709551615"], {"memlock": (None, None)}),  # the OCI spec's RLIM_INFINITY
    ],
)
def test_docker_forms(specs, expected):
    assert parse_ulimits(specs) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nofile", "use NAME=SOFT\\[:HARD\\]"),
        ("files=10", "unknown limit 'files'"),
        ("nofile=ten", "numbers or unlimited"),
        ("nofile=20:10", "the soft limit is above the hard one"),
        ("nofile=unlimited:10", "the soft limit is above the hard one"),
        ("nofile=18446744073709551616", "numbers or unlimited"),
    ],
)
def test_bad_limits_are_one_usage_error(spec, message):
    with pytest.raises(ContainerError, match=message) as refused:
        parse_ulimits([spec])
    assert refused.value.code == 64


def test_a_limit_given_twice_is_refused():
    with pytest.raises(ContainerError, match="nofile is given twice"):
        parse_ulimits(["nofile=1", "nofile=2"])


@pytest.mark.parametrize("text", ["1001", "-1001", "x", "1.5"])
def test_oom_score_adj_out_of_range(text):
    with pytest.raises(ContainerError, match="from -1000 to 1000"):
        parse_oom_score_adj(text)


def run(fake, **values):
    ctx = Context("/i.img", ["/bin/sh"], SimpleNamespace(**{"ulimit": [], "oom_score_adj": None, **values}), fake)
    plugin = Rlimits()
    plugin.prepare(ctx)
    plugin.setup_child(ctx)
    return plugin, ctx


def test_each_limit_is_set_in_the_child_and_the_oom_score_written():
    fake = FakeLinux()
    plugin, ctx = run(fake, **{"ulimit": ["nofile=100:200", "core=0"], "oom_score_adj": "-500"})
    assert fake.named("set_rlimit") == [(7, 100, 200), (4, 0, 0)]
    assert fake.named("write_file") == [("/proc/self/oom_score_adj", "-500")]
    assert plugin.explain(ctx) == "setrlimit(2): nofile 100:200, core 0:0; oom_score_adj -500"


def test_nothing_given_nothing_set():
    fake = FakeLinux()
    run(fake)
    assert not fake.named("set_rlimit") and not fake.named("write_file")


def test_a_limit_the_kernel_refuses_names_it():
    fake = FakeLinux(fail={"set_rlimit": OSError(22, "setrlimit: not allowed to raise maximum limit")})
    with pytest.raises(ContainerError, match="--ulimit nofile=9:9: setrlimit: not allowed") as refused:
        run(fake, ulimit=["nofile=9"])
    assert refused.value.code == 125
