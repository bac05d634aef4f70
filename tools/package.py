"""`make package STAGE=prod`: chalice package to CloudFormation (SAM) and to Terraform, each with the DynamoDB table
merged in, built from chalicelib/store/schema.py's table_definition (one source for every copy of the table).

Writes build/<stage>/cloudformation/ (sam.json + deployment.zip) and build/<stage>/terraform/ (chalice.tf.json + zip),
adds bytecode and the decoded catalog to each zip (compile_package), then runs cfn-lint on the SAM template.
Both templates also get what running the broker needs (tools/package_operations.py: one role, log groups with a
retention, the worker's failed-job queue, alarms, the public URL). Before chalice runs, the broker's policy files are
rendered again for the catalog (tools/broker_policy.py), so a changed source_account reaches the templates.
The build fails if either template lets anything but IAM principals of the account invoke the worker function.
`make package STAGE=prod` refuses the demo catalog unless ALLOW_DEMO_CATALOG=1."""
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
from chalicelib.store.schema import TTL_ATTRIBUTE, table_definition
from tools import broker_policy, template_graph
from tools import package_operations as operations
from tools.package_catalog import catalog_from_environment, set_catalog

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TABLE_RESOURCE = "AccessBrokerTable"  # logical id (CloudFormation) and resource name (Terraform)
WORKER = "worker"  # app.py's @app.lambda_function(name="worker"): Terraform's resource name; SAM's logical id "Worker"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the path tracebacks name
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # chalice's timestamp for every entry, so that a build is reproducible
DEMO_CATALOG = "chalicelib/catalog/demo.yaml"
DEMO_SOURCE_ACCOUNT = "111111111111"  # the demo catalog's (and the local world's) source account
ALLOW_DEMO = "ALLOW_DEMO_CATALOG"


def table_name(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    try:
        return config["stages"][stage]["environment_variables"]["ACCESS_BROKER_TABLE"]
    except KeyError:
        raise SystemExit(f"stage {stage!r} has no ACCESS_BROKER_TABLE in .chalice/config.json") from None


def api_stage(stage: str) -> str:
    """The API Gateway stage in the API's URL (config.json's api_gateway_stage; Chalice's default is api)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"].get(stage, {}).get("api_gateway_stage", config.get("api_gateway_stage", "api"))


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
    from chalice.utils import to_cfn_resource_name

    import app

    names = {"APIHandler": f"{app.app.app_name}-{stage}"}
    names.update({to_cfn_resource_name(f.name): f"{app.app.app_name}-{stage}-{f.name}"
                  for f in [*app.app.pure_lambda_functions, *app.app.event_sources]})
    return {"Resources": {logical: {"Properties": {"FunctionName": name}} for logical, name in names.items()}}


def worker_function_name(stage: str) -> str:
    return f"access-broker-{stage}-{WORKER}"


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
    for path in broker_policy.write(ROOT):  # the catalog's source account and guard roles, as they are now
        print(f"make package: rewrote {path.relative_to(ROOT)} for the catalog (its source_account or target "
              f"accounts changed); commit it with the catalog")
    merge = {"cloudformation": out / "table.cloudformation.json", "terraform": out / "table.tf.json"}
    merged: dict[str, Any] = {}
    for part in (cloudformation_table(name), cloudformation_function_names(stage),
                 operations.cloudformation(stage, api_stage(stage))):
        _deep_merge(merged, part)
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
        document = json.loads(written[fmt].read_text())
        if fmt == "cloudformation":
            operations.adjust_sam(document, stage)
        else:
            operations.adjust_terraform(document, stage, api_stage(stage))
        written[fmt].write_text(json.dumps(document, indent=2))
        if catalog:
            set_catalog(written[fmt], catalog)
        compile_package(target / "deployment.zip")
    # chalice merges templates for CloudFormation only; Terraform reads every *.tf.json in the directory.
    (out / "terraform" / "table.tf.json").write_text(merge["terraform"].read_text())
    (out / "terraform" / "operations.tf.json").write_text(
        json.dumps(operations.terraform(stage, api_stage(stage)), indent=2))
    terraform_documents = [json.loads(p.read_text()) for p in sorted((out / "terraform").glob("*.tf.json"))]
    for fmt, cycle in (("cloudformation", template_graph.cloudformation_cycle(
            json.loads(written["cloudformation"].read_text()))), ("terraform", template_graph.terraform_cycle(
            terraform_documents))):
        if cycle:
            raise SystemExit(f"make package: the {fmt} output has a dependency cycle: {' -> '.join(cycle)}")
    invokers = worker_invokers(stage, json.loads(written["cloudformation"].read_text()), terraform_documents)
    if invokers:
        raise SystemExit("make package: only the broker's own functions may invoke the worker, but:\n  "
                         + "\n  ".join(invokers))
    return written


def _deep_merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


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


def demo_catalog_refusal(stage: str) -> str | None:
    """Why `make package` must not build `stage` (prod) with the demo catalog, or None. The demo's people, Slack
    ids and accounts are made up: deployed, nobody could ask or approve. ALLOW_DEMO_CATALOG=1 builds it anyway."""
    from chalicelib.catalog import load_catalog

    if stage != "prod" or os.environ.get(ALLOW_DEMO, "") == "1":
        return None
    path = catalog_from_environment(ROOT) or _configured_catalog(stage)
    if (ROOT / path).resolve() == (ROOT / DEMO_CATALOG).resolve():
        what = f"the demo catalog ({DEMO_CATALOG})"
    elif load_catalog(ROOT / path).source_account == DEMO_SOURCE_ACCOUNT:
        what = f"{path}, whose source_account {DEMO_SOURCE_ACCOUNT} is the demo's"
    else:
        return None
    return (f"make package: STAGE=prod would deploy {what}; write your own catalog (docs/catalog.md) and build with "
            f"ACCESS_BROKER_CATALOG=chalicelib/catalog/<yours>.yaml make package, or say {ALLOW_DEMO}=1 to build the "
            f"demo anyway")


def _configured_catalog(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage_env = config["stages"].get(stage, {}).get("environment_variables", {})
    env = {**config.get("environment_variables", {}), **stage_env}
    return env.get("ACCESS_BROKER_CATALOG", DEMO_CATALOG)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE", "prod"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or ROOT / "build" / args.stage
    try:
        refusal = demo_catalog_refusal(args.stage)
        if refusal:
            raise SystemExit(refusal)
        written = package(args.stage, out)
    except CatalogError as exc:
        raise SystemExit(f"make package: {exc}") from None
    cfn_lint(written["cloudformation"], ROOT / "targets" / "switch-role.yaml", ROOT / "targets" / "guard-role.yaml")
    for fmt, path in written.items():
        print(f"{fmt}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print("cfn-lint: no findings (sam.json, targets/switch-role.yaml, targets/guard-role.yaml)")


if __name__ == "__main__":
    main()
