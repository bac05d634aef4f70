"""The catalog's case of `iam_user` (issue 24, "Also"): IAM finds the user `alice` for `Alice`, but her session's
`aws:userid` says `alice` and the session guard's cuts compare it exactly, so a grant for `Alice` would be a grant
whose sessions nothing ends. The grant is refused, before anything is made, with the name to write; the name as IAM
has it is granted as always."""
from __future__ import annotations

from chalicelib.domain.requests import State
from tests.expiry.test_open_sessions import guard
from tools.world import SOURCE_ACCOUNT


def with_alice_as(name: str):
    def change(doc: dict) -> None:
        doc["people"]["alice"]["iam_user"] = name
    return change


def ask_and_approve(broker, who: str = "alice"):
    caller = broker.caller_from_arn(f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{who}")
    request = broker.request_access(caller, "s3-prod", "1h", "fixing the export job")
    return broker.approve(broker.caller_from_arn(f"arn:aws:iam::{SOURCE_ACCOUNT}:user/bob"), request.id)


def test_a_catalog_name_in_another_case_than_iams_is_refused_naming_the_right_one(world, catalog_file, iam) -> None:
    broker = catalog_file(with_alice_as("Alice"))

    refused = ask_and_approve(broker)

    assert refused.state == State.FAILED, refused
    assert "iam_user: alice" in refused.failure_reason and "'Alice'" in refused.failure_reason, refused.failure_reason
    assert iam.attached("alice") == [] and iam.policies() == [], "nothing is granted to a name the cuts miss"


def test_the_name_as_iam_has_it_is_granted_and_guarded(world, catalog_file, iam) -> None:
    broker = catalog_file(with_alice_as("alice"))

    granted = ask_and_approve(broker)

    assert granted.state == State.ACTIVE, granted
    assert iam.attached("alice") == [granted.grant.policy_arn]
    assert "alice" in {c.user for c in guard(world).cuts}
