"""`make package STAGE=prod`: chalice package to CloudFormation (SAM) and to Terraform, each with the DynamoDB table
merged in, built from chalicelib/store/schema.py's table_definition (one source for every copy of the table).

Writes build/<stage>/cloudformation/ (sam.json + deployment.zip) and build/<stage>/terraform/ (chalice.tf.json + zip),
adds bytecode and the decoded catalog to each zip (compile_package), then runs cfn-lint on the SAM template.
The build fails if either template lets anything but IAM principals of the account invoke the worker function."""
from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from chalicelib.domain.errors import CatalogError
from chalicelib.slack.sealed import WINDOW as JOB_WINDOW
from chalicelib.store.schema import TTL_ATTRIBUTE, table_definition
from tools.package_catalog import catalog_from_environment, set_catalog

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TABLE_RESOURCE = "AccessBrokerTable"  # logical id (CloudFormation) and resource name (Terraform)
WORKER = "worker"  # app.py's @app.lambda_function(name="worker"): Terraform's resource name; SAM's logical id "Worker"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the path tracebacks name
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # chalice's timestamp for every entry, so that a build is reproducible


def table_name(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    try:
        return config["stages"][stage]["environment_variables"]["ACCESS_BROKER_TABLE"]
    except KeyError:
        raise SystemExit(f"stage {stage!r} has no ACCESS_BROKER_TABLE in .chalice/config.json") from None


def cloudformation_table(name: str) -> dict[str, Any]:
    """The table as a CloudFormation resource: on demand, point-in-time recovery, encrypted with KMS, TTL on, and
    protected from deletion twice over (the table's own flag, and the stack keeping it if the resource goes)."""
    definition = table_definition(name)
    return {"Resources": {TABLE_RESOURCE: {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            **definition,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "DeletionProtectionEnabled": True,
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "Tags": [{"Key": "app", "Value": "access-broker"}],
        },
    }}}


def cloudformation_function_names(stage: str) -> dict[str, Any]:
    """Names the functions as `chalice deploy` (and Terraform) does, e.g. access-broker-prod-worker: the broker's
    policy, its log groups and settings.worker_function all rely on these names; SAM would otherwise invent them."""
    import app
    from chalice.utils import to_cfn_resource_name

    names = {"APIHandler": f"{app.app.app_name}-{stage}"}
    names.update({to_cfn_resource_name(f.name): f"{app.app.app_name}-{stage}-{f.name}"
                  for f in [*app.app.pure_lambda_functions, *app.app.event_sources]})
    return {"Resources": {logical: {"Properties": {"FunctionName": name}} for logical, name in names.items()}}


def worker_function_name(stage: str) -> str:
    return f"access-broker-{stage}-{WORKER}"


def cloudformation_worker() -> dict[str, Any]:
    """Lambda keeps an undelivered asynchronous job no longer than the worker would accept it (sealed.WINDOW)."""
    from chalice.utils import to_cfn_resource_name

    config = {"MaximumEventAgeInSeconds": int(JOB_WINDOW.total_seconds())}
    return {"Resources": {to_cfn_resource_name(WORKER): {"Properties": {"EventInvokeConfig": config}}}}


def terraform_worker() -> dict[str, Any]:
    return {"resource": {"aws_lambda_function_event_invoke_config": {WORKER: {
        "function_name": f"${{aws_lambda_function.{WORKER}.function_name}}",
        "maximum_event_age_in_seconds": int(JOB_WINDOW.total_seconds()),
    }}}}


def worker_invokers(stage: str, sam: dict[str, Any], terraform: list[dict[str, Any]]) -> list[str]:
    """What in the templates would let anyone but the account's IAM principals invoke the worker: a resource-based
    permission (AWS::Lambda::Permission, aws_lambda_permission), a function URL, or an event source. Lambda's
    resource policies can only allow, so the worker must have none: then only identity policies decide, and the
    broker's (tools/broker_policy.py) name this one function; every job must still carry its seal besides."""
    from chalice.utils import to_cfn_resource_name

    logical, name = to_cfn_resource_name(WORKER), worker_function_name(stage)
    found = []
    for rid, resource in sam.get("Resources", {}).items():
        kind, props = resource.get("Type", ""), resource.get("Properties", {})
        if kind in ("AWS::Lambda::Permission", "AWS::Lambda::Url") and _names_worker(props, f'"{logical}"', name):
            found.append(f"{rid} ({kind}) lets others invoke the worker")
        if rid == logical and (props.get("Events") or props.get("FunctionUrlConfig")):
            found.append(f"{rid} has event sources or a function URL")
    for document in terraform:
        for kind in ("aws_lambda_permission", "aws_lambda_function_url"):
            for rid, props in document.get("resource", {}).get(kind, {}).items():
                if _names_worker(props, f"aws_lambda_function.{WORKER}.", name):
                    found.append(f"{kind}.{rid} lets others invoke the worker")
    return found


def _names_worker(props: dict[str, Any], reference: str, name: str) -> bool:
    target = json.dumps(props.get("FunctionName", props.get("TargetFunctionArn", props.get("function_name", ""))))
    return reference in target or name in target


