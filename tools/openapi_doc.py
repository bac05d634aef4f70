"""docs/openapi.json: the OpenAPI 3 document GET /v1/openapi.json serves (chalicelib/routes/openapi.py), as a file to
read and to generate clients from. `python -m tools.openapi_doc` rewrites it; tests/unit/test_openapi_document.py
fails while it differs from what the service serves, so an API change shows in review as a diff of this file."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib.routes.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
COMMAND = "python -m tools.openapi_doc"


def rendered() -> str:
    """The document as docs/openapi.json holds it: two-space indents, keys sorted (a stable order, whatever order the
    code builds it in), a trailing newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    DOCUMENT.write_text(rendered(), encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)}: review its diff (git diff docs/openapi.json) before committing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
