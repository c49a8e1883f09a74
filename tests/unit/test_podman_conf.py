"""The private podman store's containers.conf asks for no limit above what the host can give."""

from runtime.testing.podman import containers_conf

LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             {nproc:<20} {nproc:<20} processes
Max open files            1024                 {nofile:<20} files
"""


def test_the_hard_limits_and_nproc_at_most_pid_max():
    conf = containers_conf(LIMITS.format(nproc=96362, nofile=20000), pid_max=32768)
    assert 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' in conf


def test_nproc_below_pid_max_is_kept():
    conf = containers_conf(LIMITS.format(nproc=4000, nofile=1048576), pid_max=32768)
    assert 'default_ulimits = ["nofile=1048576:1048576", "nproc=4000:4000"]' in conf


def test_unlimited_nproc_is_pid_max():
    conf = containers_conf(LIMITS.format(nproc="unlimited", nofile=524288), pid_max=4194304)
    assert 'default_ulimits = ["nofile=524288:524288", "nproc=4194304:4194304"]' in conf


def test_demo_runtime_oci_gets_json_logs():
    assert '"demo-runtime-oci"]' in containers_conf(LIMITS.format(nproc=1, nofile=1), pid_max=1)
