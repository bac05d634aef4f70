"""What GET /v1/requests/{id} (and every answer naming a request) shows of it: each field of docs/openapi.json's
AccessRequest under its own name, times in RFC 3339 UTC, and a grant only once its policy exists."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from chalicelib.domain.requests import ON_CALL, AccessRequest, Approval, Extension, Grant, State
from chalicelib.routes.views import request_view

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"
POLICY = "arn:aws:iam::111111111111:policy/access-broker/ab-01000000000000000000000001"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(minutes: int) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


def active() -> AccessRequest:
    return AccessRequest(
        id="01000000000000000000000001", profile="s3-prod", requester="s3-access", requester_iam_user="s3-iam",
        account="222222222222", role_arn=ROLE, reason="fixing the export job", duration_seconds=3600,
        approvals_required=2, created_at=at(0), state=State.ACTIVE,
        approvals=(Approval("bob", at(1), "ok"), Approval("carol", at(2), "fine")), decided_by="carol",
        decision_comment="fine", updated_at=at(3), requested_by_tool="arn:aws:iam::111111111111:role/ticket-bot",
        break_glass=True, failure_reason="IAM said no once",
        grant=Grant(ROLE, POLICY, at(3), at(63), "https://signin.example/switch", "https://broker.example/c/x", at(4)),
        guard_pending=True,
        extension=Extension(1800, "s3-access", at(30), (Approval("bob", at(31)), Approval("carol", at(32)))))


def test_every_field_of_an_active_request_under_its_own_name() -> None:
    assert request_view(active()) == {
        "id": "01000000000000000000000001", "state": "active", "profile": "s3-prod", "account": "222222222222",
        "role_arn": ROLE, "requester": {"id": "s3-access", "iam_user": "s3-iam"},
        "requested_by_tool": "arn:aws:iam::111111111111:role/ticket-bot", "break_glass": True,
        "reason": "fixing the export job", "duration_seconds": 3600, "approvals_required": 2,
        "approvals": [{"by": "bob", "at": stamp(1), "comment": "ok"},
                      {"by": "carol", "at": stamp(2), "comment": "fine"}],
        "decided_by": "carol", "decision_comment": "fine", "failure_reason": "IAM said no once",
        "created_at": stamp(0), "updated_at": stamp(3),
        "grant": {"role_arn": ROLE, "policy_arn": POLICY, "starts_at": stamp(3), "expires_at": stamp(63),
                  "switch_role_url": "https://signin.example/switch", "console_url": "https://broker.example/c/x",
                  "usable_at": stamp(4)},
        "sessions": {"guard": "pending", "end_by": stamp(123)},
        "extension": {"duration_seconds": 1800, "requested_by": "s3-access", "requested_at": stamp(30),
                      "approvals": [{"by": "bob", "at": stamp(31)}, {"by": "carol", "at": stamp(32)}]}}


def test_a_grant_whose_policy_is_not_there_yet_is_not_shown() -> None:
    view = request_view(dataclasses.replace(active(), grant=Grant(ROLE, "", at(3), at(63))))
    assert view["grant"] is None
    assert view["sessions"] == {"guard": "pending", "end_by": stamp(123)}


def test_a_request_never_updated_nor_failed_shows_its_creation_and_no_failure() -> None:
    view = request_view(dataclasses.replace(active(), updated_at=None, failure_reason=""))
    assert view["updated_at"] == stamp(0) and view["failure_reason"] is None


def test_an_on_call_approval_names_the_schedule_and_pagerduty_user_as_the_contract_says() -> None:
    auto = dataclasses.replace(active(), approvals_required=1, decided_by=ON_CALL, decision_comment="",
                               approvals=(Approval(ON_CALL, at(1), schedule="P0SCHED1", pagerduty_user="PUSER01"),))
    assert request_view(auto)["approvals"] == [
        {"by": "on-call", "schedule": "P0SCHED1", "pagerduty_user": "PUSER01", "at": stamp(1)}]


def test_once_the_session_guard_is_written_sessions_say_so() -> None:
    view = request_view(dataclasses.replace(active(), guard_pending=False))
    assert view["sessions"] == {"guard": "written", "end_by": stamp(63)}
