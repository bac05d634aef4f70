"""A trusted tool listed as an IAM role matches the sessions of that role (issue 13, point 8).

API Gateway reports a role caller as `arn:aws:sts::<acct>:assumed-role/<role>/<session>`, without the role's path,
so a `trusted_tools` entry `arn:aws:iam::<acct>:role/<path/><role>` (the form the README shows) matches on
partition, account and role name. Nothing near it does."""
from __future__ import annotations

import pytest

BODY = {"profile": "s3-prod", "duration": "1h", "reason": "INC-42: restore the export", "requester": "alice"}
SESSION = "arn:aws:sts::111111111111:assumed-role/ticket-bot/ticket-42"


@pytest.mark.parametrize("listed", ["arn:aws:iam::111111111111:role/ticket-bot",
                                    "arn:aws:iam::111111111111:role/automation/ticket-bot",
                                    "arn:aws:iam::111111111111:role/a/b/c/Ticket-Bot"])
def test_a_session_of_a_listed_role_acts_as_the_tool(api, catalog_file, listed: str) -> None:
    catalog_file(lambda doc: doc.update(trusted_tools=[listed]))

    response = api.post("/v1/requests", SESSION, BODY)

    assert response.status_code == 201, response.body
    assert response.json["requester"]["id"] == "alice" and response.json["requested_by_tool"] == SESSION
    assert api.get(f"/v1/requests/{response.json['id']}", SESSION).status_code == 200


@pytest.mark.parametrize("caller", [
    "arn:aws:sts::999999999999:assumed-role/ticket-bot/ticket-42",  # another account
    "arn:aws:sts::111111111111:assumed-role/ticket-bot2/ticket-42",  # another role
    "arn:aws:sts::111111111111:assumed-role/ticket/bot",  # the name split differently
    "arn:aws:sts::111111111111:assumed-role/automation/ticket-bot",  # the path is not a role
    "arn:aws:sts::111111111111:assumed-role/ticket-bot",  # no session
    "arn:aws-cn:sts::111111111111:assumed-role/ticket-bot/ticket-42",  # another partition
    "arn:aws:iam::111111111111:user/ticket-bot",  # a user of the same name
    "arn:aws:sts::111111111111:federated-user/ticket-bot",
])
def test_nothing_near_a_listed_role_acts_as_the_tool(api, catalog_file, caller: str) -> None:
    catalog_file(lambda doc: doc.update(trusted_tools=["arn:aws:iam::111111111111:role/automation/ticket-bot"]))

    response = api.post("/v1/requests", caller, BODY)

    assert response.status_code == 403, response.body
    assert "trusted tools" in response.json["detail"]


def test_a_listed_user_or_session_matches_only_itself() -> None:
    from chalicelib.domain.catalog import TrustedTools

    tools = TrustedTools(["arn:aws:iam::111111111111:user/ci", SESSION])
    assert "arn:aws:iam::111111111111:user/ci" in tools and SESSION in tools
    assert "arn:aws:sts::111111111111:assumed-role/ticket-bot/other-session" not in tools
