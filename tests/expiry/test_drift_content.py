"""Drift repair reads what is under /access-broker/: anything that is not exactly a grant the broker made is
detached from everyone and deleted, whatever its owner tag, and the security channel hears of it (issue 13, point 1:
a compromised broker key made an Allow *:* policy there, tagged it as another stage's, and attached it to alice)."""
from __future__ import annotations

import json

from chalicelib.aws.iam_grants import policy_document, policy_path

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_an_admin_policy_tagged_as_another_stages_is_removed_from_everyone(broker, iam, world, recorder) -> None:
    heard = recorder
    keys = world.client("iam")  # the broker's own keys, as the attacker had them
    arn = keys.create_policy(PolicyName="access-broker-01aaaaaaaaaaaaaaaaaaaaaaaa", Path=policy_path("local"),
                             PolicyDocument=json.dumps(ADMIN),
                             Tags=[{"Key": "access-broker:owner", "Value": "another-stage"}])["Policy"]["Arn"]
    keys.attach_user_policy(UserName="alice", PolicyArn=arn)

    report = broker.sweep()

    assert arn not in iam.policies() and iam.attached("alice") == []
    assert any("not a grant" in line for line in report.repaired)
    (event,) = [e for e in broker.repo.events("01aaaaaaaaaaaaaaaaaaaaaaaa") if e.kind == "drift_repaired"]
    assert event.details == {"action": "foreign_policy_removed", "policy_arn": arn, "attached_to": ["alice"]}
    assert len(heard.alerts) == 1 and arn in heard.alerts[0] and "alice" in heard.alerts[0]


def test_a_grant_given_broader_content_is_replaced_by_the_grant_it_was(broker, people, iam, recorder) -> None:
    heard = recorder
    grant = people.grant()
    arn = grant.grant.policy_arn
    iam.client.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=True)

    report = broker.sweep()

    assert any("tampered_grant_removed" in line for line in report.repaired)
    assert iam.attached("s3-access") == [arn], "the grant itself is applied again"
    assert iam.document(arn) == policy_document(grant.role_arn, grant.grant.expires_at)
    assert broker.repo.get(grant.id).state.value == "active"
    assert heard.alerts and grant.id in heard.alerts[0]


def test_a_grant_attached_to_someone_else_too_is_taken_from_them(broker, people, iam) -> None:
    grant = people.grant()
    iam.client.attach_user_policy(UserName="alice", PolicyArn=grant.grant.policy_arn)

    broker.sweep()

    assert iam.attached("alice") == []
    assert iam.attached("s3-access") == [grant.grant.policy_arn]


def test_exact_grants_are_left_alone(broker, people, iam) -> None:
    grant = people.grant()

    report = broker.sweep()

    assert report.repaired == [] and iam.attached("s3-access") == [grant.grant.policy_arn]
