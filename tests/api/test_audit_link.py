"""The audit export's `Link: <...>; rel="next"` is a URL the caller can follow: as called locally (no prefix), and
deployed with API Gateway's stage in front (`/api/v1/audit`, the request context's path)."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from chalice.local import LambdaContext

from tools.world import SOURCE_ACCOUNT

BOB = f"arn:aws:iam::{SOURCE_ACCOUNT}:user/bob"


def two_requests(api, clock) -> None:
    api.create(as_="s3-access")
    api.create(as_="alice")
    clock.advance(minutes=1)  # the export ends at `until` (now), exclusive


def next_link(headers: dict) -> str:
    found = re.fullmatch(r'<([^>]+)>; rel="next"', headers["Link"])
    assert found, headers["Link"]
    return found.group(1)


def test_locally_the_next_link_has_no_prefix_and_leads_on(api, clock) -> None:
    two_requests(api, clock)
    first = api.get("/v1/audit?limit=1", "bob")
    link = next_link(first.headers)
    assert link.startswith("/v1/audit?")
    second = api.get(link, "bob")
    assert second.status_code == 200, second.body
    assert second.body and second.body != first.body  # the next event, not the first again
    assert parse_qs(urlsplit(link).query)["limit"] == ["1"]  # the page size the caller asked for carries on


def test_deployed_the_next_link_carries_the_stage(api, clock) -> None:
    import app

    two_requests(api, clock)
    deployed = app.app(gateway_event("/v1/audit", "/api/v1/audit", {"limit": "1"}), LambdaContext("api", 1024))
    assert deployed["statusCode"] == 200, deployed["body"]
    link = next_link(deployed["headers"])
    assert link.startswith("/api/v1/audit?"), link
    # API Gateway strips the stage before routing: what the link names is the next page
    local = api.get(link.removeprefix("/api"), "bob")
    assert local.status_code == 200 and local.body.decode() != deployed["body"]
    assert json.loads(local.body.decode().splitlines()[0])["kind"]


def test_behind_a_custom_domain_the_link_keeps_its_base_path(api, clock) -> None:
    import app

    two_requests(api, clock)
    mapped = app.app(gateway_event("/v1/audit", "/broker/v1/audit", {"limit": "1"}, stage="prod"),
                     LambdaContext("api", 1024))
    assert next_link(mapped["headers"]).startswith("/broker/v1/audit?")


def gateway_event(route: str, called: str, query: dict[str, str], stage: str = "api") -> dict:
    """A REST API proxy event as API Gateway sends it for a SigV4-signed call by bob."""
    return {
        "resource": route, "path": route, "httpMethod": "GET",
        "headers": {"Accept": "*/*"}, "multiValueHeaders": {"Accept": ["*/*"]},
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": route, "httpMethod": "GET", "path": called, "stage": stage,
                           "identity": {"userArn": BOB, "sourceIp": "192.0.2.1"}},
    }
