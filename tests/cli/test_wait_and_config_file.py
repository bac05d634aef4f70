"""The parts of the CLI a person sees without the API: how --wait shows progress and backs off, how it keeps trying
the granted role until IAM lets it in, and how aws-profile edits an AWS config file without disturbing the rest of
it."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from access_broker_cli import awsconfig
from access_broker_cli.errors import NotActive
from access_broker_cli.usable import until_usable
from access_broker_cli.wait import wait

PENDING = {"id": "r-1", "state": "pending", "approvals": [], "approvals_required": 1}
ACTIVE = {**PENDING, "state": "active", "approvals": [{"by": "bob"}],
          "grant": {"expires_at": "2999-01-01T00:00:00Z"}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_one_line_shows_the_state_and_the_time_waited() -> None:
    clock, out = Clock(), Terminal()
    answers = iter([PENDING] * 3 + [ACTIVE])

    decided = wait(lambda: next(answers), "r-1", 900, out, now=lambda: clock.now, sleep=clock.sleep)

    assert decided["state"] == "active"
    shown = out.getvalue()
    assert shown.count("\n") == 1 and shown.endswith("\n"), "one line, rewritten in place, ended once"
    assert "\r\033[Kr-1 pending (0 of 1 approvals), waited 0:01" in shown
    assert "r-1 active until 2999-01-01T00:00:00Z" in shown.rsplit("\r", 1)[-1]


def test_piped_it_prints_a_plain_line_per_change_and_backs_off_until_the_timeout() -> None:
    clock, out, polls = Clock(), io.StringIO(), []

    def get() -> dict:
        polls.append(clock.now)
        return PENDING

    with pytest.raises(NotActive) as caught:
        wait(get, "r-1", 900, out, now=lambda: clock.now, sleep=clock.sleep)

    assert out.getvalue() == "[0:00] r-1 pending (0 of 1 approvals)\n" and "\r" not in out.getvalue()
    assert "still pending after waiting 15m" in caught.value.message and caught.value.body == PENDING
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    assert gaps[:3] == [1.0, 1.5, 2.25] and max(gaps) == 15.0, gaps
    assert polls[-1] == 900 and len(polls) < 75, "backs off to one poll every 15 s, and polls at the deadline"

ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"


def test_the_role_is_tried_soon_then_every_1_5_s_until_it_lets_the_caller_in() -> None:
    clock, out, tries = Clock(), io.StringIO(), []
    answers = iter(["AccessDenied: not authorized"] * 3 + [None])

    def attempt() -> str | None:
        tries.append(clock.now)
        return next(answers)

    took = until_usable(attempt, ROLE, "s3-access", 120, out, now=lambda: clock.now, sleep=clock.sleep)

    assert took == pytest.approx(2.375) and tries == pytest.approx([0, 0.5, 1.25, 2.375])
    assert out.getvalue() == ("[0:00] switch-role-for-S3 not usable yet: STS refuses s3-access (AccessDenied); "
                              "trying again\n[0:02] switch-role-for-S3 usable after 2.4 s\n")


def test_a_role_that_never_lets_the_caller_in_is_given_up_at_the_bound_saying_why() -> None:
    clock, out, tries = Clock(), io.StringIO(), []

    def attempt() -> str:
        tries.append(clock.now)
        return "AccessDenied: not authorized to perform sts:AssumeRole"

    with pytest.raises(NotActive) as caught:
        until_usable(attempt, ROLE, "s3-access", 120, out, now=lambda: clock.now, sleep=clock.sleep)

    gaps = [b - a for a, b in zip(tries, tries[1:])]
    assert max(gaps) == pytest.approx(1.5) and tries[-1] == pytest.approx(120), "every 1.5 s at most, to the bound"
    assert caught.value.message.startswith(f"your credentials still cannot assume {ROLE} as s3-access after 2m "
                                           "(AccessDenied: not authorized to perform sts:AssumeRole)")
    assert out.getvalue().count("\n") == 1, "piped, the same refusal is one line"


CONFIG = """\
# mine
[default]
region = eu-west-1 ; inline comment
s3 =
  max_concurrent_requests = 20

[profile s3-prod]
output = json
role_arn = arn:aws:iam::222222222222:role/old
source_profile = someone-else
  continued = line of the old value

; between profiles
[profile other]
region = us-east-1"""
VALUES = {"role_arn": "arn:aws:iam::222222222222:role/switch-role-for-S3", "source_profile": "s3-access",
          "role_session_name": "s3-access", "duration_seconds": "3600"}


def test_updating_a_profile_keeps_every_other_line_as_it_was() -> None:
    updated = awsconfig.upsert(CONFIG, "s3-prod", VALUES, ("credential_source",), "request r-1")

    assert updated == CONFIG.replace("""\
[profile s3-prod]
output = json
role_arn = arn:aws:iam::222222222222:role/old
source_profile = someone-else
  continued = line of the old value
""", """\
[profile s3-prod]
# access-broker: request r-1
output = json
role_arn = arn:aws:iam::222222222222:role/switch-role-for-S3
source_profile = s3-access
role_session_name = s3-access
duration_seconds = 3600
""")
    again = awsconfig.upsert(updated, "s3-prod", {**VALUES, "duration_seconds": "1800"}, (), "request r-2")
    assert again == updated.replace("r-1", "r-2").replace("= 3600", "= 1800"), "an update rewrites, never repeats"


def test_a_new_profile_goes_last_and_drops_nothing() -> None:
    added = awsconfig.upsert(CONFIG, "s3-dev", VALUES, (), None)
    assert added.startswith(CONFIG + "\n\n[profile s3-dev]\nrole_arn = ")
    assert awsconfig.upsert("", "s3-dev", VALUES).startswith("[profile s3-dev]\n")
    assert awsconfig.upsert("[default]\r\nregion = x\r\n", "default", {"output": "json"}) == \
        "[default]\r\nregion = x\r\noutput = json\r\n", "CRLF files stay CRLF; `default` has no `profile ` prefix"


def test_keys_are_added_after_a_nested_value_not_inside_it() -> None:
    nested = "[profile p]\ns3 =\n  max_concurrent_requests = 20\n\n[profile q]\n"
    assert awsconfig.upsert(nested, "p", {"role_arn": "a"}) == \
        "[profile p]\ns3 =\n  max_concurrent_requests = 20\nrole_arn = a\n\n[profile q]\n"


def test_the_file_is_replaced_whole_and_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "aws" / "config"
    awsconfig.write(path, "[profile p]\n")
    assert path.read_text() == "[profile p]\n" and path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    awsconfig.write(path, "[profile q]\n")
    assert path.stat().st_mode & 0o777 == 0o644 and [p.name for p in path.parent.iterdir()] == ["config"]


@pytest.mark.parametrize("name", ["", "has space", "a]b", "new\nline"])
def test_a_profile_name_that_would_break_the_file_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        awsconfig.check_name(name)
