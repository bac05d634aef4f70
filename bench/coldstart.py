"""Cold start: a fresh interpreter imports the app and answers its first request, against the local world,
next to the floor (a bare Chalice app that imports boto3 and does one PutItem). Also `-X importtime`."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "bench" / "cold_child.py"
MARK = "bench: cold path starts"  # cold_child.py writes it to stderr just before importing the app
BUDGET = 1.25  # the app may take at most this many times the floor


def api_event(method: str, path: str, body: str, headers: dict[str, str], user_arn: str | None = None) -> dict:
    """An API Gateway (REST, proxy) event as Lambda hands it to Chalice."""
    identity = {"sourceIp": "127.0.0.1", **({"userArn": user_arn} if user_arn else {})}
    return {"resource": path, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                               "requestId": "cold-start-bench", "identity": identity},
            "body": body, "isBase64Encoded": False}


def create_request_event(run: int, signing_secret: str, source_account: str) -> dict:
    """POST /v1/requests as s3-access, signed (the IAM authorizer's identity in the request context)."""
    body = json.dumps({"profile": "s3-prod", "duration": "1h", "reason": f"cold start benchmark {run}"})
    return api_event("POST", "/v1/requests", body, {"Content-Type": "application/json"},
                     user_arn=f"arn:aws:iam::{source_account}:user/s3-access")


def slash_command_event(run: int, signing_secret: str, source_account: str, user_id: str = "U01S3ACCESS") -> dict:
    """`/request-access s3-prod 1h ...` from s3-access (or the Slack user `user_id`), signed with the world's signing
    secret just now. Each run's text differs: a repeated body would be an idempotent replay, not a first request."""
    from urllib.parse import urlencode

    from chalicelib.slack.verify import signature

    body = urlencode({"team_id": "T01BENCH", "channel_id": "C01BENCH", "user_id": user_id,
                      "command": "/request-access", "text": f"s3-prod 1h cold start benchmark {run}",
                      "response_url": "https://hooks.slack.invalid/commands/T01BENCH/1/bench",
                      "trigger_id": f"1.bench.{run}"})
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": signature(signing_secret, stamp, body.encode())}
    return api_event("POST", "/slack/commands", body, headers)


def first_request_event() -> tuple[str, Callable[[int, str, str], dict]]:
    """The first request to time: a slash command once the Slack routes exist, else creating a request over HTTP."""
    if (ROOT / "chalicelib" / "routes" / "slack.py").exists():
        return "POST /slack/commands", slash_command_event
    return "POST /v1/requests", create_request_event


def floor_event(*_: object) -> dict:
    return api_event("POST", "/put", "{}", {"Content-Type": "application/json"})


def once(module: str, event: dict, env: dict[str, str], importtime: bool = False,
         package: Path | None = None, preexec_fn: Callable[[], None] | None = None,
         root: Path = ROOT) -> dict[str, Any]:
    """One fresh process in `root`; `process_s` also counts the interpreter's own start. With `package` (an unpacked
    deployment zip) the process sees only that directory and the standard library, as a Lambda function
    does, runs in it, and cannot write bytecode (Lambda's /var/task is read-only). `preexec_fn` runs in the
    child before it execs (bench/cpu_model.py: joining a throttled CPU group)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(event, f)
    root, flags = (package, ["-S"]) if package else (root, [])
    if package:
        env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        started = time.time()
        done = subprocess.run([sys.executable, *flags, *(["-X", "importtime"] if importtime else []), str(CHILD),
                               module, f.name], cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True,
                              text=True, timeout=120, preexec_fn=preexec_fn)
    finally:
        os.unlink(f.name)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"cold start of {module} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not 200 <= result["status"] < 300:
        raise RuntimeError(f"cold start of {module} answered {result['status']}: {result['body']}")
    result["total_s"] = result["import_s"] + result["answer_s"]
    result["process_s"] = result["at"] - started
    result["importtime"] = done.stderr if importtime else ""
    return result


@dataclass(frozen=True)
class Case:
    """One kind of cold start: `module` answering `event(run, signing_secret, source_account)` in `env`, from `root`
    (or from an unpacked deployment zip, `package`). `prepare` runs after the table is emptied and before the start,
    untimed (the directory case puts its membership back); `watch` sees each start's result; the answer must contain
    `expect` (a slash command answered "I don't know who you are" is a 200 too)."""
    label: str
    module: str
    event: Callable[[int, str, str], dict]
    env: dict[str, str]
    package: Path | None = None
    root: Path = ROOT
    prepare: Callable[[], None] | None = None
    watch: Callable[[dict[str, Any]], None] | None = None
    expect: str = ""


CREATED = ":inbox_tray: Request"  # the slash command's answer when it created the request (slack/texts.py created)


def run(world: Any, source_account: str, runs: int = 15, archive: Path | None = None,
        local_env: dict[str, str] | None = None, extra: dict[str, Case] | None = None) -> dict[str, Any]:
    """Median of `runs` rounds of cold starts, after one unmeasured start of each case (so that the checkout's
    cases read compiled bytecode, as the zip's does). A round starts, each case taking its turn at going first:
    - app_local: the app from this checkout against the local world, as `make run` serves it (in `local_env`,
      the world's environment by default);
    - app: as deployed: Lambda's environment, secrets read from SSM on first use, Slack notifications handed to
      the worker function (an asynchronous Invoke); from the deployment zip `archive` when given (unpacked, the
      standard library and nothing else, no bytecode written: what Lambda runs), else from this checkout;
    - app_sources_only: the same zip without its bytecode, as `chalice package` alone ships it (with `archive`);
    - each of `extra` (another catalog, another checkout);
    - floor: bench/floor_app.py.
    Every case but the floor gets its ratio to the floor.

    Every start finds the table empty (emptied untimed): moto deep-copies the whole table on each
    TransactWriteItems, so without that each run's request would make the next run's answer slower."""
    route, app_event = first_request_event()
    secret = world.env["SLACK_SIGNING_SECRET"]
    table = world.env["ACCESS_BROKER_TABLE"]
    with tempfile.TemporaryDirectory() as compiled, tempfile.TemporaryDirectory() as sources:
        expect = CREATED if app_event is slash_command_event else ""
        cases: dict[str, Case] = {
            "app_local": Case(f"app, local world: {route}", "app", app_event, local_env or world.env, expect=expect),
            "app": Case("same, as deployed, from " + ("the deployment zip" if archive else "this checkout"), "app",
                        app_event, world.deployed_env, unpack(archive, Path(compiled)) if archive else None,
                        expect=expect)}
        if archive:
            cases["app_sources_only"] = Case("  the zip without bytecode", "app", app_event, world.deployed_env,
                                             unpack(archive, Path(sources), bytecode=False), expect=expect)
        cases.update(extra or {})
        cases["floor"] = Case("floor: Chalice + boto3 PutItem", "bench.floor_app", floor_event, world.deployed_env)
        for case in cases.values():
            start(case, -1, secret, source_account, table)
        samples: dict[str, list[dict]] = {name: [] for name in cases}
        names = list(cases)
        for i in range(runs):
            for name in names[i % len(names):] + names[:i % len(names)]:
                samples[name].append(start(cases[name], i, secret, source_account, table))
        traced = start(cases["app"], runs, secret, source_account, table, importtime=True)
        counted = {name: start(case, runs + 1, secret, source_account, table, count_calls=True)["calls"]
                   for name, case in cases.items() if name != "floor"}
    result: dict[str, Any] = {}
    for name, found in samples.items():
        result[name] = {key: round(statistics.median(s[key] for s in found) * 1000, 1)
                        for key in ("import_s", "answer_s", "total_s", "process_s", "cpu_s")}
        result[name].update(runs=runs, label=cases[name].label, aws_calls=counted.get(name))
    # Each round's app start over the same round's floor, then the median: the machine's speed drifts between
    # rounds (shared CPUs), and a ratio within one round cancels most of that drift.
    result["ratios"] = {case: {measure: round(statistics.median(
        a[key] / f[key] for a, f in zip(samples[case], samples["floor"])), 2)
        for measure, key in (("wall", "total_s"), ("cpu", "cpu_s"))}
        for case in cases if case not in ("floor", "app_sources_only")}
    result["budget"] = BUDGET
    result["app_route"] = route
    result["deployed_from"] = "the deployment zip" if archive else "this checkout"
    result["top_imports"] = top_imports(traced["importtime"])
    return result


def start(case: Case, run: int, secret: str, source_account: str, table: str,
          importtime: bool = False, count_calls: bool = False) -> dict[str, Any]:
    """One cold start of `case` on an emptied table; with `count_calls`, an untimed one that counts its AWS calls."""
    empty_table(table)
    if case.prepare:
        case.prepare()
    env = {**case.env, "BENCH_COUNT_CALLS": "1"} if count_calls else case.env
    result = once(case.module, case.event(run, secret, source_account), env, importtime=importtime,
                  package=case.package, root=case.root)
    if case.expect and case.expect not in result["body"]:
        raise RuntimeError(f"cold start of {case.label!r} answered without {case.expect!r}: {result['body']}")
    if case.watch:
        case.watch(result)
    return result


def unpack(archive: Path, into: Path, bytecode: bool = True) -> Path:
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(into, [n for n in zipped.namelist() if bytecode or "__pycache__/" not in n])
    return into


def empty_table(table: str) -> None:
    import boto3

    client = boto3.client("dynamodb")
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk"):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key=item)


def top_imports(trace: str, n: int = 10) -> list[dict[str, Any]]:
    """The `n` costliest imports on the cold path: top-level packages by the time spent importing their own
    modules (self time summed), with the module that cost most inside each."""
    packages: dict[str, dict[str, Any]] = {}
    lines = trace.splitlines()
    cold_path = lines[lines.index(MARK) + 1:] if MARK in lines else lines
    for line in cold_path:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        entry = packages.setdefault(package, {"package": package, "self_ms": 0.0, "modules": 0, "costliest": ("", 0)})
        entry["self_ms"] += int(self_us) / 1000
        entry["modules"] += 1
        if int(self_us) > entry["costliest"][1]:
            entry["costliest"] = (name, int(self_us))
    ranked = sorted(packages.values(), key=lambda e: -e["self_ms"])[:n]
    return [{"package": e["package"], "self_ms": round(e["self_ms"], 1), "modules": e["modules"],
             "costliest_module": e["costliest"][0], "costliest_ms": round(e["costliest"][1] / 1000, 1)}
            for e in ranked]