def terraform_table(name: str) -> dict[str, Any]:
    """The same table as a Terraform `aws_dynamodb_table` (aws provider < 5, as chalice's output pins)."""
    definition = table_definition(name)
    keys = {k["KeyType"]: k["AttributeName"] for k in definition["KeySchema"]}
    return {"resource": {"aws_dynamodb_table": {TABLE_RESOURCE: {
        "name": name,
        "billing_mode": definition["BillingMode"],
        "hash_key": keys["HASH"],
        "range_key": keys["RANGE"],
        "attribute": [{"name": a["AttributeName"], "type": a["AttributeType"]}
                      for a in definition["AttributeDefinitions"]],
        "global_secondary_index": [
            {"name": index["IndexName"], "projection_type": index["Projection"]["ProjectionType"],
             **{"hash_key" if k["KeyType"] == "HASH" else "range_key": k["AttributeName"] for k in index["KeySchema"]}}
            for index in definition["GlobalSecondaryIndexes"]],
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True},
        "deletion_protection_enabled": True,
        "ttl": {"attribute_name": TTL_ATTRIBUTE, "enabled": True},
        "tags": {"app": "access-broker"},
        "lifecycle": {"prevent_destroy": True},
    }}}}


def package(stage: str, out: Path) -> dict[str, Path]:
    """Runs chalice package twice; returns the CloudFormation and Terraform templates written."""
    out.mkdir(parents=True, exist_ok=True)
    name = table_name(stage)
    catalog = catalog_from_environment(ROOT)  # ACCESS_BROKER_CATALOG, when set, wins over config.json's
    merge = {"cloudformation": out / "table.cloudformation.json", "terraform": out / "table.tf.json"}
    merged = cloudformation_table(name)
    for logical, resource in [*cloudformation_function_names(stage)["Resources"].items(),
                              *cloudformation_worker()["Resources"].items()]:
        merged["Resources"].setdefault(logical, {"Properties": {}})["Properties"].update(resource["Properties"])
    merge["cloudformation"].write_text(json.dumps(merged, indent=2))
    merge["terraform"].write_text(json.dumps(terraform_table(name), indent=2))
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    written = {}
    for fmt, template in (("cloudformation", "sam.json"), ("terraform", "chalice.tf.json")):
        target = out / fmt
        command = [str(BIN / "chalice"), "package", "--stage", stage, "--pkg-format", fmt, str(target)]
        if fmt == "cloudformation":
            command += ["--merge-template", str(merge[fmt])]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise SystemExit(f"chalice package ({fmt}) failed:\n{(done.stderr or done.stdout)[-2000:]}")
        written[fmt] = target / template
        if catalog:
            set_catalog(written[fmt], catalog)
        compile_package(target / "deployment.zip")
    # chalice merges templates for CloudFormation only; Terraform reads every *.tf.json in the directory.
    (out / "terraform" / "table.tf.json").write_text(merge["terraform"].read_text())
    (out / "terraform" / f"{WORKER}.tf.json").write_text(json.dumps(terraform_worker(), indent=2))
    invokers = worker_invokers(stage, json.loads(written["cloudformation"].read_text()),
                               [json.loads(p.read_text()) for p in sorted((out / "terraform").glob("*.tf.json"))])
    if invokers:
        raise SystemExit("make package: only the broker's own functions may invoke the worker, but:\n  "
                         + "\n  ".join(invokers))
    return written


def compile_package(archive: Path) -> dict[str, int]:
    """What `make package` adds to the zip chalice wrote, so that a cold start does less: bytecode for every
    module, and each catalog decoded (catalog.precompile); returns how many of each it wrote.

    `chalice package` ships sources only, and Lambda's /var/task is read-only, so every cold start compiled
    each module it imported before running it (~400 ms of CPU for this app; README, Performance). The
    bytecode (this interpreter's: the functions run python3.11) is unchecked-hash (PEP 552): used without
    looking at the source's timestamp, which a zip does not keep. Bytecode already in the zip (a developer's
    __pycache__ copied along with chalicelib/) is replaced."""
    from chalicelib.catalog import precompile, precompiled_path

    with tempfile.TemporaryDirectory() as unpacked, zipfile.ZipFile(archive) as source:
        entries = [e for e in source.infolist() if "__pycache__/" not in e.filename
                   and not (e.filename.startswith("chalicelib/catalog/") and e.filename.endswith(".yaml.json"))]
        for entry in entries:
            source.extract(entry, unpacked)
        compileall.compile_dir(unpacked, ddir=LAMBDA_TASK_ROOT, quiet=2, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        added = sorted(Path(unpacked).rglob("__pycache__/*.pyc"))
        bytecode = len(added)
        for catalog in sorted(Path(unpacked, "chalicelib", "catalog").glob("*.yaml")):
            precompiled_path(catalog).write_text(precompile(catalog.read_bytes(), catalog.relative_to(unpacked)))
            added.append(precompiled_path(catalog))
        rebuilt = archive.with_suffix(".zip.part")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in entries:
                target.writestr(entry, source.read(entry.filename))
            for path in added:
                info = zipfile.ZipInfo(path.relative_to(unpacked).as_posix(), date_time=ZIP_EPOCH)
                info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
                target.writestr(info, path.read_bytes())
    rebuilt.replace(archive)
    return {"bytecode": bytecode, "catalogs": len(added) - bytecode}


def cfn_lint(*templates: Path) -> None:
    done = subprocess.run([str(BIN / "cfn-lint"), *map(str, templates)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"cfn-lint found problems:\n{done.stdout}{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE", "prod"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or ROOT / "build" / args.stage
    try:
        written = package(args.stage, out)
    except CatalogError as exc:
        raise SystemExit(f"make package: {exc}") from None
    cfn_lint(written["cloudformation"], ROOT / "targets" / "switch-role.yaml")
    for fmt, path in written.items():
        print(f"{fmt}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print("cfn-lint: no findings (sam.json, targets/switch-role.yaml)")


if __name__ == "__main__":
    main()
