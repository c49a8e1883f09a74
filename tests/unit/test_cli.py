import sys
import types

import pytest

from runtime import cli, errors
from runtime.plugins import ORDER

TABLE = cli.CORE_OPTIONS + tuple(o for cls in ORDER for o in cls.options)


def parse(*argv):
    return cli.parse(list(argv), TABLE)


def test_seed_usage_image_then_command():
    options, rest = parse("container.img", "/bin/sh", "-c", "echo hi")
    assert rest == ["container.img", "/bin/sh", "-c", "echo hi"]
    assert options.hostname is None and options.rw is False and options.env == []


def test_options_stop_at_the_image():
    options, rest = parse("--rw", "-H", "web", "img", "ls", "--rw")
    assert options.rw is True and options.hostname == "web"
    assert rest == ["img", "ls", "--rw"]


def test_value_forms_and_repeats():
    options, rest = parse("--hostname=a", "-eX=1", "-e", "Y=2", "--disable", "net,uts", "--disable=ipc", "img")
    assert options.hostname == "a"
    assert options.env == ["X=1", "Y=2"]
    assert options.disable == ["net,uts", "ipc"]
    assert rest == ["img"]


def test_double_dash_ends_options():
    _, rest = parse("--", "-weird-image-name")
    assert rest == ["-weird-image-name"]


def test_repeat_defaults_are_not_shared_between_parses():
    parse("-e", "A=1", "img")
    options, _ = parse("img")
    assert options.env == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--nope", "img"], "unknown option --nope"),
        (["--rw=yes", "img"], "takes no value"),
        (["--hostname"], "needs a value"),
    ],
)
def test_bad_options(argv, message):
    with pytest.raises(cli.UsageError, match=message):
        parse(*argv)


def test_main_reports_usage_errors_in_one_line(capsys):
    assert cli.main(["--nope"]) == errors.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("demo-runtime: unknown option")


def test_main_missing_image(capsys):
    assert cli.main([]) == errors.USAGE
    assert "missing IMAGE" in capsys.readouterr().err


def test_main_bad_env(capsys):
    assert cli.main(["-e", "NOEQUALS", "img"]) == errors.USAGE
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["-h"]])
def test_help_lists_options_plugins_and_exit_codes(capsys, argv):
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    for option in TABLE:
        assert option.flag in out
    for cls in ORDER:
        assert cls.name in out
    for code, _ in errors.EXIT_CODES:
        assert f"  {code} " in out


def test_not_root(monkeypatch, capsys):
    monkeypatch.setattr(cli.os, "geteuid", lambda: 1000)
    assert cli.main(["-T", "img", "true"]) == errors.NOT_ROOT
    assert "must run as root" in capsys.readouterr().err


def test_internal_error_is_one_line_without_debug(monkeypatch, capsys):
    def boom(argv):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(cli, "_main", boom)
    assert cli.main(["img"]) == errors.RUNTIME_FAILURE
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" in err and err.count("\n") == 1
    assert cli.main(["--debug", "img"]) == errors.RUNTIME_FAILURE
    assert "Traceback" in capsys.readouterr().err


def test_help_lists_the_subcommands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, _, summary) in cli.COMMANDS.items():
        assert f"  {name} " in out and summary in out


def test_a_first_word_that_is_no_subcommand_is_runs_image(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "run_command", lambda argv: seen.append(argv) or 0)
    assert cli.main(["img", "true"]) == 0
    assert cli.main(["--rw", "img"]) == 0
    assert seen == [["img", "true"], ["--rw", "img"]]


def test_run_subcommand_parses_like_the_seed_form(capsys):
    assert cli.main(["run", "--nope", "img"]) == errors.USAGE
    assert "unknown option --nope" in capsys.readouterr().err
    assert cli.main(["run"]) == errors.USAGE
    assert "missing IMAGE" in capsys.readouterr().err


def test_a_subcommand_joins_with_one_table_line(monkeypatch):
    module = types.ModuleType("runtime.fake_verb")
    module.main = lambda argv: 40 + len(argv)
    monkeypatch.setitem(sys.modules, "runtime.fake_verb", module)
    monkeypatch.setitem(cli.COMMANDS, "fake-verb", ("fake_verb", "main", "a verb for this test"))
    assert cli.main(["fake-verb", "a", "b"]) == 42


def test_messages_show_bytes_that_are_not_utf8_escaped():
    # sys.argv and os.fsdecode hold such bytes as surrogates, which stderr cannot print.
    assert cli._shown("image /tmp/x\udcff.img: No such file") == "image /tmp/x\\xff.img: No such file"
    assert cli._shown("plain, even é") == "plain, even é"
    assert cli._shown("\ud800") == "\\ud800"
