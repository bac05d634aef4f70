"""The cold slash-command answer under Lambda's CPU model (bench/cpu_model.py) at each memory size, from the
deployment zip `make package` builds, and what 1,000 requests a day would cost at that size.

Each size: `runs` fresh processes, each throttled to that size's CPU share from before it execs; wall times.
The verdict is on the process's whole life, interpreter start included, up to the answer."""
from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import coldstart, cpu_model

ROOT = Path(__file__).resolve().parent.parent
MEMORY_SIZES_MB = (128, 256, 512, 1024, 1769)
BUDGET_S = 1.0  # issue 14: the cold slash-command answer, median, at the API function's memory
REQUESTS_PER_DAY = 1_000
DAYS_PER_MONTH = 30
# AWS Lambda, x86, us-east-1, first 6 billion GB-seconds a month, free tier left out: from
# https://aws.amazon.com/lambda/pricing/ as read on 2026-12-01 (these two prices date from December 2020, when
# billing went to 1 ms steps). Lambda bills the init code outside the handler too, in 1 ms steps.
PRICE_PER_GB_SECOND_USD = 0.0000166667
PRICE_PER_REQUEST_USD = 0.20 / 1_000_000
PRICES_AS_OF = "2026-12-01"


def function_memory_mb(stage: str = "prod", function: str = "api_handler") -> int:
    """A function's memory in `stage`, resolved from .chalice/config.json as `chalice package` resolves it
    (per function, per stage, then Chalice's default of 128 MB). The API function is `api_handler`."""
    from chalice.config import Config

    config = Config(chalice_stage=stage, function_name=function,
                    config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text()))
    return int(config.lambda_memory_size or 128)


def monthly_cost_usd(memory_mb: int, billed_ms: int, requests_per_day: int = REQUESTS_PER_DAY) -> float:
    """Requests plus duration for a month of `requests_per_day`, each billed `billed_ms` at `memory_mb`."""
    requests = requests_per_day * DAYS_PER_MONTH
    gb_seconds = requests * (memory_mb / 1024) * (billed_ms / 1000)
    return requests * PRICE_PER_REQUEST_USD + gb_seconds * PRICE_PER_GB_SECOND_USD


