"""`ACCESS_BROKER_CATALOG=... make package`: the catalog the packaged functions read, when the environment names one.

`chalice package` writes .chalice/config.json's environment into the templates and knows nothing of this shell's,
so tools/package.py sets the variable in every function of both templates afterwards. The catalog must lie in
chalicelib/catalog/: that is where the zip carries catalogs from (and where make package precompiles them)."""
from __future__ import annotations

import json
import os
from pathlib import Path

CATALOG_DIR = "chalicelib/catalog"
VARIABLE = "ACCESS_BROKER_CATALOG"


def catalog_from_environment(root: Path) -> str | None:
    """The catalog named by ACCESS_BROKER_CATALOG, as its path inside the zip; None when the variable is unset."""
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return None
    path = (root / value).resolve()  # a relative path is relative to the app, as the app reads it
    try:
        inside = path.relative_to((root / CATALOG_DIR).resolve()).as_posix()
    except ValueError:
        raise SystemExit(f"make package: {VARIABLE}={value} is outside {CATALOG_DIR}/, and the deployment zip carries "
                         f"catalogs from there only: move it there and set {VARIABLE}={CATALOG_DIR}/{path.name}"
                         ) from None
    if not path.is_file():
        raise SystemExit(f"make package: {VARIABLE}={value}: no such file in {CATALOG_DIR}/")
    return f"{CATALOG_DIR}/{inside}"


def set_catalog(template: Path, catalog: str) -> None:
    """Sets ACCESS_BROKER_CATALOG on every function of a SAM template (sam.json) or Terraform file (*.tf.json)."""
    document = json.loads(template.read_text())
    sam = [r["Properties"] for r in document.get("Resources", {}).values()
           if r.get("Type") == "AWS::Serverless::Function"]
    terraform = list(document.get("resource", {}).get("aws_lambda_function", {}).values())
    for properties in sam:
        properties.setdefault("Environment", {}).setdefault("Variables", {})[VARIABLE] = catalog
    for function in terraform:
        function.setdefault("environment", {}).setdefault("variables", {})[VARIABLE] = catalog
    if not sam and not terraform:
        raise ValueError(f"{template} has no Lambda functions to give {VARIABLE}")
    template.write_text(json.dumps(document, indent=2))
