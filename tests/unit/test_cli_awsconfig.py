"""How `aws-profile` edits the AWS config file, byte for byte, in the shapes people's files have: a profile with no
keys yet, comments and blank lines at its end, a last line without its newline, nested values, indented comments,
keys dropped with their continuation lines, CRLF and bare-CR files; and where the file is written."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from access_broker_cli import awsconfig

NEW = {"role_arn": "a", "region": "r"}


@pytest.mark.parametrize("before, after", [
    # a profile with no keys: its keys right under the header, before its comments and blank lines
    ("[profile p]\n", "[profile p]\nrole_arn = a\nregion = r\n"),
    ("[profile p]\n[profile q]\nrole_arn = q\n", "[profile p]\nrole_arn = a\nregion = r\n[profile q]\nrole_arn = q\n"),
    ("[profile p]\n\n[profile q]\n", "[profile p]\nrole_arn = a\nregion = r\n\n[profile q]\n"),
    ("[profile p]\n# mine\n\n[profile q]\n", "[profile p]\n# mine\nrole_arn = a\nregion = r\n\n[profile q]\n"),
    ("[profile p]\n# mine\n\n\n", "[profile p]\n# mine\nrole_arn = a\nregion = r\n\n\n"),
    ("[profile p]\n    # an indented note\noutput = json\n",
     "[profile p]\n    # an indented note\noutput = json\nrole_arn = a\nregion = r\n"),
    # after the last key, before what follows it
    ("[profile p]\noutput = json\n# note\n\n[profile q]\n",
     "[profile p]\noutput = json\nrole_arn = a\nregion = r\n# note\n\n[profile q]\n"),
    ("[profile p]\noutput = json\n  # indented note\n", "[profile p]\noutput = json\nrole_arn = a\nregion = r\n"
                                                        "  # indented note\n"),
    ("[profile p]\noutput = json\n  ; indented note\n", "[profile p]\noutput = json\nrole_arn = a\nregion = r\n"
                                                        "  ; indented note\n"),
    ("[profile p]\noutput = json\n   \n", "[profile p]\noutput = json\nrole_arn = a\nregion = r\n   \n"),
    ("[profile p]\ns3 =\n\tmax_concurrent_requests = 20\n",
     "[profile p]\ns3 =\n\tmax_concurrent_requests = 20\nrole_arn = a\nregion = r\n"),
    # a last line without its newline gets one before the new keys
    ("[profile p]\noutput = json", "[profile p]\noutput = json\nrole_arn = a\nregion = r\n"),
    ("[profile p]\noutput = json\ncli_pager = less", "[profile p]\noutput = json\ncli_pager = less\nrole_arn = a\n"
                                                      "region = r\n"),
    # keys already there are set in place, their continuation lines (space or tab) going with their old value
    ("[profile p]\nrole_arn = old\n\tcontinued\n  more\noutput = json\n",
     "[profile p]\nrole_arn = a\noutput = json\nregion = r\n"),
    ("[profile p]\nrole_arn = old\nrole_arn = older\nregion = x\n", "[profile p]\nrole_arn = a\nregion = r\n"),
    # bare-CR files: the CR is a line's end
    ("[profile p]\routput = json\r", "[profile p]\routput = json\rrole_arn = a\nregion = r\n"),
])
def test_keys_go_where_a_person_would_put_them(before: str, after: str) -> None:
    assert awsconfig.upsert(before, "p", NEW) == after


def test_dropped_keys_go_with_their_continuation_lines_and_the_rest_stays() -> None:
    before = ("[profile p]\ncredential_source = Environment\n  continued\noutput = json\nsource_profile = old\n"
              "cli_pager = less\n")
    assert awsconfig.upsert(before, "p", {"source_profile": "me"}, ("credential_source",)) == \
        "[profile p]\noutput = json\nsource_profile = me\ncli_pager = less\n"
    assert awsconfig.upsert("[profile p]\nsource_profile = x\nregion = y\n", "p", {"credential_source": "Environment"},
                            ("source_profile",)) == "[profile p]\nregion = y\ncredential_source = Environment\n"


@pytest.mark.parametrize("before, after", [
    ("", "[profile p]\nrole_arn = a\n"),
    ("[default]\nregion = x\n", "[default]\nregion = x\n\n[profile p]\nrole_arn = a\n"),
    ("[default]\nregion = x\n\n", "[default]\nregion = x\n\n[profile p]\nrole_arn = a\n"),
    ("[default]\nregion = x", "[default]\nregion = x\n\n[profile p]\nrole_arn = a\n"),
    ("# only a comment\r\n", "# only a comment\r\n\r\n[profile p]\r\nrole_arn = a\r\n"),
    ("[default]\rregion = x\r", "[default]\rregion = x\r\n[profile p]\nrole_arn = a\n"),
])
def test_a_new_profile_goes_last_after_one_blank_line(before: str, after: str) -> None:
    assert awsconfig.upsert(before, "p", {"role_arn": "a"}) == after


def test_the_default_profile_is_default_not_profile_default() -> None:
    assert awsconfig.upsert("", "default", {"region": "r"}) == "[default]\nregion = r\n"
    assert awsconfig.upsert("[default]\n", "default", {"region": "r"}) == "[default]\nregion = r\n"
    assert awsconfig.upsert("[profile default]\n", "default", {"region": "r"}) == "[profile default]\nregion = r\n"
    assert awsconfig.upsert("[default]\n", "DEFAULT", {"region": "r"}) == "[default]\n\n[profile DEFAULT]\nregion = r\n"


def test_a_marker_with_a_control_character_is_refused_naming_it() -> None:
    with pytest.raises(ValueError) as raised:
        awsconfig.upsert("", "p", {"role_arn": "a"}, marker="r-1\x1b[2K")
    assert str(raised.value) == "marker 'r-1\\x1b[2K' holds control characters; it would not stay on its own line"


def test_the_config_file_is_aws_config_file_else_in_the_home_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/elsewhere/config")
    assert awsconfig.config_path() == tmp_path / "elsewhere" / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", "")
    assert awsconfig.config_path() == tmp_path / ".aws" / "config"
    monkeypatch.delenv("AWS_CONFIG_FILE")
    assert awsconfig.config_path() == tmp_path / ".aws" / "config"


def test_the_file_is_written_beside_itself_then_moved_into_place(monkeypatch, tmp_path: Path) -> None:
    """The temporary file is in the config's own directory (a rename there is atomic; /tmp may be another file
    system) and hidden, so a crash leaves at worst a dot-file beside it, not a second `config`."""
    moved: list[tuple[str, str]] = []
    replace = os.replace

    def recording(src: str, dst: str) -> None:
        moved.append((src, dst))
        replace(src, dst)

    monkeypatch.setattr(awsconfig.os, "replace", recording)
    path = tmp_path / "home" / "me" / ".aws" / "config"
    awsconfig.write(path, "[profile p]\r\nrole_arn = a\r\n")
    [(src, dst)] = moved
    assert Path(dst) == path and Path(src).parent == path.parent and Path(src).name.startswith(".config-")
    assert path.read_bytes() == b"[profile p]\r\nrole_arn = a\r\n", "written as given, CRLF included"


def test_a_file_that_cannot_be_moved_into_place_leaves_nothing_behind(monkeypatch, tmp_path: Path) -> None:
    def failing(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(awsconfig.os, "replace", failing)
    path = tmp_path / "config"
    path.write_text("mine\n")
    with pytest.raises(OSError):
        awsconfig.write(path, "theirs\n")
    assert path.read_text() == "mine\n" and [p.name for p in tmp_path.iterdir()] == ["config"]
