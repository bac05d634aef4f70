"""What `access-broker aws-profile` checks before it writes the API's answer into an AWS config file, and how it
writes (issue 24, point 4; issue 25): nothing the server says can add a line, and a symlinked config stays one."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from access_broker_cli import awsconfig, checks
from access_broker_cli.aws_profile import session_seconds

INJECTED = "arn:aws:iam::222222222222:role/switch-role-for-S3\n[profile default]\ncredential_process = sh -c 'id'"


@pytest.mark.parametrize("arn", ["arn:aws:iam::222222222222:role/switch-role-for-S3",
                                 "arn:aws-cn:iam::222222222222:role/team/s3+reader@x",
                                 "arn:aws-us-gov:iam::123456789012:role/a/b/c"])
def test_a_role_arn_of_any_partition_and_path_is_taken(arn: str) -> None:
    assert checks.role_arn(arn) == arn


@pytest.mark.parametrize("arn", [INJECTED, "arn:aws:iam::222222222222:role/switch-role-for-S3\n",
                                 "arn:aws:iam::22222222222:role/short-account", "arn:aws:iam::222222222222:user/bob",
                                 "arn:aws:sts::222222222222:role/x", "arn:aws:iam::222222222222:role/",
                                 "arn:aws:iam::222222222222:role/caf\u00e9", "arn:aws:iam::222222222222:role/x y",
                                 "arn:aws:iam::222222222222:role/x\x1b[2K", None, 42])
def test_anything_else_as_a_role_arn_is_refused_naming_it(arn: object) -> None:
    with pytest.raises(ValueError, match="role_arn"):
        checks.role_arn(arn)


def test_the_request_id_must_be_a_ulid_and_the_times_rfc_3339() -> None:
    assert checks.request_id("01jc0ffee0000000000000000a") == "01jc0ffee0000000000000000a"
    assert checks.request_id("01JC0FFEE0000000000000000A") == "01JC0FFEE0000000000000000A"
    for bad in ("01jc0ffee0000000000000000", "01jc0ffee0000000000000000a\n", "01jc0ffee000000000000000iu",
                "r-1, grant ends never\n[profile default]"):
        with pytest.raises(ValueError, match="not a ULID|control characters"):
            checks.request_id(bad)
    assert checks.rfc3339("2026-12-02T00:06:34Z", "expires_at") == "2026-12-02T00:06:34Z"
    assert checks.rfc3339("2026-12-02T00:06:34.5+01:00", "expires_at")
    for bad in ("2026-12-02 00:06:34Z", "2026-12-02T00:06:34", "2026-13-02T00:06:34Z", "2026-12-02T00:06:34Z\n",
                "tomorrow"):
        with pytest.raises(ValueError, match="expires_at"):
            checks.rfc3339(bad, "expires_at")


@pytest.mark.parametrize("url", ["https://abc.execute-api.eu-west-1.amazonaws.com/api", "http://127.0.0.1:8000",
                                 "http://127.8.9.10/x", "http://[::1]:8000/", "http://localhost:8000"])
def test_https_anywhere_and_plain_http_only_to_this_machine(url: str) -> None:
    assert checks.url(url, "the API URL") == url


@pytest.mark.parametrize("url", ["http://broker.example.com/api", "http://10.0.0.1:8000", "http://localhost.evil.io/",
                                 "http://localhost@evil.io/", "http://128.0.0.1/", "file:///etc/passwd",
                                 "javascript:alert(1)", "https://", "https://ok.example.com/\x1b]52;c;eA==\x07"])
def test_plain_http_elsewhere_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="the API URL"):
        checks.url(url, "the API URL")


def test_the_config_writer_refuses_a_value_or_name_that_would_start_a_line() -> None:
    with pytest.raises(ValueError, match="role_arn .* control characters"):
        awsconfig.upsert("", "s3-prod", {"role_arn": INJECTED})
    with pytest.raises(ValueError, match="control characters"):
        awsconfig.upsert("", "s3-prod", {"role_arn": "a"}, marker="r-1\n[profile default]")
    with pytest.raises(ValueError, match="letters, digits"):
        awsconfig.upsert("", "s3-prod\n", {"role_arn": "a"})  # `$` alone would let the trailing newline through


def test_a_symlinked_config_stays_a_symlink_and_its_target_is_written(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "aws-config"
    target.parent.mkdir()
    target.write_text("[default]\nregion = eu-west-1\n")
    target.chmod(0o640)
    link = tmp_path / ".aws" / "config"
    link.parent.mkdir()
    link.symlink_to(target)

    awsconfig.write(link, "[default]\nregion = eu-west-1\n\n[profile p]\nrole_arn = a\n")

    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().endswith("[profile p]\nrole_arn = a\n") and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in link.parent.iterdir()) == ["config"], "no temporary file left beside the link"


@pytest.mark.parametrize("left, expected", [(4 * 3600, 3600), (3600, 3600), (1200.7, 1200), (300, 900), (-5, 900)])
def test_a_profiles_session_is_the_grants_time_left_within_what_sts_issues(left: float, expected: int) -> None:
    assert session_seconds(left) == expected
