"""The process plugin: image defaults, --entrypoint, --env-file, --user, --workdir."""

import json
from types import SimpleNamespace

import pytest

from runtime import errors
from runtime.errors import ContainerError
from runtime.plugin import Context
from runtime.plugins.process import Process, parse_env_file, resolve_user

from .fake_linux import FakeLinux

PASSWD = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nbob:x:1000:1000::/home/bob:/bin/sh\n"
GROUP = "root:x:0:\nwww:x:33:\nbob:x:1000:\nstaff:x:50:bob,www\naudio:x:29:bob\n"


def options(**values):
    base = dict(user=None, workdir=None, env_file=[], entrypoint=None)
    base.update(values)
    return SimpleNamespace(**base)


def prepared(tmp_path, given, defaults=None, env=None, **values):
    image = tmp_path / "app.img"
    if defaults is not None:
        (tmp_path / "app.img.json").write_text(json.dumps(defaults))
    ctx = Context(str(image), given or ["/bin/sh"], options(**values), FakeLinux({"/etc/passwd": PASSWD, "/etc/group": GROUP}))
    ctx.given_command = given
    ctx.env.update(env or {})
    plugin = Process()
    plugin.prepare(ctx)
    return ctx, plugin


IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["--serve"], "Env": ["PATH=/app/bin", "MODE=image"], "User": "www", "WorkingDir": "/srv"}


@pytest.mark.parametrize(
    "given, values, command",
    [
        ([], {}, ["/entry", "--serve"]),
        (["--once"], {}, ["/entry", "--once"]),
        ([], {"entrypoint": "/bin/sh"}, ["/bin/sh"]),  # docker: --entrypoint drops the image's Cmd
        (["-c", "id"], {"entrypoint": "/bin/sh"}, ["/bin/sh", "-c", "id"]),
        (["ls"], {"entrypoint": ""}, ["ls"]),
    ],
)
def test_command_from_entrypoint_and_cmd(tmp_path, given, values, command):
    assert prepared(tmp_path, given, IMAGE, **values)[0].command == command


def test_an_image_without_config_keeps_the_runtime_default(tmp_path):
    ctx, plugin = prepared(tmp_path, [])
    assert ctx.command == ["/bin/sh"] and plugin.user is None and plugin.workdir is None


def test_environment_layers_image_then_env_files_then_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST", "host value")
    env_file = tmp_path / "vars"
    env_file.write_text("# a comment\n\nMODE=file\nFILE_ONLY=a=b\nFROM_HOST\nUNSET_ON_HOST\n")
    ctx, _ = prepared(tmp_path, [], IMAGE, env={"MODE": "flag"}, env_file=[str(env_file)])
    assert ctx.env == {"PATH": "/app/bin", "MODE": "flag", "FILE_ONLY": "a=b", "FROM_HOST": "host value"}


def test_env_file_errors(tmp_path):
    with pytest.raises(ContainerError) as missing:
        parse_env_file(FakeLinux(), str(tmp_path / "none"))
    bad = tmp_path / "bad"
    bad.write_text("GOOD=1\nNOT A KEY=2\n")
    with pytest.raises(ContainerError) as malformed:
        parse_env_file(FakeLinux(), str(bad))
    assert missing.value.code == malformed.value.code == errors.USAGE
    assert ":2:" in str(malformed.value)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("bob", (1000, 1000, [1000, 29, 50], "/home/bob")),
        ("bob:staff", (1000, 50, [50, 29], "/home/bob")),
        ("1000", (1000, 1000, [1000, 29, 50], "/home/bob")),
        ("4321", (4321, 0, [0], "/")),  # as docker: a uid need not be in /etc/passwd
        ("4321:77", (4321, 77, [77], "/")),
        ("www:0", (33, 0, [0, 50], "/var/www")),
    ],
)
def test_users_are_looked_up_in_the_image(spec, expected):
    assert resolve_user(spec, PASSWD, GROUP) == expected


@pytest.mark.parametrize("spec, word", [("alice", "user 'alice'"), ("bob:wheel", "group 'wheel'")])
def test_unknown_user_or_group(spec, word):
    with pytest.raises(ContainerError) as caught:
        resolve_user(spec, PASSWD, GROUP)
    assert caught.value.code == errors.USER_UNKNOWN and word in str(caught.value)


@pytest.mark.parametrize("spec", ["", ":1", "a:", "a:b:c"])
def test_malformed_user(tmp_path, spec):
    with pytest.raises(ContainerError) as caught:
        prepared(tmp_path, [], user=spec or ":")
    assert caught.value.code == errors.USAGE


def test_child_makes_the_workdir_switches_user_then_enters_it(tmp_path):
    ctx, plugin = prepared(tmp_path, [], IMAGE, workdir="/data/work")
    del ctx.linux.calls[:]  # prepare's: the image config read
    plugin.setup_child(ctx)
    calls = [c for c in ctx.linux.calls if c[0] != "read_file"]
    assert calls == [("mkdir", "/data"), ("mkdir", "/data/work"), ("switch_user", 33, 33, [33, 50]), ("chdir", "/data/work")]
    assert ctx.env["HOME"] == "/var/www"


def test_a_given_home_is_kept_and_a_relative_workdir_refused(tmp_path):
    ctx, plugin = prepared(tmp_path, [], IMAGE, env={"HOME": "/mine"})
    plugin.setup_child(ctx)
    assert ctx.env["HOME"] == "/mine"
    with pytest.raises(ContainerError) as caught:
        prepared(tmp_path, [], workdir="rel")
    assert caught.value.code == errors.USAGE


def test_a_malformed_image_config(tmp_path):
    with pytest.raises(ContainerError) as caught:
        prepared(tmp_path, [], {"Cmd": "not a list"})
    assert caught.value.code == errors.IMPORT_CORRUPT


def test_an_image_config_that_cannot_be_read_is_one_clear_error(tmp_path):
    fake = FakeLinux(fail={"read_bytes": PermissionError(13, "Permission denied")})
    ctx = Context(str(tmp_path / "app.img"), ["/bin/sh"], options(), fake)
    ctx.given_command = []
    with pytest.raises(ContainerError) as e:
        Process().prepare(ctx)
    assert e.value.code == errors.IMAGE_MISSING and str(e.value) == f"image config {tmp_path}/app.img.json: Permission denied"
