"""The JSON lines the broker writes to standard output (chalicelib/audit_log.py): one per audit event, the copy of the
audit trail in CloudWatch Logs that the broker cannot change, and one per sweep pass. The packaged alarms' metric
filters (tools/package_operations.py) must match them: a session guard that could not be written, a pass, a pass
with errors. `make run` prints the same lines (the app serves in its process)."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib import bootstrap
from tools.package_operations import filters
from tools.world import TARGET_ACCOUNT


def lines(out: str) -> list[dict[str, Any]]:
    """Every JSON line the broker wrote; anything else on standard output is not one of them."""
    found = [json.loads(line) for line in out.splitlines() if line.startswith('{"type":')]
    assert all(isinstance(line, dict) for line in found)
    return found


_CONDITION = re.compile(r'^\$\.(\w+)\s*(=|>)\s*(?:"([^"]*)"|(\d+))$')


def matches(pattern: str, line: dict[str, Any]) -> bool:
    """CloudWatch Logs' JSON filter patterns, as far as the packaged filters use them: `{ $.a = "x" && $.b > 0 }`."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    for condition in body[1:-1].split("&&"):
        field, op, text, number = _CONDITION.match(condition.strip()).groups()
        value = line.get(field)
        if op == "=" and value != (text if text is not None else int(number)):
            return False
        if op == ">" and not (isinstance(value, (int, float)) and value > int(number)):
            return False
    return True


def metric(name: str, written: list[dict[str, Any]]) -> float:
    """What the packaged metric filter `name` would add up over these lines."""
    (f,) = [f for f in filters() if f.metric == name]
    return sum((line[f.value[2:]] if f.value.startswith("$.") else float(f.value)) for line in written
               if matches(f.pattern, line))


def unreachable(doc: dict) -> None:
    doc["target_accounts"] = {TARGET_ACCOUNT: {"external_id": "not-what-the-guard-role-trusts"}}


def test_each_event_of_a_request_is_one_json_line(api, capfd) -> None:
    request = api.create()
    api.post(f"/v1/requests/{request['id']}/approve", "bob")
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    bootstrap.deferred().drain()
    events = api.get(f"/v1/requests/{request['id']}/events", "bob").json["events"]

    written = [line for line in lines(capfd.readouterr().out) if line["type"] == "audit"
               and line["request_id"] == request["id"]]

    # one line per stored event (the table orders a version's events by kind; the lines come as they were written)
    assert sorted((w["version"], w["kind"], w["actor"], w["at"]) for w in written) == sorted(
        (e["version"], e["kind"], e["actor"], e["at"]) for e in events)
    assert [w["kind"] for w in written][:1] == ["created"]
    assert {w["profile"] for w in written if w["state"]} == {"s3-prod"}
    assert [w["state"] for w in written if w["kind"] in ("created", "revoked")] == ["pending", "revoked"]
    assert all(set(w) == {"type", "request_id", "version", "kind", "actor", "channel", "profile", "state", "at"}
               for w in written), "ids, names, kinds and times only: never an event's details"


def test_a_failed_session_guard_write_is_a_line_the_guard_alarm_counts(
        api, catalog_file, capfd) -> None:
    catalog_file(unreachable)  # the target account refuses the guard role: the grant works, its guard is pending
    request = api.create()
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").status_code == 200

    written = lines(capfd.readouterr().out)

    failed = [w for w in written if w["type"] == "audit" and w["kind"] == "session_guard_failed"]
    assert [w["request_id"] for w in failed] == [request["id"]] and failed[0]["state"] is None  # a note
    assert metric("SessionGuardFailures", written) == 1


def test_each_sweep_pass_is_one_line_the_heartbeat_and_error_alarms_read(
        api, catalog_file, capfd, clock) -> None:
    broker = catalog_file(unreachable)
    request = api.create()
    api.post(f"/v1/requests/{request['id']}/approve", "bob")
    capfd.readouterr()

    report = broker.sweep()  # the guard is still owed and the account still refuses: an error of this pass
    clock.advance(minutes=1)  # the next retry is due a minute after a refusal
    healthy = catalog_file(lambda doc: None).sweep()  # the account answers again: the guard is written

    passes = [w for w in lines(capfd.readouterr().out) if w["type"] == "sweep"]
    assert len(passes) == 2, "one line per pass"
    assert passes[0]["errors"] == report.errors == 1 and passes[0]["done"]["session_guard_pending"] == 1
    assert passes[1]["errors"] == healthy.errors == 0 and passes[1]["done"]["session_guard_written"] == 1
    assert passes[0]["done"] == dict(report.done) and passes[1]["done"] == dict(healthy.done)
    assert metric("SweepPasses", passes) == 2, "the heartbeat counts every finished pass"
    assert metric("SweepPassErrors", passes) == 1


@pytest.mark.parametrize("pattern, line, expected", [
    ('{ $.type = "sweep" && $.errors > 0 }', {"type": "sweep", "errors": 0}, False),
    ('{ $.type = "sweep" && $.errors > 0 }', {"type": "sweep", "errors": 2}, True),
    ('{ $.type = "audit" }', {"type": "sweep"}, False),
])
def test_the_pattern_reader_is_strict_enough(pattern: str, line: dict, expected: bool) -> None:
    assert matches(pattern, line) is expected
