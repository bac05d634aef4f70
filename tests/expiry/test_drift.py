"""Drift repair: a broker policy with no active grant goes away; an active grant with no policy comes back."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import timedelta

from chalicelib.aws.iam_grants import policy_document, policy_name, policy_path
from chalicelib.domain.requests import Event, State
from chalicelib.store import repository

ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"
OURS = policy_path("local")  # the tests' stage (tests/conftest.py)


def _stray_policy(iam, request_id: str, *users: str, path: str = OURS, role: str = ROLE) -> str:
    arn = iam.client.create_policy(PolicyName=policy_name(request_id), Path=path, PolicyDocument=json.dumps(
        policy_document(role, repository._time("2030-01-01T00:00:00.000000Z"))))["Policy"]["Arn"]
    for user in users:
        iam.client.attach_user_policy(UserName=user, PolicyArn=arn)
    return arn


def _repairs(broker, request_id: str) -> list[dict]:
    return [e.details for e in broker.repo.events(request_id) if e.kind == "drift_repaired"]


def test_a_policy_with_no_request_is_detached_from_everyone_and_deleted(broker, people, iam):
    arn = _stray_policy(iam, "01nosuchrequest0000000000a", "alice", "bob")
    report = broker.sweep()
    assert arn not in iam.policies() and iam.attached("alice") == [] and iam.attached("bob") == []
    assert len(report.repaired) == 1
    [repair] = _repairs(broker, "01nosuchrequest0000000000a")
    assert repair == {"action": "orphan_policy_removed", "policy_arn": arn, "state": "unknown request"}
    events = [e for e in broker.repo.events("01nosuchrequest0000000000a")]
    assert events[0].channel == "system" and events[0].actor == "access-broker"


def test_the_policy_of_an_ended_request_is_removed(broker, people, iam, clock):
    grant = people.grant(duration="1h")
    clock.advance(minutes=61)
    broker.sweep()
    # a late writer (a crashed apply resuming, a hand-made copy) put it back after the grant ended
    broker.grants.apply(grant.id, "s3-access", ROLE, clock() + timedelta(hours=1))
    assert iam.attached() == [grant.grant.policy_arn]

    broker.sweep()
    assert iam.attached() == [] and iam.policies() == []
    assert _repairs(broker, grant.id) == [
        {"action": "orphan_policy_removed", "policy_arn": grant.grant.policy_arn, "state": "expired"}]


def test_an_active_grant_whose_policy_was_deleted_is_reapplied(broker, people, iam, recorder):
    grant = people.grant(duration="1h")
    iam.client.detach_user_policy(UserName="s3-access", PolicyArn=grant.grant.policy_arn)
    iam.client.delete_policy(PolicyArn=grant.grant.policy_arn)

    broker.sweep()
    assert iam.attached() == [grant.grant.policy_arn], "the grant keeps working until it expires"
    condition = iam.document(grant.grant.policy_arn)["Statement"][0]["Condition"]
    assert condition == {"DateLessThan": {"aws:CurrentTime": grant.grant.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")},
                         "StringEquals": {"sts:RoleSessionName": "${aws:username}"}}
    assert _repairs(broker, grant.id) == [{"action": "grant_policy_restored", "policy_arn": grant.grant.policy_arn}]
    assert ("drift_repaired", grant.id) in recorder.sent
    broker.sweep()
    assert len(_repairs(broker, grant.id)) == 1, "nothing left to repair on the next pass"


def test_an_active_grant_that_cannot_be_reapplied_is_marked_failed(broker, people, iam):
    grant = people.grant(duration="1h")
    other_last = "z" if not grant.id.endswith("z") else "y"  # a different id, whatever the random tail was
    ghost = dataclasses.replace(broker.repo.get(grant.id), id=grant.id[:-1] + other_last,
                                requester_iam_user="left-the-company")
    broker.repo.create(dataclasses.replace(ghost, version=0), _created(ghost))

    broker.sweep()
    failed = broker.repo.get(ghost.id)
    assert failed.state == State.FAILED and "left-the-company" in failed.failure_reason
    assert broker.grants.policy_arn(ghost.id) not in iam.policies(), "nothing half-made is left in IAM"
    assert [e.details.get("drift") for e in broker.repo.events(ghost.id) if e.kind == "failed"] == [
        "grant policy missing"]
    assert broker.repo.get(grant.id).state == State.ACTIVE and iam.attached() == [grant.grant.policy_arn]


def test_policies_outside_the_broker_path_are_never_touched(broker, people, iam):
    arn = _stray_policy(iam, "01notoursnotours0000000000", "alice", path="/team/")
    try:
        broker.sweep()
        assert iam.attached("alice") == [arn]
    finally:
        iam.client.detach_user_policy(UserName="alice", PolicyArn=arn)
        iam.client.delete_policy(PolicyArn=arn)


def test_drift_repair_pages_through_every_broker_policy(broker, people, iam):
    """Cost per pass: one ListPolicies call per 100 broker policies."""
    strays = [_stray_policy(iam, f"01stray{n:019d}") for n in range(130)]
    calls: Counter = Counter()
    broker.grants.iam.meta.events.register("after-call.iam", lambda model, **_: calls.update([model.name]))
    broker.sweep()
    assert iam.policies() == [] and len(strays) == 130
    assert calls["ListPolicies"] == 2, calls


def _created(request):
    return Event(request.id, 1, "created", request.created_at, request.requester, "api", {})


def test_a_grant_shaped_policy_no_request_made_is_removed_whatever_its_owner_tag(broker, people, iam, recorder):
    """Issue 24, point 6: a policy exactly like a grant under this stage's path, tagged as another deployment's, with
    no request in this stage's table, kept letting its holder in. Each stage has its own path: it is not theirs."""
    theirs = iam.client.create_policy(
        PolicyName=policy_name("01otherstage00000000000000"), Path=OURS,
        PolicyDocument=json.dumps(policy_document(ROLE, repository._time("2030-01-01T00:00:00.000000Z"))),
        Tags=[{"Key": "access-broker:owner", "Value": "access-broker-prod"}])["Policy"]["Arn"]
    iam.client.attach_user_policy(UserName="alice", PolicyArn=theirs)
    ours = people.grant()

    report = broker.sweep()
    assert report.repaired == [f"{theirs}: removed (request unknown request)"]
    assert iam.attached("alice") == [] and theirs not in iam.policies()
    assert ours.grant.policy_arn in iam.policies(), "the grant a request made stays"
    assert any(theirs in alert and "alice" in alert for alert in recorder.alerts), recorder.alerts


def test_another_stages_grants_are_neither_listed_nor_judged(broker, people, iam, recorder):
    """Issue 24, point 7: dev and prod in one account, each with its own catalog. prod's live grant, for a role dev's
    catalog does not know and with no request in dev's table, stays; the same policy under dev's own path goes."""
    prod_role = "arn:aws:iam::222222222222:role/switch-role-for-prod-only"
    theirs = _stray_policy(iam, "01prodgrant000000000000000", "alice", path=policy_path("prod"), role=prod_role)
    mine = _stray_policy(iam, "01devstray0000000000000000", "bob", role=prod_role)

    report = broker.sweep()

    assert theirs in iam.policies() and iam.attached("alice") == [theirs], "another stage's grant was removed"
    assert mine not in iam.policies() and iam.attached("bob") == [], "a policy under the stage's own path stayed"
    assert report.repaired == [f"{mine}: removed, not a grant (foreign_policy_removed)"], report.repaired
    assert all(theirs not in alert for alert in recorder.alerts), recorder.alerts
    iam.client.detach_user_policy(UserName="alice", PolicyArn=theirs)
    iam.client.delete_policy(PolicyArn=theirs)
