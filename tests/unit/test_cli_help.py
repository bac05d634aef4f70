"""`access-broker --help` and each command's `--help` are what users read before anything else: pinned whole, at a
fixed width, in tests/cli/expected/help/ (UPDATE_EXPECTED=1 rewrites them for review, tests/expected.py). And what
the parser does with what it is given, which the help only describes: defaults, required arguments, where the
common options may go. A wrong default changes what a command does without changing a word of its help."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from access_broker_cli import __version__
from access_broker_cli.main import build_parser
from tests.expected import matches

EXPECTED = Path(__file__).resolve().parents[1] / "cli" / "expected" / "help"
COMMANDS = ["profiles", "request", "list", "show", "approve", "deny", "cancel", "revoke", "extend", "console",
            "aws-profile"]
ID = "01jc0ffee0000000000000000a"


def helped(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width: fixed, so the text is too
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


def test_the_top_level_help(monkeypatch, capsys) -> None:
    matches(EXPECTED / "access-broker.json", helped(["--help"], monkeypatch, capsys))


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help(command: str, monkeypatch, capsys) -> None:
    matches(EXPECTED / f"{command}.json", helped([command, "--help"], monkeypatch, capsys))


def test_the_top_level_help_lists_every_command(monkeypatch, capsys) -> None:
    text = "\n".join(helped(["-h"], monkeypatch, capsys))
    for command in COMMANDS:
        assert re.search(rf"^    {command}(  |$)", text, re.M), f"{command} is not listed in access-broker --help"


def test_version(monkeypatch, capsys) -> None:
    assert helped(["--version"], monkeypatch, capsys) == [f"access-broker {__version__}"]


def parsed(*argv: str) -> dict[str, object]:
    return vars(build_parser().parse_args(list(argv)))


def test_request_defaults() -> None:
    assert parsed("request", "s3-prod", "--reason", "why") == {
        "command": "request", "profile": "s3-prod", "duration": None, "reason": "why", "requester": None,
        "wait": False, "timeout": "15m", "no_check": False, "check_timeout": "2m"}


def test_request_with_everything() -> None:
    assert parsed("--url", "https://x.example", "request", "s3-prod", "1h", "--reason", "why", "--for", "alice",
                  "--wait", "--timeout", "90s", "--no-check", "--check-timeout", "30s", "--json") == {
        "command": "request", "profile": "s3-prod", "duration": "1h", "reason": "why", "requester": "alice",
        "wait": True, "timeout": "90s", "no_check": True, "check_timeout": "30s", "url": "https://x.example",
        "json": True}


@pytest.mark.parametrize("argv, expected", [
    (["profiles"], {}),
    (["list"], {"awaiting_me": False, "mine": False, "state": None}),
    (["list", "--awaiting-me", "--mine", "--state", "active"], {"awaiting_me": True, "mine": True, "state": "active"}),
    (["show", ID], {"id": ID}),
    (["approve", ID], {"id": ID, "comment": ""}),
    (["deny", ID, "--comment", "no"], {"id": ID, "comment": "no"}),
    (["cancel", ID], {"id": ID}),
    (["revoke", ID], {"id": ID}),
    (["extend", ID, "30m"], {"id": ID, "duration": "30m"}),
    (["console", ID], {"id": ID, "open": False}),
    (["console", ID, "--open"], {"id": ID, "open": True}),
    (["aws-profile", ID], {"id": ID, "name": None, "no_check": False, "check_timeout": "2m"}),
    (["aws-profile", ID, "--name", "p", "--no-check", "--check-timeout", "5m"],
     {"id": ID, "name": "p", "no_check": True, "check_timeout": "5m"}),
])
def test_each_commands_arguments_and_defaults(argv: list[str], expected: dict[str, object]) -> None:
    assert parsed(*argv) == {"command": argv[0], **expected}


@pytest.mark.parametrize("argv", [["--json", "--url", "u", "show", ID], ["show", ID, "--json", "--url", "u"],
                                  ["--url", "u", "show", "--json", ID]])
def test_the_common_options_go_before_or_after_the_command(argv: list[str]) -> None:
    assert parsed(*argv) == {"command": "show", "id": ID, "url": "u", "json": True}


def test_without_the_common_options_none_is_set() -> None:
    """Suppressed defaults: `run` reads --json as False and --url from ACCESS_BROKER_URL when they are absent."""
    assert "url" not in parsed("profiles") and "json" not in parsed("profiles")


@pytest.mark.parametrize("argv, says", [
    ([], "the following arguments are required: COMMAND"),
    (["nope"], "invalid choice: 'nope'"),
    (["request", "s3-prod"], "the following arguments are required: --reason"),
    (["request", "--reason", "x"], "the following arguments are required: PROFILE"),
    (["request", "s3-prod", "1h", "extra", "--reason", "x"], "unrecognized arguments: extra"),
    (["show"], "the following arguments are required: ID"),
    (["approve"], "the following arguments are required: ID"),
    (["deny"], "the following arguments are required: ID"),
    (["cancel"], "the following arguments are required: ID"),
    (["revoke"], "the following arguments are required: ID"),
    (["extend", ID], "the following arguments are required: DURATION"),
    (["console"], "the following arguments are required: ID"),
    (["aws-profile"], "the following arguments are required: ID"),
    (["profiles", "x"], "unrecognized arguments: x"),
    (["list", "--wait"], "unrecognized arguments: --wait"),
    (["show", ID, "--comment", "x"], "unrecognized arguments: --comment x"),
])
def test_bad_usage_exits_2_naming_what_is_wrong(argv: list[str], says: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    assert says in capsys.readouterr().err
