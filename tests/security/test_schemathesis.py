"""Generated abuse: schemathesis reads /v1/openapi.json from the locally served app and throws cases at every
route. No case may get a 5xx or a response that breaks the document."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from chalicelib.routes.openapi import openapi_document
from tools.local_server import serving
from tools.world import SOURCE_ACCOUNT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_ROUTE = 25  # routes without inputs stop at one case; the rest make 200+
AS_BOB = {"X-Local-Principal": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/bob"}
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    # Locally the caller is X-Local-Principal (sent with every case); the document's sigv4 scheme is API Gateway's,
    # which the local server does not run. tests/security/test_identity.py proves deployed stages answer 401.
    "generation": {"with-security-parameters": False},
    "checks": {
        "ignored_auth": {"enabled": False},
        # Schema-valid is not always acceptable, by design and as the document says: an unknown profile or a
        # duration outside the profile's range is a 422; an opaque cursor this API did not issue, or an audit
        # window longer than 31 days or in the future, is a 400. No 5xx is ever acceptable.
        "positive_data_acceptance": {"expected-statuses": [200, 201, 302, 400, 403, 404, 409, 410, 422]},
    },
})


@pytest.fixture(scope="module")
def served(world) -> Iterator[str]:
    """The app on chalice's local server (what `make run` serves), in a thread, on a free port."""
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def served_schema(served: str):
    """The document as the server serves it, not as the code builds it."""
    return schemathesis.openapi.from_url(f"{served}/v1/openapi.json", config=CONFIG)


# Every route with valid input; and with invalid input where it takes any (a route without inputs has none).
CASES = [(method.upper(), path, mode) for path, methods in openapi_document()["paths"].items()
         for method, spec in methods.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or spec.get("requestBody")
         or any(p["in"] != "path" for p in spec.get("parameters", []))]


def fewest_cases(method: str, path: str) -> int:
    """What one route/mode pair must send: EXAMPLES_PER_ROUTE when it takes any input, else its one possible case."""
    spec = openapi_document()["paths"][path][method.lower()]
    return EXAMPLES_PER_ROUTE if spec.get("requestBody") or spec.get("parameters") else 1


@pytest.mark.parametrize("method, path, mode", CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
def test_generated_cases_find_no_server_error_and_no_schema_break(served, served_schema, method, path,
                                                                  mode) -> None:
    operation = served_schema[path][method]
    sent: list = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def throw(case) -> None:
        sent.append(case)
        case.call_and_validate(base_url=served, headers=AS_BOB)

    throw()
    assert len(sent) >= fewest_cases(method, path), f"only {len(sent)} generated cases were sent"


def test_the_route_mode_pairs_send_at_least_200_cases() -> None:
    """Each generated test checks its own count, so the whole run sends at least this many, in any order."""
    least = sum(fewest_cases(method, path) for method, path, _ in CASES)
    assert least >= 200, f"the generated tests promise only {least} cases over {len(CASES)} route/mode pairs"
