"""docs/openapi.json is the document GET /v1/openapi.json serves, byte for byte: users read it and generate clients
from it, so an API change (a field, a code, a description) must be made on purpose and show in review as a diff of
that file. `python -m tools.openapi_doc` rewrites it from chalicelib/routes/openapi.py. (That every route is
documented, and every documented operation routed: tests/api/test_openapi_matches_routes.py.)"""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from chalicelib.routes.api import openapi
from chalicelib.routes.openapi import openapi_document
from tools.openapi_doc import COMMAND, rendered

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_json_is_the_document_the_service_serves() -> None:
    want, have = rendered(), (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    if have != want:
        diff = "".join(list(difflib.unified_diff(have.splitlines(keepends=True), want.splitlines(keepends=True),
                                                 "docs/openapi.json", "the served document", n=2))[:60])
        pytest.fail(f"docs/openapi.json differs from the OpenAPI document the service serves "
                    f"(chalicelib/routes/openapi.py). If the API change is deliberate, rewrite the file with "
                    f"`{COMMAND}` and review its diff (git diff docs/openapi.json) before committing; if not, undo "
                    f"the change to the document.\n{diff}", pytrace=False)


def test_the_route_serves_that_document() -> None:
    served = openapi()
    assert served.status_code == 200 and served.headers["Content-Type"] == "application/json"
    assert json.loads(served.body) == openapi_document(), "GET /v1/openapi.json serves the document, as built"


def test_the_file_is_pretty_printed_with_sorted_keys_and_ends_in_one_newline() -> None:
    text = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
