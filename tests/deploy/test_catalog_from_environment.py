"""ACCESS_BROKER_CATALOG replaces the demo catalog for `make run`, `make demo` and `make package` (the contract),
although .chalice/config.json names the demo catalog for every stage: the environment wins."""
from __future__ import annotations

import json
import shutil
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

from tools import package as make_package
from tools.local_server import serving
from tools.world import SOURCE_ACCOUNT

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "chalicelib" / "catalog" / "demo.yaml"
CATALOG = "chalicelib/catalog/from-the-environment.yaml"


def changed_demo(path: Path) -> Path:
    doc = yaml.safe_load(DEMO.read_text())
    doc["profiles"]["s3-prod"]["display_name"] = "S3 from the environment's catalog"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_make_run_and_make_demo_serve_the_catalog_the_environment_names(
        world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_BROKER_CATALOG", str(changed_demo(tmp_path / "catalog.yaml")))
    with serving(quiet=True) as url:  # what tools/run_local.py and tools/demo.py serve the app with
        request = urllib.request.Request(f"{url}/v1/profiles", headers={
            "X-Local-Principal": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/s3-access"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            profiles = answer.read().decode()
    assert "S3 from the environment's catalog" in profiles


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the app to package, so that the extra catalog never appears in the shared checkout."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "chalicelib", copy / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / ".chalice").mkdir()
    for name in ("config.json", "policy-dev.json", "policy-prod.json"):
        shutil.copy(ROOT / ".chalice" / name, copy / ".chalice" / name)
    if (ROOT / ".chalice" / "deployments").is_dir():  # chalice's cache of the downloaded requirements
        (copy / ".chalice" / "deployments").symlink_to(ROOT / ".chalice" / "deployments")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, copy / name)
    monkeypatch.setattr(make_package, "ROOT", copy)
    monkeypatch.setenv("ALLOW_DEMO_CATALOG", "1")  # prod from (a copy of) the demo catalog, asked for explicitly
    return copy


def test_make_package_gives_every_function_the_catalog_the_environment_names(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed_demo(project / CATALOG)
    monkeypatch.setenv("ACCESS_BROKER_CATALOG", CATALOG)
    written = make_package.package("prod", tmp_path / "out")

    sam = json.loads(written["cloudformation"].read_text())
    functions = [r["Properties"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 3
    assert {f["Environment"]["Variables"]["ACCESS_BROKER_CATALOG"] for f in functions} == {CATALOG}
    terraform = json.loads(written["terraform"].read_text())["resource"]["aws_lambda_function"]
    assert {f["environment"]["variables"]["ACCESS_BROKER_CATALOG"] for f in terraform.values()} == {CATALOG}
    make_package.cfn_lint(written["cloudformation"])
    with zipfile.ZipFile(written["cloudformation"].parent / "deployment.zip") as archive:
        assert {CATALOG, CATALOG + ".json"} <= set(archive.namelist())  # the YAML and its precompiled copy


def test_make_package_refuses_a_catalog_the_zip_would_not_carry(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_BROKER_CATALOG", str(changed_demo(tmp_path / "elsewhere" / "catalog.yaml")))
    with pytest.raises(SystemExit) as refused:
        make_package.package("prod", tmp_path / "out")
    message = str(refused.value.code)
    assert "\n" not in message and "ACCESS_BROKER_CATALOG=" in message and "chalicelib/catalog/" in message
    assert not (tmp_path / "out" / "cloudformation").exists()  # refused before chalice package ran
