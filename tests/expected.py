"""Expected output kept as JSON files beside the tests that compare with them (tests/slack/expected/): what a person
sees, pinned whole, so that any change to it shows in review as a diff of the file.

`matches(path, actual)` fails while the file differs from `actual`. With UPDATE_EXPECTED=1 in the environment it
rewrites the file instead (and passes): after a deliberate change, rewrite, then read `git diff` before committing."""
from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

UPDATE = "UPDATE_EXPECTED"


def rendered(actual: Any) -> str:
    """As the files hold it: two-space indents, keys sorted, emoji and punctuation as themselves, a trailing newline."""
    return json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def matches(path: Path, actual: Any) -> None:
    want = rendered(actual)
    if os.environ.get(UPDATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(want, encoding="utf-8")
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0] or "<the test>"
    rewrite = (f"If the change is deliberate, rewrite the file with `{UPDATE}=1 .venv/bin/python -m pytest '{test}'` "
               f"and review its diff (git diff {_shown(path)}) before committing; if not, undo it.")
    if not path.exists():
        pytest.fail(f"{_shown(path)} does not exist. {rewrite}", pytrace=False)
    have = path.read_text(encoding="utf-8")
    if have != want:
        diff = "".join(list(difflib.unified_diff(have.splitlines(keepends=True), want.splitlines(keepends=True),
                                                 _shown(path), "what the code says now", n=2))[:60])
        pytest.fail(f"{_shown(path)} is not what the code says now. {rewrite}\n{diff}", pytrace=False)


def _shown(path: Path) -> str:
    parts = path.resolve().parts
    return "/".join(parts[parts.index("tests"):]) if "tests" in parts else str(path)
