"""`access-broker aws-profile` as a person runs it, against an API that answers what the test says (tests/stub_api.py)
and the local world's STS saying who the caller is: a malicious answer writes nothing, someone else's grant writes
nothing, the caller's own profile is never overwritten, a long grant gets a session STS will issue, and an honest
answer still writes (issue 24, point 4; issue 25)."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stub_api import active_request, stub_api
from tools.mutation_tests import for_child_processes
from tools.world import REGION, write_credentials_file

ACCESS_BROKER = Path(sys.executable).parent / "access-broker"
REQUEST_ID = "01jc0ffee0000000000000000a"
MINE = "# my own settings\n[default]\nregion = eu-west-1\n\n[profile other]\noutput = json\n"
INJECTED = "arn:aws:iam::222222222222:role/switch-role-for-S3\n[profile default]\ncredential_process = sh -c 'id'"


@dataclass
class AwsProfile:
    """Runs `access-broker aws-profile ...` as a credentials-file profile against a stub API answering `request`."""
    env: dict[str, str]
    config: Path

    def __call__(self, request: dict[str, Any], *args: str, as_: str = "s3-access") -> subprocess.CompletedProcess[str]:
        with stub_api(lambda method, path, query: (200, request)) as api:
            return subprocess.run([str(ACCESS_BROKER), "--url", api.url, "aws-profile", REQUEST_ID, *args],
                                  env={**self.env, "AWS_PROFILE": as_}, capture_output=True, text=True, timeout=60)


@pytest.fixture
def profile(world, tmp_path: Path) -> AwsProfile:
    """The world's people in a credentials file; an AWS config file that starts as MINE."""
    credentials = tmp_path / "credentials"
    write_credentials_file(credentials, world.keys)
    config = tmp_path / "config"
    config.write_text(MINE)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
           "AWS_CONFIG_FILE": str(config), "AWS_ENDPOINT_URL": world.emulator.endpoint, "AWS_DEFAULT_REGION": REGION,
           **for_child_processes()}
    return AwsProfile(env, config)


def test_a_role_arn_that_would_inject_a_profile_is_refused_and_the_config_is_unchanged(profile) -> None:
    done = profile(active_request(REQUEST_ID, role_arn=INJECTED))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot go into an AWS config file: grant.role_arn" in done.stderr and "\n[profile" not in done.stderr
    assert profile.config.read_text() == MINE


@pytest.mark.parametrize("field, value", [("id", f"{REQUEST_ID}\n[profile default]"),
                                          ("expires_at", "2999-01-01T00:00:00Z\ncredential_process = id")])
def test_an_id_or_time_that_would_inject_a_line_is_refused(profile, field: str, value: str) -> None:
    request = active_request(REQUEST_ID)
    (request if field == "id" else request["grant"])[field] = value

    assert profile(request).returncode == 1
    assert profile.config.read_text() == MINE


def test_an_honest_answer_writes_the_profile_with_a_session_sts_will_issue(profile) -> None:
    # A very long grant; no grant in IAM behind the stub, so the profile is not tried (--no-check).
    done = profile(active_request(REQUEST_ID, expires_at="2999-01-01T00:00:00Z"), "--no-check")

    assert done.returncode == 0, done.stderr
    assert profile.config.read_text() == MINE + (
        "\n[profile s3-prod]\n"
        f"# access-broker: request {REQUEST_ID}, grant ends 2999-01-01T00:00:00Z\n"
        "role_arn = arn:aws:iam::222222222222:role/switch-role-for-S3\nsource_profile = s3-access\n"
        "role_session_name = s3-access\nduration_seconds = 3600\n")


def test_someone_elses_grant_writes_nothing(profile) -> None:
    done = profile(active_request(REQUEST_ID, iam_user="alice"), as_="s3-access")

    assert done.returncode == 1 and "grants IAM user alice, and you are s3-access" in done.stderr, done.stderr
    assert profile.config.read_text() == MINE


def test_the_profile_the_callers_own_credentials_come_from_is_never_overwritten(profile) -> None:
    done = profile(active_request(REQUEST_ID), "--name", "s3-access", as_="s3-access")

    assert done.returncode == 2 and "is the profile your own credentials come from" in done.stderr, done.stderr
    assert profile.config.read_text() == MINE
