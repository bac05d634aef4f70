"""The layout keeps its promises (issue 20): use cases in small modules of chalicelib/service/ whose dependencies
point one way, no adapter imported by the service, and nothing outside the service reaching through the Broker to
its ports. Read from the source, so a change that breaks one fails `make unit` with the place named."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"
SERVICE = CHALICELIB / "service"
# Lowest first: a module may import only modules before it (the funnel at the bottom, sweeping and drift at the top).
LAYERS = ["deps", "funnel", "queries", "cuts", "granting", "auto_approving", "asking", "extending", "deciding",
          "drift", "directory", "sweeping", "broker"]
REACHING_THROUGH = re.compile(r"\bbroker(?:\(\))?\.(?:repo|grants|sessions|tokens|deps)\b")


def sources() -> list[Path]:
    return sorted(p for p in CHALICELIB.rglob("*.py") if "models" not in p.relative_to(CHALICELIB).parts[:2])


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines_and_no_class_over_250(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= 400, f"{path.relative_to(ROOT)} has {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= 250, f"class {node.name} in {path.relative_to(ROOT)} has {size} lines"


def test_every_service_module_has_its_layer() -> None:
    assert sorted(p.stem for p in SERVICE.glob("*.py") if p.stem != "__init__") == sorted(LAYERS)


@pytest.mark.parametrize("module", LAYERS)
def test_service_dependencies_point_one_way_and_never_at_an_adapter(module: str) -> None:
    names = imported(SERVICE / f"{module}.py")
    below = set(LAYERS[:LAYERS.index(module)])
    used = {n.split(".")[2] for n in names if n.startswith("chalicelib.service.")}
    assert used <= below, f"service/{module}.py imports {sorted(used - below)}, which are not below it"
    adapters = sorted(n for n in names if n.startswith(("chalicelib.aws", "chalicelib.store", "chalicelib.slack",
                                                        "chalicelib.routes", "chalicelib.bootstrap")))
    assert adapters == [], f"service/{module}.py imports adapters: {adapters}"


@pytest.mark.parametrize("path", [p for p in sources() if SERVICE not in p.parents],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_the_service_reaches_through_the_broker(path: Path) -> None:
    found = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1)
             if REACHING_THROUGH.search(line)]
    assert found == [], f"{path.relative_to(ROOT)} uses the Broker's ports: call a use case instead"


def test_no_use_case_takes_an_untyped_object() -> None:
    for path in SERVICE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                loose = [a.arg for a in node.args.args + node.args.kwonlyargs
                         if isinstance(a.annotation, ast.Name) and a.annotation.id in ("object", "Any")]
                assert loose == [], f"service/{path.name}: {node.name}({', '.join(loose)}) takes untyped input"
