"""Approve to usable with IAM's propagation delay modelled (issue 23, point 6): from the approval to the requester's
first successful `sts:AssumeRole`, found the way the CLI finds it before `request --wait` or `aws-profile` returns
(access_broker_cli.usable, the requester's own keys), and how long the CLI waits beyond the model's delay.

The check starts the moment the approval returns, as `aws-profile` run at once would: the CLI's worst case (a `--wait`
that sees the grant later finds it usable sooner). Between runs the world clock moves past the delay, so a revoked
grant is out of force before the next one is attached; the delay itself runs in real time."""
from __future__ import annotations

import io
import statistics
import time
from typing import Any

from access_broker_cli.usable import DEFAULT_BOUND_S, assume_attempt, until_usable
from bench.flows import PROFILE, REQUESTER, callers
from bench.world import BenchWorld
from tools.world import REGION, ROLE_NAME, TARGET_ACCOUNT

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
GOAL_BEYOND_S = 2.0


def run(world: BenchWorld, broker: Any, delay_s: float = 5.0, runs: int = 5) -> dict[str, Any]:
    requester, approver = callers(broker)
    attempt = assume_attempt(_session(world), ROLE_ARN, REQUESTER)
    approve_s: list[float] = []
    usable_s: list[float] = []
    offset = 0.0
    world.emulator.set_propagation(delay_s)
    try:
        for _ in range(runs):
            request = broker.request_access(requester, PROFILE, "1h", "benchmarking approve to usable")
            started = time.perf_counter()
            approved = broker.approve(approver, request.id, "ok")
            approve_s.append(time.perf_counter() - started)
            if approved.state.value != "active":
                raise RuntimeError(f"approve ended {approved.state.value}, not active: {approved.failure_reason}")
            until_usable(attempt, ROLE_ARN, REQUESTER, DEFAULT_BOUND_S, io.StringIO())
            usable_s.append(time.perf_counter() - started)
            broker.revoke(requester, request.id)
            offset += delay_s + 1
            world.emulator.set_clock_offset(offset)
    finally:
        world.emulator.set_propagation(0)
        world.emulator.set_clock_offset(0)
    beyond = [t - delay_s for t in usable_s]
    return {"delay_s": delay_s, "runs": runs, "goal_beyond_s": GOAL_BEYOND_S,
            "approve_s": _summary(approve_s), "approve_to_usable_s": _summary(usable_s),
            "beyond_delay_s": _summary(beyond)}


def render(result: dict[str, Any]) -> list[str]:
    rows = [(f"APPROVE TO USABLE (IAM delay {result['delay_s']:g} s)", "median s", "worst s", "runs", ""),
            ("  approve (the broker's part)", *_cells(result["approve_s"]), result["runs"], ""),
            ("  approve to first AssumeRole", *_cells(result["approve_to_usable_s"]), result["runs"],
             "the requester's own keys, as the CLI tries"),
            ("  the CLI's wait beyond the delay", *_cells(result["beyond_delay_s"]), result["runs"],
             f"goal under {result['goal_beyond_s']:g} s: "
             + ("met" if result["beyond_delay_s"]["worst"] < result["goal_beyond_s"] else "MISSED"))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, (34, 14, 14, 14, 40))).rstrip() for row in rows]


def _session(world: BenchWorld) -> Any:
    """A botocore session with the requester's keys, like the CLI's; the endpoint from AWS_ENDPOINT_URL."""
    import botocore.session

    keys = world.keys[REQUESTER]
    session = botocore.session.Session()
    session.set_credentials(keys.access_key_id, keys.secret_access_key)
    session.set_config_variable("region", REGION)
    return session


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "worst": round(max(values), 2)}


def _cells(summary: dict[str, float]) -> tuple[float, float]:
    return summary["median"], summary["worst"]
