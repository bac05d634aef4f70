"""The audit export: every event of every request in a window, JSON lines, oldest first, paged; events never change."""
from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from chalicelib.ports import StaleWrite

ROOT = Path(__file__).resolve().parents[2]


def z(when) -> str:
    return quote(when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def export(api, who: str = "bob", limit: int = 1000, **window) -> list[dict]:
    """Every line of the export, following the cursor page by page."""
    query = "&".join(f"{k}={z(v)}" for k, v in window.items())
    lines, cursor, pages = [], None, 0
    while True:
        url = f"/v1/audit?{query}&limit={limit}" + (f"&next={cursor}" if cursor else "")
        response = api.get(url, who)
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines += [json.loads(line) for line in response.body.decode().splitlines()]
        cursor, pages = response.headers.get("X-Next-Cursor"), pages + 1
        if not cursor:
            return lines
        assert "rel=\"next\"" in response.headers["Link"]
        assert pages < 100, "the cursor never ends"


@pytest.fixture
def history(api, broker, clock):
    """Three days of requests: one granted and revoked, one denied, one timed out, one cancelled."""
    start = clock()
    granted = api.create(as_="s3-access")
    api.post(f"/v1/requests/{granted['id']}/approve", "bob")
    clock.advance(minutes=5)
    api.post(f"/v1/requests/{granted['id']}/revoke", "s3-access")
    clock.advance(days=1)
    denied = api.create(as_="alice")
    api.post(f"/v1/requests/{denied['id']}/deny", "carol", {"comment": "not today"})
    timed_out = api.create(as_="carol", profile="s3-prod")
    clock.advance(hours=2)
    broker.sweep()
    clock.advance(days=1)
    cancelled = api.create(as_="alice")
    api.post(f"/v1/requests/{cancelled['id']}/cancel", "alice")
    clock.advance(minutes=1)
    return {"start": start, "end": clock(), "granted": granted["id"], "denied": denied["id"],
            "timed_out": timed_out["id"], "cancelled": cancelled["id"]}


def test_the_export_has_every_event_oldest_first_denied_and_timed_out_included(api, history) -> None:
    lines = export(api, since=history["start"], until=history["end"])

    kinds = {(e["request_id"], e["kind"]) for e in lines}
    assert {(history["granted"], k) for k in ("created", "approved", "activated", "revoked")} <= kinds
    assert {(history["denied"], "denied"), (history["timed_out"], "timed_out"),
            (history["cancelled"], "cancelled")} <= kinds
    assert [e["at"] for e in lines] == sorted(e["at"] for e in lines)
    per_request = {}
    for event in lines:
        per_request.setdefault(event["request_id"], []).append(event)
    for request_id, events in per_request.items():  # the export holds exactly each request's own trail
        assert events == api.get(f"/v1/requests/{request_id}/events", "bob").json["events"]


def test_pages_of_two_add_up_to_the_whole_export_without_repeats(api, history) -> None:
    whole = export(api, since=history["start"], until=history["end"])
    paged = export(api, limit=2, since=history["start"], until=history["end"])
    assert paged == whole and len(whole) >= 10


def test_the_window_is_since_inclusive_until_exclusive(api, history) -> None:
    whole = export(api, since=history["start"], until=history["end"])
    middle = [e for e in whole if e["request_id"] in (history["denied"], history["timed_out"])]
    first, last = middle[0]["at"], middle[-1]["at"]
    window = export(api, since=datetime.fromisoformat(first), until=datetime.fromisoformat(last))
    assert window and window[0]["at"] == first and all(e["at"] < last for e in window)
    assert {e["request_id"] for e in window} <= {history["denied"], history["timed_out"]}


def test_only_approvers_and_trusted_tools_export(api, history) -> None:
    response = api.get("/v1/audit", "s3-access")
    assert response.status_code == 403 and "approvers and trusted tools" in response.json["detail"]


@pytest.mark.parametrize("query, detail", [
    ("since=yesterday", "RFC 3339"),
    ("since=2026-11-28T10:00:00Z&until=2026-11-28T09:00:00Z", "before"),
    ("next=bm90LWEtY3Vyc29y", "cursor"),
    ("limit=0", "limit"),
    # found by the generated abuse run: each of these once cost thousands of queries or a 500
    ("since=0210-08-30T14:04:14Z", "at most 31 days"),
    ("since=2999-01-01T00:00:00Z&until=2999-01-02T00:00:00Z", "in the future"),
    ("next=eyJkYXkiOiAiMDAwMS0wMS0wMSIsICJrZXkiOiBudWxsfQ==", "cursor"),
    ("next=eyJwayI6IHsiTiI6ICIxIn19", "cursor"),
])
def test_bad_export_parameters_are_named(api, broker, query: str, detail: str) -> None:
    response = api.get(f"/v1/audit?{query}", "bob")
    assert response.status_code == 400 and detail in response.json["detail"], response.body


# -- append-only

def test_an_event_is_never_overwritten(api, broker) -> None:
    request = api.create()
    stored = broker.repo.get(request["id"])
    first = broker.repo.events(request["id"])[0]
    changed = dataclasses.replace(stored, reason="rewritten history")
    forged = dataclasses.replace(first, details={"reason": "rewritten history"}, actor="mallory")
    with pytest.raises(StaleWrite):  # same key as the `created` event: the does-not-exist condition refuses it
        broker.repo.transition(stored, changed, forged)
    assert broker.repo.events(request["id"]) == [first]
    assert broker.repo.get(request["id"]).reason == stored.reason


def test_no_code_path_updates_or_deletes_events() -> None:
    code = {path: path.read_text() for path in (ROOT / "chalicelib").rglob("*.py")}
    for path, text in code.items():  # the outbox deletes a retry as it takes it; nothing else deletes or updates
        for found in re.finditer(r"(\w+)\.(delete|update|batch_write)\(", text):
            assert (path.name, found.group(0)) in {("outbox.py", "item.delete("), ("asking.py", "details.update(")}, \
                f"{path.relative_to(ROOT)}: {found.group(0)}"
    repository = code[ROOT / "chalicelib/store/repository.py"]
    writes = len(re.findall(r"(?<!def )_event_item\(", repository))  # every event item the code builds ...
    conditioned = repository.count("condition=EventItem.pk.does_not_exist()")  # ... is put only if new
    assert writes >= 3 and conditioned == writes, (writes, conditioned)
    built = {p.name: len(re.findall(r"(?<!class )\bEventItem\(", text)) for p, text in code.items()}
    assert {name: n for name, n in built.items() if n} == {"repository.py": 1}, "event items built elsewhere"


def test_the_deployed_policy_deletes_nothing_but_outbox_entries() -> None:
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / f".chalice/policy-{stage}.json").read_text())
        actions = {a for s in policy["Statement"] for a in (s["Action"] if isinstance(s["Action"], list)
                                                             else [s["Action"]])}
        assert not actions & {"dynamodb:BatchWriteItem", "dynamodb:DeleteTable", "dynamodb:Scan"}, stage
        (delete,) = [s for s in policy["Statement"] if "dynamodb:DeleteItem" in s["Action"]]
        assert delete["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["OUTBOX"]}}


def test_event_shape_is_stable(api, broker, clock) -> None:
    request = api.create()
    clock.advance(seconds=1)
    (line,) = export(api, since=clock() - timedelta(minutes=1), until=clock())
    assert set(line) == {"request_id", "version", "kind", "at", "actor", "channel", "details"}
    assert (line["request_id"], line["kind"], line["actor"], line["channel"]) == (
        request["id"], "created", "s3-access", "api")
