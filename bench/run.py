"""`make bench`: cold start against its floor, the cold answer under Lambda's CPU at each memory size, warm
latency and AWS calls per flow, approve to usable under IAM's propagation delay, sweep cost as the table grows,
package size and the costliest imports. Prints one table; writes bench/results.json.

Times are this machine's; only ratios and counts carry over. Nothing here is asserted: tests/perf pins counts."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from bench import before, catalogs, coldstart, directory_scale, flows, memory_curve, on_call, size, sweep_cost, usable
from bench.world import BenchWorld, fresh_broker, local_world
from tools.world import SOURCE_ACCOUNT

RESULTS = Path(__file__).resolve().parent / "results.json"
# Flow budgets from issue 7, plus the session guard (issue 12) on approve and revoke: at most one AssumeRole (its
# credentials cached for their lifetime), one GetRole, one GetRolePolicy and one PutRolePolicy in the target account,
# and the role's lease in the table (two conditional puts; a revoke also queries the person's other live grants).
CALL_BUDGETS = {"create": {"dynamodb": 2}, "approve_to_active": {"dynamodb": 3 + 2, "iam": 4 + 3, "sts": 1},
                "revoke": {"dynamodb": 2 + 3, "iam": 2 + 3, "sts": 1}}
FLOW_LABELS = {"approve_to_active": "approve_to_active (+ session guard)",
               "revoke": "revoke (+ session guard cut)"}
RATIO_LABELS = {"app_local": "local world", "app": "as deployed", "app_on_call": "on-call catalog",
                "app_directory": "directory catalog", "app_before": "before the service split"}
SWEEP_SIZES = (1_000, 10_000, 100_000)
MOTO_SWEEP_SIZES = (500, 1_000, 2_000)  # moto copies the whole table on every transaction: see README
SWEEP_TABLE = "access-broker-bench-sweep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per flow (default 200)")
    parser.add_argument("--cold-runs", type=int, default=15, help="rounds of cold starts (app, app as deployed, floor)")
    parser.add_argument("--memory-runs", type=int, default=5,
                        help="fresh processes per memory size under the Lambda CPU model (default 5)")
    parser.add_argument("--sweep-sizes", default=",".join(map(str, SWEEP_SIZES)), help="stored requests per step")
    parser.add_argument("--skip-package", action="store_true", help="skip `chalice package` (it needs PyPI)")
    parser.add_argument("--usable-runs", type=int, default=5, help="approvals timed to usable (default 5)")
    parser.add_argument("--usable-delay", type=float, default=5.0,
                        help="IAM's propagation delay in the world for them, seconds (default 5, as `make run`)")
    parser.add_argument("--directory-people", type=int, default=directory_scale.PEOPLE,
                        help=f"directory people in {directory_scale.GROUPS} IAM groups (default "
                             f"{directory_scale.PEOPLE:,})")
    parser.add_argument("--on-call-runs", type=int, default=20, help="on-call auto-approvals timed (default 20)")
    parser.add_argument("--before", default=before.SERVICE_SPLIT,
                        help=f"the commit whose cold start is measured beside this checkout's (default "
                             f"{before.SERVICE_SPLIT}, before the service split); '' skips it")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform(),
                                           "load_before": round(os.getloadavg()[0], 1)}}  # others share the CPUs
    package_dir = tempfile.TemporaryDirectory()
    results["size"] = {"skipped": True} if args.skip_package else size.package(Path(package_dir.name))
    with local_world() as world, package_dir, tempfile.TemporaryDirectory() as scratch:
        # The generic flows and the cold start's local case run on the demo catalog without on-call, as they
        # always measured (the tests do the same); on-call and the directory are measured on their own.
        generic = catalogs.demo_without_on_call(Path(scratch))
        os.environ["ACCESS_BROKER_CATALOG"] = str(generic)  # local_world puts the environment back
        fresh_broker()
        results["directory"] = directory_scale.run(world, Path(scratch), count=args.directory_people)
        archive = Path(results["size"].pop("zip")) if "zip" in results["size"] else None
        with cold_cases(world, results["directory"].pop("membership_item"), results["directory"], args.before,
                        Path(scratch)) as (extra, watch, skipped):
            results["cold_start"] = coldstart.run(world, SOURCE_ACCOUNT, runs=args.cold_runs, archive=archive,
                                                  local_env={**world.env, "ACCESS_BROKER_CATALOG": str(generic)},
                                                  extra=extra)
            results["cold_start"]["app_on_call"]["watch"] = watch.summary()
        results["before"] = {"commit": args.before, "skipped": skipped}
        results["memory_curve"] = (memory_curve.run(world, SOURCE_ACCOUNT, archive, runs=args.memory_runs)
                                   if archive else {"skipped": "no deployment zip (--skip-package)"})
        results["flows"] = flows.run(fresh_broker(), runs=args.runs)
        results["on_call"] = on_call.run(runs=args.on_call_runs)
        results["usable"] = usable.run(world, fresh_broker(), delay_s=args.usable_delay, runs=args.usable_runs)
        with sweep_storage() as (storage, note):
            on_moto = storage == "moto"
            sizes = MOTO_SWEEP_SIZES if on_moto else tuple(int(n) for n in args.sweep_sizes.split(","))
            rows = sweep_cost.measure(fresh_broker(), sizes, SWEEP_TABLE, passes=1 if on_moto else 3,
                                      warmup=0 if on_moto else 2)
            results["sweep"] = {"storage": storage, "note": note, "rows": rows}
    results["bench_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_after"] = round(os.getloadavg()[0], 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


class ColdCases(NamedTuple):
    cases: dict[str, coldstart.Case]
    watch: on_call.AnswerPathWatch
    before_skipped: str  # why the older commit's case is missing, "" when it is there


@contextmanager
def cold_cases(world: BenchWorld, membership: dict[str, Any], directory: dict[str, Any], commit: str,
               scratch: Path) -> Iterator[ColdCases]:
    """The cold start's cases beyond the app and the floor, each against the same world in the same rounds:
    - app_on_call: the demo catalog as shipped (s3-prod auto-approves the on-call) and the PagerDuty stand-in with
      nobody on call, watched for lookups made while the answer was on its way (there must be none);
    - app_directory: the directory catalog at scale, its membership put back in the emptied table before each start
      (the one item a cold start reads), asked by a directory person;
    - app_before: `commit`'s checkout (issue 20: before the service split), with its own demo catalog."""
    table = world.env["ACCESS_BROKER_TABLE"]
    _, event = coldstart.first_request_event()
    stub = on_call.stand_in(None)
    watch = on_call.AnswerPathWatch(stub)
    cases = {
        "app_on_call": coldstart.Case("same, on-call demo catalog", "app", event,
                                      {**world.env, **on_call.settings(stub)}, watch=watch, expect=coldstart.CREATED),
        "app_directory": coldstart.Case(
            f"same, directory catalog ({directory['people']:,} people)", "app",
            partial(coldstart.slash_command_event, user_id=directory["asker_slack_id"]),
            {**world.env, "ACCESS_BROKER_CATALOG": directory["catalog"]},
            prepare=lambda: directory_scale.restore_membership(table, membership), expect=coldstart.CREATED)}
    skipped = ""
    if commit:
        found = before.export(commit, scratch / "before")
        if isinstance(found, Path):
            cases["app_before"] = coldstart.Case(f"same, at {commit} (before the service split)", "app", event,
                                                 world.env, root=found, expect=coldstart.CREATED)
        else:
            skipped = found
    try:
        yield ColdCases(cases, watch, skipped)
    finally:
        stub.stop()


