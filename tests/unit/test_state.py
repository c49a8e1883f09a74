"""Container state on disk: names, atomic creation, truthful status, locks, corruption."""

import errno
import fcntl
import json
import os

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.state import FORMAT_VERSION, State, check_name, generate_name, names, process_start_time

from .fake_linux import FakeLinux


def record(**fields):
    return {"image": "/i.img", "command": ["sleep", "1"], "status": "created", **fields}


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "containers")


@pytest.mark.parametrize("name", ["web", "a", "A.b_c-1", "x" * 64])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", ".a", "_a", "a/b", "..", "a b", "x" * 65, "é"])
def test_bad_names(name):
    with pytest.raises(ContainerError) as e:
        check_name(name)
    assert e.value.code == errors.USAGE


def test_generated_names_are_valid_and_differ():
    made = {generate_name(FakeLinux()) for _ in range(50)}
    assert len(made) == 50 and all(check_name(n) for n in made)


def test_create_claims_the_name_with_a_complete_directory(root):
    state, alive = State.create("web", record(), root)
    assert sorted(os.listdir(state.path)) == ["alive", "lock", "log", "state.json"]
    assert State.find("web", root).read()["version"] == FORMAT_VERSION
    assert names(root) == ["web"]
    alive.release()


def test_a_name_in_use(root):
    _, alive = State.create("web", record(), root)
    with pytest.raises(ContainerError) as e:
        State.create("web", record(), root)
    assert e.value.code == errors.NAME_IN_USE
    assert os.listdir(root) == ["web"]  # the loser's staging directory is gone
    alive.release()


def test_status_is_running_only_while_the_supervisor_holds_alive(root):
    state, alive = State.create("web", record(status="running"), root)
    assert state.supervised() and state.read()["status"] == "running"
    alive.release()  # what the kernel does when the supervisor and its janitor die
    assert not state.supervised()
    assert (state.read()["status"], state.read()["reason"]) == ("exited", "its supervisor died")
    assert state.load()["status"] == "running"  # as written


def test_unknown_container(root):
    with pytest.raises(ContainerError) as e:
        State.find("nobody", root)
    assert e.value.code == errors.NO_SUCH_CONTAINER


@pytest.mark.parametrize(
    "content, words",
    [(b"{broken", "unreadable state"), (b"[]", "fields missing"), (json.dumps({**record(), "name": "w", "version": 2}).encode(), "format version 2")],
)
def test_unreadable_state(root, content, words):
    state, alive = State.create("web", record(), root)
    with open(f"{state.path}/state.json", "wb") as f:
        f.write(content)
    with pytest.raises(ContainerError, match=words) as e:
        state.read()
    assert e.value.code == errors.STATE_UNREADABLE
    alive.release()


def test_update_replaces_the_record_atomically(root):
    state, alive = State.create("web", record(), root)
    with state.lock():
        state.update(status="running", pid=7)
    assert (state.load()["status"], state.load()["pid"]) == ("running", 7)
    assert sorted(os.listdir(state.path)) == ["alive", "lock", "log", "state.json"]  # no temporary left
    alive.release()


def test_remove_takes_the_root_too_when_it_was_the_last(root):
    state, alive = State.create("web", record(), root)
    alive.release()
    with state.lock():
        state.remove()
    assert not os.path.exists(root)


def test_a_waiter_on_the_lock_of_a_removed_container_finds_it_gone(root):
    state, alive = State.create("web", record(), root)
    waiting = os.open(f"{state.path}/lock", os.O_RDWR)  # opened before the removal, as a waiter has
    with state.lock():
        state.remove()
    fcntl.flock(waiting, fcntl.LOCK_EX)
    assert os.fstat(waiting).st_nlink == 0  # what State.lock() checks
    os.close(waiting)
    with pytest.raises(ContainerError) as e:
        state.lock()
    assert e.value.code == errors.NO_SUCH_CONTAINER
    alive.release()


def test_names_clears_what_a_killed_start_left_half_prepared(root):
    os.makedirs(f"{root}/.new-web-123")
    open(f"{root}/.new-web-123/alive", "w").close()  # nobody holds it
    held = State.create("db", record(), root)[1]
    assert names(root) == ["db"]
    assert os.listdir(root) == ["db"]
    held.release()


def test_process_start_time_tells_processes_apart():
    assert process_start_time(os.getpid()) == process_start_time(os.getpid()) > 0
    assert process_start_time(os.getpid()) != process_start_time(1)
    assert process_start_time(2**22 + 1) is None


# -- through the syscall layer's double: what a refusing kernel leaves ---------------


def test_a_root_that_cannot_be_made_is_one_clear_error(tmp_path):
    fake = FakeLinux(host=tmp_path, fail={"makedirs": PermissionError(errno.EACCES, "Permission denied")})
    with pytest.raises(ContainerError) as e:
        State.create("web", record(), str(tmp_path / "containers"), linux=fake)
    assert e.value.code == errors.STATE_UNREADABLE and "Permission denied" in str(e.value)


def test_a_failed_claim_leaves_no_staging_directory_and_no_held_lock(tmp_path):
    root = str(tmp_path / "containers")
    fake = FakeLinux(host=tmp_path, fail={"rename": OSError(errno.EIO, "Input/output error")})
    with pytest.raises(OSError, match="Input/output"):
        State.create("web", record(), root, linux=fake)
    assert os.listdir(root) == []
    opened = {fd for name, *args in fake.calls if name == "flock" for fd in args[:1]}
    assert opened and all(("close", fd) in fake.calls for fd in opened)


def test_the_record_is_written_whole_through_one_replace(tmp_path):
    fake = FakeLinux(host=tmp_path)
    state, alive = State.create("web", record(), str(tmp_path), linux=fake)
    with state.lock():
        state.update(status="running", pid=7)
    writes = [path for path, _ in fake.named("replace_file")]
    assert writes == [f"{tmp_path}/.new-web-4000/state.json", f"{state.path}/state.json"]
    assert state.load()["pid"] == 7
    alive.release()
