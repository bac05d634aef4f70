"""The directory at scale (issue 21, point 6): 1,000 people in 20 IAM groups of the local world, a quarter of them
without a Slack id tag (the refresh finds them with users.lookupByEmail in the Slack stub), and one refresh measured:
its AWS calls by operation, its Slack calls by method, its time on moto; then a second refresh, which looks up only
people new or changed since the first (none here).

The membership it leaves in the table is what the cold start's directory case reads (bench/coldstart.py)."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from bench import catalogs
from bench.calls import AwsCalls
from bench.world import BenchWorld, environment
from chalicelib import bootstrap
from chalicelib.service import directory
from tools.slack_stub import READ_METHODS, SlackStub, SlackUser
from tools.world_directory import DirectoryUser, seed_directory

PEOPLE, GROUPS = 1_000, 20
LOOKED_UP_EVERY = 4  # every 4th person has an email tag and no Slack id tag: the refresh looks them up by email
SLACK_USERGROUP, SLACK_APPROVERS = "S0BENCHAPPR", 10  # a Slack user group of approvers, read on every refresh
MEMBERSHIP_KEY = {"pk": {"S": "DIRECTORY"}, "sk": {"S": "MEMBERS"}}  # chalicelib/store/memberships.py


def people(count: int = PEOPLE, groups: int = GROUPS) -> tuple[DirectoryUser, ...]:
    """`count` IAM users spread over `groups` groups (team-01...), every 10th in a second group too; each tagged with
    an email, and all but every LOOKED_UP_EVERY-th with their Slack id; all of them in Slack."""
    made = []
    for i in range(count):
        name, slack_id = f"dir-{i:04d}", f"U9{i:07d}"
        teams = (team(i % groups), *((team((i + 1) % groups),) if i % 10 == 0 else ()))
        made.append(DirectoryUser(name, teams, f"{name}@example.com",
                                  None if i % LOOKED_UP_EVERY == 0 else slack_id, slack_id, f"{name}@example.com"))
    return tuple(made)


def team(n: int) -> str:
    return f"team-{n + 1:02d}"


def run(world: BenchWorld, into: Path, count: int = PEOPLE, groups: int = GROUPS) -> dict[str, Any]:
    """Seeds the directory, refreshes it twice, and says what each refresh cost. `into`: where the catalog goes."""
    users = people(count, groups)
    started = time.perf_counter()
    seed_directory(world.emulator, users)
    seed_s = time.perf_counter() - started
    catalog = catalogs.directory_at_scale(into, [team(n) for n in range(groups)], approvers=team(groups - 1),
                                          slack_usergroup=SLACK_USERGROUP)
    stub = SlackStub().start()
    try:
        stub.set_directory([SlackUser(u.slack_id, u.name, u.slack_email) for u in users if u.slack_id],
                           {SLACK_USERGROUP: [u.slack_id for u in users[:SLACK_APPROVERS] if u.slack_id]})
        with environment(ACCESS_BROKER_CATALOG=str(catalog), SLACK_BOT_TOKEN="xoxb-bench", SLACK_API_URL=stub.api_url):
            broker = bootstrap.broker()
            deps = broker.written  # the catalog as written: what the sweeper refreshes
            iam = deps.iam_directory.iam  # built now, so that the counter hooks it
            refreshes = [_measured(lambda: directory.refresh(deps), broker, iam, stub) for _ in range(2)]
    finally:
        stub.stop()
    stored = _stored_membership(world.env["ACCESS_BROKER_TABLE"])
    asker = next(u for u in users if u.slack_id_tag)  # a directory person, known to Slack by their tag
    return {"people": count, "groups": groups, "looked_up_share": f"1 in {LOOKED_UP_EVERY}", "seed_s": round(seed_s, 1),
            "first": refreshes[0], "second": refreshes[1], "catalog": str(catalog),
            "membership_kb": round(len(json.dumps(stored)) / 1024, 1), "membership_item": stored,
            "asker_slack_id": asker.slack_id}


def _measured(refresh: Callable[[], directory.Refreshed], broker: Any, iam: Any, stub: SlackStub) -> dict[str, Any]:
    before = len(stub.calls())
    with AwsCalls(broker, clients=[iam]) as calls:
        started = time.perf_counter()
        done = refresh()
        elapsed = time.perf_counter() - started
    slack = Counter(c.method for c in stub.calls()[before:] if c.method in READ_METHODS)
    if done.failed:
        raise RuntimeError(f"the directory refresh failed: {done.failed}")
    return {"s": round(elapsed, 2), "people": done.people, "notices": done.notices,
            "aws": dict(sorted(calls.operations.items())), "aws_by_service": calls.by_service(),
            "slack": dict(sorted(slack.items()))}


def _stored_membership(table: str) -> dict[str, Any]:
    """The membership item as the table holds it, to put back after the cold start empties the table."""
    import boto3

    item = boto3.client("dynamodb").get_item(TableName=table, Key=MEMBERSHIP_KEY, ConsistentRead=True).get("Item")
    if not item:
        raise RuntimeError("the refresh stored no membership item")
    return dict(item)


def restore_membership(table: str, item: dict[str, Any]) -> None:
    import boto3

    boto3.client("dynamodb").put_item(TableName=table, Item=item)


def render(result: dict[str, Any], cold: dict[str, Any]) -> list[str]:
    first, second = result["first"], result["second"]
    rows = [(f"DIRECTORY AT SCALE: {result['people']:,} people in {result['groups']} IAM groups", "first refresh",
             "second", "", f"moto; {result['looked_up_share']} with no Slack id tag"),
            ("  time on moto (s)", first["s"], second["s"]),
            ("  people joined", first["people"], second["people"]),
            *[(f"  {op}", first["aws"].get(op, 0), second["aws"].get(op, 0))
              for op in sorted({*first["aws"], *second["aws"]})],
            *[(f"  slack {method}", first["slack"].get(method, 0), second["slack"].get(method, 0))
              for method in sorted({*first["slack"], *second["slack"]})],
            (f"  membership item: {result['membership_kb']} KB", "", "", "", f"seeding {result['seed_s']} s")]
    rows += cold_rows(cold, "app_directory", "cold slash command, directory catalog")
    return [_line(row) for row in rows]


def cold_rows(cold: dict[str, Any], case: str, label: str) -> list[tuple[Any, ...]]:
    """The case's ratio to the floor beside today's (the local world's), same run."""
    if case not in cold.get("ratios", {}):
        return [(f"  {label}: not measured",)]
    mine, today = cold["ratios"][case], cold["ratios"]["app_local"]
    return [(f"  {label}", f"{mine['wall']}x wall", f"cpu {mine['cpu']}x", "",
             f"today's: {today['wall']}x wall, cpu {today['cpu']}x (same run, ratio to the floor)"),
            (f"    its AWS calls: {_calls(cold[case].get('aws_calls'))} (today's: "
             f"{_calls(cold['app_local'].get('aws_calls'))})",)]


def _calls(operations: dict[str, int] | None) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(operations.items())) if operations is not None else "not counted"


def _line(row: tuple[Any, ...]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(row, (34, 14, 14, 14, 40))).rstrip()
