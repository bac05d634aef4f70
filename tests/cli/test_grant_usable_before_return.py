"""`request --wait` and `aws-profile` return only once the requester's own credentials can assume the granted role
(issue 23, point 4), against the local world with IAM's propagation delay on.

The delay runs on the world clock, as in tests/integration/test_world_propagation.py: it is long, so the CLI is
refused for as long as the test likes, and the test moves the world clock past it instead of sleeping."""
from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from tools.world import ROLE_NAME, TARGET_ACCOUNT, TRUST_SOURCE_ACCOUNT

DELAY_S = 60.0
ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
USABLE_AFTER = re.compile(r"switch-role-for-S3 usable after \d+\.\d s")


@pytest.fixture
def settle(world) -> Iterator[Callable[[], None]]:
    """IAM's propagation delay on for the test; calling the fixture moves the world clock past it."""
    world.emulator.set_propagation(DELAY_S)
    try:
        yield lambda: world.emulator.set_clock_offset(DELAY_S + 1)
    finally:
        world.emulator.set_propagation(0)
        world.emulator.set_clock_offset(0)


@pytest.fixture
def start(cli) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`cli.start`, with whatever is still running at the end of the test stopped."""
    running: list[subprocess.Popen[str]] = []

    def started(*args: str, as_: str = "s3-access") -> subprocess.Popen[str]:
        running.append(cli.start(*args, as_=as_))
        return running[-1]

    yield started
    for process in running:
        if process.poll() is None:
            process.kill()
            process.communicate()


def finished(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"the CLI was still running after 60 s:\n{err}")


def refused_while_running(cli_process: subprocess.Popen[str]) -> list[str]:
    """The CLI's progress up to the line saying the role still refuses it (all of it, if that never comes)."""
    assert cli_process.stderr is not None
    seen: list[str] = []
    for line in cli_process.stderr:
        seen.append(line)
        if "not usable yet" in line:
            break
    return seen


def approved(cli, request_id: str) -> None:
    done = cli("approve", request_id, "--comment", "go ahead", as_="bob")
    assert done.returncode == 0, done.stderr


def test_request_wait_returns_only_once_the_grant_lets_the_requester_in(cli, start, settle) -> None:
    waiting = start("request", "s3-prod", "1h", "--reason", "fixing the export job", "--wait",
                        "--timeout", "2m", "--check-timeout", "90s")
    assert waiting.stdout is not None
    request_id = waiting.stdout.readline().strip()
    approved(cli, request_id)

    before = refused_while_running(waiting)
    assert " active until " in "".join(before), "".join(before)
    assert before and "not usable yet: STS refuses s3-access (AccessDenied)" in before[-1], (
        f"the CLI did not try the role while IAM still refused it:\n{''.join(before)}")
    assert waiting.poll() is None, "--wait returned while IAM still refused the grant"

    settle()
    out, err = finished(waiting)
    assert waiting.returncode == 0, err
    assert USABLE_AFTER.search(err), f"--wait should say how long the grant took to work:\n{err}"
    assert "AccessKeyId" not in out + err and "SessionToken" not in out + err
    assert cli("revoke", request_id).returncode == 0


def test_aws_profile_returns_only_once_the_profile_works(cli, start, settle) -> None:
    request_id = cli.json("request", "s3-prod", "1h", "--reason", "reading the export")["id"]
    approved(cli, request_id)

    writing = start("aws-profile", request_id, "--json", "--check-timeout", "90s")
    before = refused_while_running(writing)
    assert before and "not usable yet" in before[-1], f"aws-profile did not try the role:\n{''.join(before)}"
    assert writing.poll() is None, "aws-profile returned while IAM still refused the grant"

    settle()
    out, err = finished(writing)
    assert writing.returncode == 0, err
    assert USABLE_AFTER.search(err), err
    written = json.loads(out)
    assert written["profile"] == "s3-prod" and isinstance(written["usable_after_s"], float)
    assert f"role_arn = {ROLE_ARN}\n" in Path(cli.env["AWS_CONFIG_FILE"]).read_text()
    assert cli("revoke", request_id).returncode == 0


@pytest.fixture
def untrusting_role(world) -> Iterator[None]:
    """The switch role trusts another account only: no grant lets s3-access in."""
    iam = world.client("iam", "target-admin")
    iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "arn:aws:iam::333333333333:root"}}]}))
    try:
        yield
    finally:
        iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(TRUST_SOURCE_ACCOUNT))


def test_a_grant_that_never_works_ends_the_wait_with_exit_3_and_says_why(cli, start, untrusting_role) -> None:
    waiting = start("request", "s3-prod", "1h", "--reason", "the role is broken", "--wait",
                        "--timeout", "2m", "--check-timeout", "3s")
    assert waiting.stdout is not None
    request_id = waiting.stdout.readline().strip()
    approved(cli, request_id)

    out, err = finished(waiting)
    assert waiting.returncode == 3, f"exit {waiting.returncode}:\n{err}"
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"access-broker: request {request_id} is active, but your credentials still cannot "
                           f"assume {ROLE_ARN} as s3-access after 3s (AccessDenied: "), last

    profile = cli("aws-profile", request_id, "--check-timeout", "2s")
    assert profile.returncode == 3, profile.stderr
    assert "access-broker: wrote profile s3-prod, but your credentials still cannot assume" in profile.stderr
    assert cli("revoke", request_id).returncode == 0


def test_a_trusted_tool_waiting_for_someone_is_told_the_grant_was_not_checked(cli, start) -> None:
    waiting = start("request", "s3-prod", "1h", "--reason", "INC-7: restore", "--for", "alice", "--wait",
                        "--timeout", "2m", as_="ticket-bot")
    assert waiting.stdout is not None
    request_id = waiting.stdout.readline().strip()
    approved(cli, request_id)

    out, err = finished(waiting)
    assert waiting.returncode == 0, err
    assert ("access-broker: not checked that the grant works: it is for IAM user alice, and you sign as "
            "arn:aws:sts::111111111111:assumed-role/ticket-bot/ticket-42") in err, err
    assert cli("revoke", request_id, as_="alice").returncode == 0
