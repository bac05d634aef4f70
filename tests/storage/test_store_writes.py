"""The repository's writes on DynamoDB, each story in one cheap test: every write is read back by each of its readers
(the request's events, the audit line, the audit, an approver's scoped audit); a create that DynamoDB refuses stores
nothing and says why (an id taken, a name held); the errors a caller reads; audit pages that cross a day keep their
limit and miss nothing. One table for the module: each test keeps to its own profile and days, and builds its
requests itself (no catalog, no IAM), so that make mutate's judge, which runs the cheapest tests first, reaches
them. (Mutants of chalicelib/store/repository.py the world's slower tests did not reach in time.)

moto only: DynamoDB Local's twins of these stories are in test_store_edges.py and test_repository.py."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import boto3
import pytest

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.ports import Exclusive, IdempotencyClaim
from chalicelib.store import models
from chalicelib.store.repository import Repository
from chalicelib.store.schema import create_table
from tests.conftest import TABLE

NAME = "break-glass#alice#writes"


@pytest.fixture(scope="module")
def repo(world: Any) -> Iterator[Repository]:
    """A Repository on a fresh table of the world's moto, for this module's tests."""
    ddb = boto3.client("dynamodb")
    if TABLE in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=TABLE)
    create_table(TABLE)
    models.bind(TABLE)
    yield Repository()


def new(profile: str, at: datetime, n: int = 0, **changes: Any) -> tuple[AccessRequest, Event]:
    """A request the repository has not seen, asked at `at`, with its first event."""
    request = AccessRequest(
        id=f"{profile}-{at:%Y%m%d%H%M%S}-{n}", profile=profile, requester="alice", requester_iam_user="alice",
        account="222222222222", role_arn="arn:aws:iam::222222222222:role/s3-access", reason="fixing the export job",
        duration_seconds=3600, approvals_required=1, created_at=at, due_at=at + timedelta(hours=1))
    request = dataclasses.replace(request, **changes)
    return request, Event(request.id, 1, "created", at, "alice", "api", {"profile": profile})


def audit_lines(out: str, request_id: str) -> list[tuple[str, Any, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [(line["kind"], line["profile"], line["state"]) for line in lines
            if line.get("type") == "audit" and line["request_id"] == request_id]


def test_each_write_is_read_back_by_every_reader(repo: Repository, capsys: pytest.CaptureFixture[str]) -> None:
    at = datetime(2026, 4, 1, 9, 0, tzinfo=timezone.utc)
    capsys.readouterr()
    request = repo.create(*new("p-read", at))
    denied = request.deny("bob", at + timedelta(minutes=1)).request
    repo.transition(request, denied, Event(request.id, 2, "denied", denied.updated_at or at, "bob", "api"))
    repo.note(Event(request.id, 2, "notify_failed", at + timedelta(minutes=2), "access-broker", "system", {}),
              "p-read")

    kinds = ["created", "denied", "notify_failed"]
    assert [e.kind for e in repo.events(request.id)] == kinds
    assert audit_lines(capsys.readouterr().out, request.id) == [
        ("created", "p-read", "pending"), ("denied", "p-read", "denied"), ("notify_failed", None, None)]
    day = (at.replace(hour=0), at.replace(hour=23))
    assert [e.kind for e in repo.audit(*day, 10, None).items if e.request_id == request.id] == kinds
    assert [e.kind for e in repo.audit_scoped(["p-read"], *day, 10, None).items] == kinds


def test_a_refused_create_stores_nothing_and_says_why(repo: Repository) -> None:
    at = datetime(2026, 4, 2, 9, 0, tzinfo=timezone.utc)
    first = repo.create(*new("p-refused", at))

    # An id already taken (a bug upstream, whatever the first event): nothing is overwritten, and it is no lost race.
    for kind in ("created", "break_glass_activated"):
        clash, event = new("p-refused", at, reason="another reason", state=State.ACTIVE)
        with pytest.raises(Conflict, match=first.id):
            repo.create(clash, dataclasses.replace(event, kind=kind))
        assert repo.get(first.id) == first

    # A name held until its holder's last second; the second after, it is free.
    until = at + timedelta(minutes=10)
    assert repo.claim(NAME, first.id, until, at)
    for claim in (None, IdempotencyClaim("alice", "key-refused", "body")):
        taker, event = new("p-refused", until, 1)
        with pytest.raises(Exclusive) as caught:
            repo.create(taker, event, claim, exclusive=(NAME, until + timedelta(hours=1)))
        assert caught.value.name == NAME
        with pytest.raises(NotFound):
            repo.get(taker.id)
    assert repo.holder(NAME) == first.id
    later, event = new("p-refused", until + timedelta(seconds=1), 2)
    assert repo.create(later, event, exclusive=(NAME, until + timedelta(hours=1))).id == later.id
    assert repo.holder(NAME) == later.id


def test_the_errors_a_caller_reads_name_what_went_wrong(repo: Repository) -> None:
    with pytest.raises(NotFound, match="^no request with id 'nope'$"):
        repo.get("nope")

    claim = IdempotencyClaim("alice", "key-errors", "body-hash-a")
    first = repo.create(*new("p-errors", datetime(2026, 4, 3, 9, 0, tzinfo=timezone.utc)), claim)
    assert repo.claimed(claim) == first
    with pytest.raises(Conflict) as caught:
        repo.claimed(dataclasses.replace(claim, fingerprint="body-hash-b"))
    assert str(caught.value) == "this Idempotency-Key was already used with a different body; use a new key"


def test_audit_pages_across_days_keep_their_limit_and_miss_nothing(repo: Repository) -> None:
    """Two events on the first day, three on the second: every page size reads all five, in order, none over."""
    first_day = datetime(2026, 4, 4, 22, 0, tzinfo=timezone.utc)
    made = [repo.create(*new("p-pages", first_day + timedelta(minutes=i))).id for i in range(2)]
    made += [repo.create(*new("p-pages", first_day + timedelta(hours=3, minutes=i))).id for i in range(3)]
    since, until = first_day.replace(hour=0), first_day + timedelta(days=1, hours=1)

    for limit in (2, 3):
        for read in (lambda cursor: repo.audit(since, until, limit, cursor),
                     lambda cursor: repo.audit_scoped(["p-pages"], since, until, limit, cursor)):
            seen: list[str] = []
            page = read(None)
            while True:
                assert len(page.items) <= limit
                seen += [e.request_id for e in page.items]
                if not page.next:
                    break
                page = read(page.next)
            assert seen == made