@contextmanager
def sweep_storage() -> Iterator[tuple[str, str]]:
    """DynamoDB Local for the sweep's table when it is installed (`make dynamodb-local`), IAM staying on moto;
    otherwise moto, at smaller sizes: moto answers an index Query by scanning the whole table and copies the
    table on every transaction, so its times grow with the table whatever the broker does."""
    try:
        from tools.dynamodb_local import DynamoDBLocal, emulator_dir, unavailable
    except ImportError:
        yield "moto", "tools/dynamodb_local.py is missing; sizes reduced"
        return
    directory = emulator_dir()
    why = unavailable(directory)
    if why:
        yield "moto", f"{why}; sizes reduced"
        return
    with tempfile.TemporaryDirectory() as workdir, DynamoDBLocal.start(directory, Path(workdir)) as ddb:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.endpoint
        try:
            yield "dynamodb-local", "DynamoDB on DynamoDB Local (in memory), IAM on moto"
        finally:
            del os.environ["AWS_ENDPOINT_URL_DYNAMODB"]


def render(results: dict[str, Any]) -> str:
    lines: list[str] = []

    def row(*cells: Any) -> None:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(cells, (34, 14, 14, 14, 40))).rstrip())

    cold = results["cold_start"]
    machine = results["machine"]
    lines.append(f"access-broker bench: Python {machine['python']}, {machine['cpus']} CPUs, load average "
                 f"{machine['load_before']} before, {machine['load_after']} after; {results['bench_s']} s")
    lines.append("")
    row("COLD START (median, ms)", "import", "first answer", "total (cpu)", "with interpreter")
    cases = [name for name, c in cold.items() if isinstance(c, dict) and "label" in c]
    for name in cases:
        c = cold[name]
        row(c["label"], c["import_s"], c["answer_s"], f"{c['total_s']} ({c['cpu_s']})", c["process_s"])
    for name, ratio in cold["ratios"].items():
        verdict = "within" if ratio["wall"] <= cold["budget"] else "OVER"
        row(f"  ratio to the floor, {RATIO_LABELS.get(name, name)}", f"{ratio['wall']}x",
            f"({verdict} {cold['budget']}x)", f"cpu: {ratio['cpu']}x", f"median of {cold[name]['runs']} rounds")
    lines.append("")
    lines.extend(memory_curve.render(results["memory_curve"]))
    lines.append("")
    row("WARM FLOW (ms)", "median", "p95", "runs", "AWS calls")
    for name, flow in results["flows"].items():
        over = [s for s, limit in CALL_BUDGETS[name].items() if flow["calls_by_service"].get(s, 0) > limit]
        calls = ", ".join(f"{s} {n}" for s, n in flow["calls_by_service"].items())
        row(FLOW_LABELS.get(name, name), flow["median_ms"], flow["p95_ms"], flow["runs"],
            calls + (f" (OVER: {over})" if over else ""))
    lines.append("")
    lines.extend(on_call.render(results["on_call"], cold))
    lines.append("")
    lines.extend(directory_scale.render(results["directory"], cold))
    lines.append("")
    lines.extend(before.render(results["before"], cold))
    lines.append("")
    lines.extend(usable.render(results["usable"]))
    lines.append("")
    sweep = results["sweep"]
    row(f"SWEEP PASS ({sweep['storage']})", "items read", "pass ms", "due/done", "seeding s")
    for r in sweep["rows"]:
        row(f"{r['stored']:,} stored", r["items_read"], r["pass_ms"], f"{r['due']}/{r['done_per_pass']}", r["seed_s"])
    lines.append(f"  {sweep['note']}")
    lines.append("")
    pkg = results["size"]
    if "zip_mb" in pkg:
        largest = ", ".join(f"{p['name']} {p['zipped_mb']}" for p in pkg["largest"])
        row("PACKAGE (make package)", f"{pkg['zip_mb']} MB zip", f"{pkg['unzipped_mb']} MB", f"{pkg['files']} files",
            f"largest (MB zipped): {largest}")
        row(f"  sources only: {pkg['sources_only_zip_mb']} MB zip")
    else:
        row("PACKAGE", pkg.get("error", "skipped"))
    lines.append("")
    row("TOP IMPORTS ON THE COLD PATH", "self ms", "modules", "", "costliest module")
    for imp in cold["top_imports"]:
        row(imp["package"], imp["self_ms"], imp["modules"], "", f"{imp['costliest_module']} ({imp['costliest_ms']} ms)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