def run(world: Any, source_account: str, archive: Path, runs: int = 5,
        sizes: tuple[int, ...] = MEMORY_SIZES_MB) -> dict[str, Any]:
    """The curve, or {"skipped": why} when no CPU cgroup can be written here."""
    why = cpu_model.unavailable()
    if why:
        return {"skipped": why}
    load_before = round(os.getloadavg()[0], 1)
    route, event = coldstart.first_request_event()
    secret = world.env["SLACK_SIGNING_SECRET"]
    table = world.env["ACCESS_BROKER_TABLE"]
    samples: dict[int, list[dict[str, Any]]] = {memory_mb: [] for memory_mb in sizes}
    with tempfile.TemporaryDirectory() as unpacked, ExitStack() as groups:
        package = coldstart.unpack(archive, Path(unpacked))
        group = {memory_mb: groups.enter_context(cpu_model.CpuGroup(memory_mb)) for memory_mb in sizes}
        # Rounds of one start per size, each size taking its turn at going first: the machine is shared, and
        # its load drifts; measured size after size, the drift would land on whole sizes.
        for i in range(runs):
            for memory_mb in sizes[i % len(sizes):] + sizes[:i % len(sizes)]:
                env = {**world.deployed_env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
                coldstart.empty_table(table)
                samples[memory_mb].append(coldstart.once("app", event(1000 * memory_mb + i, secret, source_account),
                                                         env, package=package, preexec_fn=group[memory_mb].join))
    rows = [_row(memory_mb, cpu_model.cpu_share(memory_mb), samples[memory_mb]) for memory_mb in sizes]
    api_mb = function_memory_mb()
    at_api = next((r for r in rows if r["memory_mb"] == api_mb), None)
    return {"route": route, "runs": runs, "rows": rows, "budget_s": BUDGET_S, "api_memory_mb": api_mb,
            "configured_mb": {name: function_memory_mb(function=name) for name in ("api_handler", "worker", "sweep")},
            "api_median_s": at_api["process_s"] if at_api else None,
            "load": (load_before, round(os.getloadavg()[0], 1)),
            "prices": {"per_gb_second_usd": PRICE_PER_GB_SECOND_USD, "per_request_usd": PRICE_PER_REQUEST_USD,
                       "as_of": PRICES_AS_OF, "requests_per_day": REQUESTS_PER_DAY}}


def _row(memory_mb: int, share: float, samples: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return round(statistics.median(s[key] for s in samples), 3)

    billed_ms = math.ceil(median("total_s") * 1000)  # init (the import) + the handler; the interpreter is Lambda's
    return {"memory_mb": memory_mb, "cpu_share": round(share, 3), "import_s": median("import_s"),
            "answer_s": median("answer_s"), "total_s": median("total_s"), "process_s": median("process_s"),
            "cpu_s": median("cpu_s"), "max_rss_mb": max(s["max_rss_mb"] for s in samples),
            "slowest_process_s": round(max(s["process_s"] for s in samples), 3),
            "billed_ms": billed_ms, "monthly_usd": round(monthly_cost_usd(memory_mb, billed_ms), 4)}


COLUMNS = (("memory MB", 10), ("CPU share", 10), ("import", 7), ("answer", 7), ("to answer", 10), ("slowest", 8),
           ("cpu s", 6), ("peak MB", 8), ("billed ms", 10), ("$/month", 8))


def render(curve: dict[str, Any]) -> list[str]:
    if "skipped" in curve:
        return [f"LAMBDA CPU MODEL: skipped, {curve['skipped']}"]
    prices = curve["prices"]

    def line(cells: tuple[Any, ...], mark: str = "") -> str:
        return ("  ".join(str(c).ljust(w) for c, (_, w) in zip(cells, COLUMNS)).rstrip() + mark)

    lines = [f"LAMBDA CPU MODEL: cold {curve['route']} from the zip, CPU throttled to memory/1769 of one core "
             f"(median of {curve['runs']} fresh processes each, wall s)", line(tuple(h for h, _ in COLUMNS))]
    for r in curve["rows"]:
        mark = "  <- API function" if r["memory_mb"] == curve["api_memory_mb"] else ""
        lines.append(line((r["memory_mb"], f"{r['cpu_share']:.1%}", r["import_s"], r["answer_s"], r["process_s"],
                           r["slowest_process_s"], r["cpu_s"], r["max_rss_mb"], r["billed_ms"],
                           f"{r['monthly_usd']:.2f}"), mark))
    api, median = curve["api_memory_mb"], curve["api_median_s"]
    if median is None:
        lines.append(f"  the API function's {api} MB (.chalice/config.json) is not one of the sizes measured")
    else:
        verdict = "within" if median <= curve["budget_s"] else "OVER"
        lines.append(f"  API function at {api} MB: {median} s to the answer (median), {verdict} the "
                     f"{curve['budget_s']} s budget")
    configured = ", ".join(f"{name} {mb} MB" for name, mb in curve["configured_mb"].items())
    lines.append(f"  .chalice/config.json (prod): {configured}")
    lines.append("  to answer: process start (interpreter included) to the answer; billed: import + answer, "
                 "each request taken as cold (an upper bound)")
    lines.append(f"  $/month: {prices['requests_per_day']:,} requests a day for {DAYS_PER_MONTH} days, Lambda x86 "
                 f"${prices['per_gb_second_usd']:.10f}/GB-s + ${prices['per_request_usd'] * 1e6:.2f}/1M requests "
                 f"(us-east-1, no free tier, {prices['as_of']})")
    lines.append(f"  other engineers share these CPUs: load average {curve['load'][0]} before, "
                 f"{curve['load'][1]} after")
    return lines
