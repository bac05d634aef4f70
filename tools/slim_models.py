"""`make models`: writes chalicelib/aws/models/ from the installed botocore, each service model cut down to the
operations in chalicelib/aws/clients.py's OPERATIONS and the shapes they reach, documentation dropped.

`python -m tools.slim_models --check` writes nothing and exits 1 when the files differ from what it would write."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import botocore.loaders

from chalicelib.aws.clients import MODELS_DIR, OPERATIONS


def slim(service: str, operations: tuple[str, ...], loader: Any = None) -> tuple[str, dict[str, Any]]:
    """(api version, model) for `service`, keeping `operations` and every shape they reach."""
    loader = loader or botocore.loaders.Loader()
    version = loader.determine_latest_version(service, "service-2")
    full = loader.load_service_model(service, "service-2", version)
    missing = [name for name in operations if name not in full["operations"]]
    if missing:
        raise SystemExit(f"{service} has no operation {', '.join(missing)} in botocore's model")
    shapes: set[str] = set()

    def reach(name: str) -> None:
        if name in shapes:
            return
        shapes.add(name)
        shape = full["shapes"][name]
        for key in ("member", "key", "value"):
            if key in shape:
                reach(shape[key]["shape"])
        for member in shape.get("members", {}).values():
            reach(member["shape"])

    kept_operations = {}
    for name in operations:
        operation = _undocumented(full["operations"][name])
        for key in ("input", "output"):
            if key in operation:
                reach(operation[key]["shape"])
        for error in operation.get("errors", []):
            reach(error["shape"])
        kept_operations[name] = operation
    model = {key: value for key, value in full.items() if key not in ("operations", "shapes", "documentation")}
    model["operations"] = kept_operations
    model["shapes"] = {name: _shape(full["shapes"][name]) for name in sorted(shapes)}
    return version, model


def _undocumented(definition: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in definition.items() if key not in ("documentation", "documentationUrl")}


def _shape(shape: dict[str, Any]) -> dict[str, Any]:
    kept = _undocumented(shape)
    if "members" in kept:  # member names are data: only each member's own documentation goes
        kept["members"] = {name: _undocumented(member) for name, member in kept["members"].items()}
    return kept


def expected() -> dict[Path, str]:
    """Every file models/ should hold, with its text."""
    loader = botocore.loaders.Loader()
    files = {}
    for service, operations in sorted(OPERATIONS.items()):
        version, model = slim(service, operations, loader)
        text = json.dumps(model, sort_keys=True, indent=1) + "\n"  # one value a line: readable diffs
        files[MODELS_DIR / service / version / "service-2.json"] = text
    return files


def differences() -> list[str]:
    files = expected()
    found = {path for path in MODELS_DIR.rglob("*.json")}
    wrong = [str(path.relative_to(MODELS_DIR)) for path, text in files.items()
             if not path.exists() or path.read_text() != text]
    extra = [str(path.relative_to(MODELS_DIR)) for path in found - set(files)]
    return sorted(wrong + [f"{name} (not generated)" for name in extra])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if the files are stale")
    args = parser.parse_args()
    if args.check:
        stale = differences()
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        return 1 if stale else 0
    for path in MODELS_DIR.rglob("*.json"):
        path.unlink()
    for path, text in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(MODELS_DIR.parent.parent.parent)} ({len(text) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
