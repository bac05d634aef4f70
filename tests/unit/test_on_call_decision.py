"""On-call auto-approval, decided (chalicelib/domain/on_call.py) and wired (chalicelib/on_call.py): on call in a
listed schedule and within max_duration approves by no human; anything else goes to people with the reason."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.catalog import load_catalog
from chalicelib.domain.catalog import AutoApprove, Person
from chalicelib.domain.on_call import (
    AutoApproved,
    AutoApproveSkipped,
    LookupFailed,
    NotOnCall,
    OnCallNow,
    SkipReason,
    decide,
)
from chalicelib.on_call import OnCallApproval, on_call_approval, token_source
from chalicelib.pagerduty import TokenUnavailable
from chalicelib.settings import Settings

DEMO = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo.yaml"

AT = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
RULES = AutoApprove(schedules=("P0SCHED1", "P0SCHED2"), max_duration=2 * 3600)
ALICE = OnCallNow("P0SCHED2", "PALICE1", "Alice@Example.com")


def test_on_call_in_a_listed_schedule_within_max_duration_is_approved_by_no_human():
    decision = decide(RULES, 3600, "alice@example.com", ALICE, AT)
    assert isinstance(decision, AutoApproved)
    assert decision.approval() == {"by": "on-call", "schedule": "P0SCHED2", "pagerduty_user": "PALICE1",
                                   "pagerduty_email": "Alice@Example.com", "at": "2026-11-28T03:00:00Z"}


def test_exactly_max_duration_is_still_within_it():
    assert isinstance(decide(RULES, 2 * 3600, "alice@example.com", ALICE, AT), AutoApproved)


@pytest.mark.parametrize("duration, email, lookup, live, reason, detail", [
    (2 * 3600 + 60, "alice@example.com", ALICE, None, SkipReason.OVER_MAX_DURATION,
     "2h1m is over the 2h auto-approval allows"),
    (3600, "alice@example.com", NotOnCall(), None, SkipReason.NOT_ON_CALL, "not on call now in P0SCHED1, P0SCHED2"),
    (3600, "alice@example.com", NotOnCall(without_email=2), None, SkipReason.NOT_ON_CALL,
     "not on call now in P0SCHED1, P0SCHED2 (2 on-call users had no email in PagerDuty)"),
    (3600, "alice@example.com", LookupFailed("PagerDuty answered 401: Unauthorized"), None,
     SkipReason.PAGERDUTY_FAILED, "PagerDuty answered 401: Unauthorized"),
    (3600, None, ALICE, None, SkipReason.NO_EMAIL,
     "the catalog has no email for the requester to match PagerDuty's on-call users by"),
    (3600, "alice@example.com", ALICE, "r-123", SkipReason.ALREADY_LIVE,
     "request r-123 is already a live auto-approved grant of this profile"),
    # a lookup that names someone else, or another schedule, never approves
    (3600, "bob@example.com", ALICE, None, SkipReason.NOT_ON_CALL, "not on call now in P0SCHED1, P0SCHED2"),
    (3600, "alice@example.com", dataclasses.replace(ALICE, schedule="POTHER"), None, SkipReason.NOT_ON_CALL,
     "not on call now in P0SCHED1, P0SCHED2"),
])
def test_anything_else_goes_to_people_saying_why(duration, email, lookup, live, reason, detail):
    decision = decide(RULES, duration, email, lookup, AT, live)
    assert isinstance(decision, AutoApproveSkipped)
    assert decision.details() == {"reason": str(reason), "detail": detail}


class Lookups:
    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def on_call(self, email, schedules):
        self.asked.append((email, tuple(schedules)))
        return self.answer


def demo_catalog():
    return load_catalog(DEMO)


def _profile(name: str = "s3-prod"):
    return demo_catalog().profiles[name]


def test_the_use_case_asks_pagerduty_for_the_profiles_schedules_and_the_requesters_email():
    lookups = Lookups(OnCallNow("P0SCHED1", "PALICE1", "alice@example.com"))
    approval = OnCallApproval(lookups, clock=lambda: AT)
    alice = Person("alice", "alice", "U01ALICE", "alice@example.com")
    decision = approval.consider(_profile(), alice, 3600)
    assert isinstance(decision, AutoApproved) and decision.at == AT
    assert lookups.asked == [("alice@example.com", ("P0SCHED1",))]


@pytest.mark.parametrize("profile, duration, email", [
    ("s3-prod", 2 * 3600, "alice@example.com"),  # over the demo's max_duration (its default_duration, 1h)
    ("s3-prod", 3600, None),  # no email to compare
])
def test_pagerduty_is_not_asked_when_the_answer_could_not_approve(profile, duration, email):
    lookups = Lookups(OnCallNow("P0SCHED1", "PALICE1", "alice@example.com"))
    decision = OnCallApproval(lookups, clock=lambda: AT).consider(
        _profile(profile), Person("alice", "alice", None, email), duration)
    assert isinstance(decision, AutoApproveSkipped) and lookups.asked == []


def test_a_profile_without_auto_approve_has_no_decision():
    lookups = Lookups(NotOnCall())
    assert OnCallApproval(lookups, clock=lambda: AT).consider(
        _profile("s3-prod-short"), Person("alice", "alice", None, "alice@example.com"), 120) is None
    assert lookups.asked == []


def _settings(**env: str) -> Settings:
    return Settings.from_env({"ACCESS_BROKER_STAGE": "dev", **env})


def test_the_factory_points_at_pagerduty_api_url_and_builds_nothing_without_on_call():
    catalog = demo_catalog()
    approval = on_call_approval(_settings(PAGERDUTY_API_URL="http://127.0.0.1:9", PAGERDUTY_TOKEN="t"), catalog,
                                lambda: AT)
    assert approval is not None and approval.lookups.api_url == "http://127.0.0.1:9"
    assert on_call_approval(_settings(), catalog, lambda: AT).lookups.api_url == "https://api.pagerduty.com"
    assert on_call_approval(_settings(), dataclasses.replace(catalog, on_call=None), lambda: AT) is None


class Parameters:
    def __init__(self, value=None):
        self.value, self.read = value, []

    def get(self, name):
        from chalicelib.aws.secrets import SecretUnavailable

        self.read.append(name)
        if self.value is None:
            raise SecretUnavailable(f"cannot read secret parameter {name}: ParameterNotFound")
        return self.value


def test_the_token_comes_from_the_environment_when_set_and_never_from_ssm_then():
    parameters = Parameters("from-ssm")
    assert token_source(_settings(PAGERDUTY_TOKEN="from-env"), "/access-broker/dev/pagerduty-token", parameters)() \
        == "from-env"
    assert parameters.read == []


def test_otherwise_the_catalogs_parameter_for_this_stage_is_read_once():
    parameters = Parameters("from-ssm")
    approval = on_call_approval(_settings(), demo_catalog(), lambda: AT, parameters)
    assert approval.lookups.token() == approval.lookups.token() == "from-ssm"
    assert parameters.read == ["/access-broker/dev/pagerduty-token"]


def test_an_unreadable_parameter_is_a_token_failure_and_read_again_next_time():
    parameters = Parameters(None)
    token = token_source(_settings(), "/access-broker/dev/pagerduty-token", parameters)
    for _ in range(2):
        with pytest.raises(TokenUnavailable, match="ParameterNotFound"):
            token()
    assert len(parameters.read) == 2
