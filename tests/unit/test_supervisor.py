"""The supervisor's record of a detached container, when the command that started it dies
before it has said the container's name (the real thing: tests/integration/test_supervision.py)."""

import errno
import os
from types import SimpleNamespace

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.state import State
from runtime.supervisor import StateRecord

from .fake_linux import FakeLinux


@pytest.mark.parametrize("gone", ["before the name is written", "after, without acknowledging it"])
def test_a_starting_command_that_died_leaves_no_record(tmp_path, gone):
    fail = {"write": BrokenPipeError(errno.EPIPE, "Broken pipe")} if gone.startswith("before") else {}
    fake = FakeLinux(host=tmp_path, fail=fail)
    status_read, status_write = fake.pipe()
    ack_read, ack_write = fake.pipe()
    os.close(ack_write)  # the starting command is gone: EOF instead of its "k"
    ctx = Context("/i.img", ["sleep", "1"], SimpleNamespace(), fake)
    plugin = StateRecord("web", detached=True, started_to=(status_write, ack_read))
    plugin.state, plugin.alive = State.create("web", {"image": "/i.img", "command": ["sleep", "1"], "status": "created"}, str(tmp_path), linux=fake)
    with pytest.raises(ContainerError) as e:
        plugin.running(ctx)
    assert e.value.code == errors.RUNTIME_FAILURE and "starting command died" in str(e.value)
    assert ("close", status_write) in fake.calls and ("close", ack_read) in fake.calls
    plugin.teardown(ctx)
    assert os.listdir(tmp_path) == []
    plugin.alive.release()
    os.close(status_read)
