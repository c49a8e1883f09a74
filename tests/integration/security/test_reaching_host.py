"""Reaching the host: its processes, abstract unix sockets, loopback TCP, SysV shared memory."""

import pytest

from .conftest import blocked, breached


@pytest.mark.property("pid")
def test_host_process_cannot_be_signalled(probe, host_process):
    assert blocked(probe("signal", host_process))


@pytest.mark.property("pid")
def test_host_process_can_be_signalled_without_the_pid_namespace(probe, host_process):
    assert breached(probe("signal", host_process, options=("--disable", "pid")))


@pytest.mark.property("net")
def test_host_abstract_socket_unreachable(probe, abstract_socket):
    assert blocked(probe("connect-abstract", abstract_socket))


@pytest.mark.property("net")
def test_host_abstract_socket_reachable_without_the_net_namespace(probe, abstract_socket):
    assert breached(probe("connect-abstract", abstract_socket, options=("--disable", "net")))


@pytest.mark.property("net")
def test_host_loopback_tcp_unreachable(probe, listener):
    assert blocked(probe("connect-tcp", str(listener)))


@pytest.mark.property("net")
def test_host_loopback_tcp_reachable_without_the_net_namespace(probe, listener):
    assert breached(probe("connect-tcp", str(listener), options=("--disable", "net")))


@pytest.mark.property("ipc")
def test_host_shared_memory_cannot_be_attached(probe, host_shm):
    assert blocked(probe("shm", host_shm))


@pytest.mark.property("ipc")
def test_host_shared_memory_attaches_without_the_ipc_namespace(probe, host_shm):
    assert breached(probe("shm", host_shm, options=("--disable", "ipc")))
