"""The repository: maps AccessRequest and Event to items and back, with every write conditional.

A transition is one transaction: the request saved on condition that its version is the one we read,
and its event put on condition that it does not exist. A lost race surfaces as StaleWrite."""
from __future__ import annotations

import base64
import json
import secrets
from dataclasses import fields, is_dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import audit_log
from chalicelib.domain import schedule
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, Unprocessable, quote
from chalicelib.domain.requests import AccessRequest, Approval, Event, Extension, Grant, State
from chalicelib.ports import (
    CUT_STANDS,
    Exclusive,
    IdempotencyClaim,
    IdempotentReplay,
    Page,
    StaleWrite,
)
from chalicelib.store.models import EventItem, IdempotencyItem, LockItem, RequestItem

if TYPE_CHECKING:
    from pynamodb.pagination import ResultIterator

_CONDITION_FAILED = "ConditionalCheckFailed"
_TOO_LARGE = "Item size has exceeded the maximum allowed size"
IDEMPOTENCY_TTL = timedelta(hours=24)


class Repository:
    """The RequestStore (chalicelib/ports.py) in DynamoDB, through pynamodb."""

    def create(self, request: AccessRequest, event: Event, claim: IdempotencyClaim | None = None,
               exclusive: tuple[str, datetime] | None = None) -> AccessRequest:
        """Stores a new request with its first event. With a claim, a second create under the same
        idempotency key returns the first request instead (or 409 if the body differs). With `exclusive` (a name and
        until when), the request also takes that name, on condition that no live request holds it (Exclusive)."""
        item = _to_item(request)
        with _translated(request.id, claim, creating=True, exclusive=exclusive):
            with TransactWrite(connection=_connection()) as tx:
                tx.save(item, condition=RequestItem.pk.does_not_exist())
                tx.save(_event_item(event, request.profile), condition=EventItem.pk.does_not_exist())
                if claim:
                    tx.save(IdempotencyItem(
                        _claim_pk(claim), "IDEM", request_id=request.id, fingerprint=claim.fingerprint,
                        expires=int((request.created_at + IDEMPOTENCY_TTL).timestamp())),
                        condition=IdempotencyItem.pk.does_not_exist())
                if exclusive:
                    name, until = exclusive
                    tx.save(LockItem(_exclusive_pk(name), "LOCK", owner=request.id, expires=int(until.timestamp())),
                            condition=LockItem.pk.does_not_exist() | (
                                LockItem.expires < int(request.created_at.timestamp())))
        audit_log.audit_event(event, request.profile, request.state.value)
        return _from_item(item)

    def holder(self, name: str) -> str | None:
        """The request holding the exclusive `name`, if any still does."""
        try:
            found = LockItem.get(_exclusive_pk(name), "LOCK", consistent_read=True)
        except DoesNotExist:
            return None
        return found.owner or None

    def claim(self, name: str, request_id: str, until: datetime, now: datetime) -> bool:
        """Takes the exclusive `name` for `request_id` until `until`, on condition that no live request holds it
        (nobody, a holder whose time ran out, or this request already); False when another does."""
        try:
            LockItem(_exclusive_pk(name), "LOCK", owner=request_id, expires=int(until.timestamp())).save(
                condition=LockItem.pk.does_not_exist() | (LockItem.expires < int(now.timestamp()))
                | (LockItem.owner == request_id))
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def release(self, name: str, request_id: str) -> None:
        """Gives up the exclusive `name` if `request_id` still holds it (an ended request)."""
        try:
            LockItem(_exclusive_pk(name), "LOCK", owner="", expires=0).save(condition=LockItem.owner == request_id)
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def claimed(self, claim: IdempotencyClaim) -> AccessRequest | None:
        """The request an idempotency key already created, if any; 409 when the body differs."""
        try:
            found = IdempotencyItem.get(_claim_pk(claim), "IDEM", consistent_read=True)
        except DoesNotExist:
            return None
        if found.fingerprint != claim.fingerprint:
            raise Conflict("this Idempotency-Key was already used with a different body; use a new key")
        return self.get(found.request_id)

    def get(self, request_id: str) -> AccessRequest:
        try:
            return _from_item(RequestItem.get(_request_pk(request_id), "REQ", consistent_read=True))
        except DoesNotExist:
            raise NotFound(f"no request with id {quote(request_id)}") from None

    def transition(self, before: AccessRequest, after: AccessRequest, event: Event) -> AccessRequest:
        """Saves `after` only if the stored request is still at `before.version`, with its event."""
        item = _to_item(after, version=before.version)
        with _translated(before.id):
            with TransactWrite(connection=_connection()) as tx:
                tx.save(item)  # the VersionAttribute adds "version = before.version"
                tx.save(_event_item(event, after.profile), condition=EventItem.pk.does_not_exist())
        audit_log.audit_event(event, after.profile, after.state.value)
        return _from_item(item)

    def note(self, event: Event, profile: str = "") -> None:
        """Appends an event that changes no state (a notification outcome, a drift repair, a session-guard failure);
        reminders and warnings are transitions (they set the request's once-only flag). `profile`: the request's, so
        that approvers scoped to it read the note ("": an event of no request, read by the unscoped only)."""
        item = _event_item(event, profile, unique=True)
        with _translated(event.request_id):
            item.save(condition=EventItem.pk.does_not_exist())
        audit_log.audit_event(event)

    def events(self, request_id: str) -> list[Event]:
        pk = _request_pk(request_id)
        return [_event_from_item(i) for i in EventItem.query(pk, EventItem.sk.startswith("EVT#"), consistent_read=True)]

    def by_requester(self, person: str, limit: int, cursor: str | None) -> Page[AccessRequest]:
        return _page(RequestItem.by_requester.query(
            person, scan_index_forward=False, limit=limit, last_evaluated_key=_decode(cursor)), limit)

    def standing_cuts(self, now: datetime) -> Iterator[AccessRequest]:
        """Ended grants whose session cut must still stand at `now`: a key condition on the `due` index, so only
        grants ended within the last hour or so are read, however many are stored."""
        for item in RequestItem.due.query(CUT_STANDS, RequestItem.due_at > _ts(now)):
            yield _from_item(item)

    def by_state(self, state: State, limit: int, cursor: str | None) -> Page[AccessRequest]:
        return _page(RequestItem.by_state.query(
            state.value, scan_index_forward=False, limit=limit, last_evaluated_key=_decode(cursor)), limit)

    def due(self, state: State | str, now: datetime, limit: int = 100) -> Iterator[AccessRequest]:
        """Requests in `state` (or GUARD_DUE: ended, their session guard still owed) whose next sweep is due: a key
        condition, so only due items are read."""
        partition = state.value if isinstance(state, State) else state
        for item in RequestItem.due.query(partition, RequestItem.due_at <= _ts(now), limit=limit):
            yield _from_item(item)

    def audit(self, since: datetime, until: datetime, limit: int, cursor: str | None) -> Page[Event]:
        """Events in [since, until), oldest first, across every request: one Query per UTC day."""
        position = _decode(cursor) or {"day": since.date().isoformat(), "key": None}
        try:
            day, start = date.fromisoformat(position["day"]), _key(position["key"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(_BAD_CURSOR) from None
        if not since.date() <= day <= until.date():  # a cursor from another window would read other days
            raise InvalidInput(_BAD_CURSOR)
        found: list[Event] = []
        while day <= until.date() and len(found) < limit:
            query = EventItem.audit.query(
                day.isoformat(), EventItem.audit_key.between(_ts(since), _ts(until)),
                limit=limit - len(found), last_evaluated_key=start)
            found.extend(_event_from_item(i) for i in query)
            if query.last_evaluated_key:
                return Page(found, _encode({"day": day.isoformat(), "key": query.last_evaluated_key}))
            start, day = None, day + timedelta(days=1)
        return Page(found, _encode({"day": day.isoformat(), "key": None}) if day <= until.date() else None)

    def audit_scoped(self, profiles: Sequence[str], since: datetime, until: datetime, limit: int,
                     cursor: str | None) -> Page[Event]:
        """The events of requests for `profiles` in [since, until), oldest first: per UTC day one Query per profile
        on the audit-by-profile index, merged by time; nothing of another profile is read."""
        position = _decode(cursor) or {"day": since.date().isoformat(), "keys": {}}
        try:
            day = date.fromisoformat(position["day"])
            starts = {profile: _key(key) for profile, key in position["keys"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput(_BAD_CURSOR) from None
        if not since.date() <= day <= until.date() or not set(starts) <= set(profiles):
            raise InvalidInput(_BAD_CURSOR)
        found: list[Event] = []
        while day <= until.date() and len(found) < limit:
            items, resume = _scoped_day(sorted(profiles), day, since, until, limit - len(found), starts)
            found.extend(_event_from_item(item) for item in items)
            if resume is not None:
                return Page(found, _encode({"day": day.isoformat(), "keys": resume}))
            starts, day = {}, day + timedelta(days=1)
        return Page(found, _encode({"day": day.isoformat(), "keys": {}}) if day <= until.date() else None)


def _scoped_day(profiles: Sequence[str], day: date, since: datetime, until: datetime, limit: int,
                starts: dict[str, Any]) -> tuple[list[EventItem], dict[str, Any] | None]:
    """One day of `profiles`' events, oldest first, at most `limit`: one Query per profile, merged by time. With the
    positions each profile resumes from when the day is not done (None when it is)."""
    batch: list[tuple[str, str, EventItem]] = []
    more = False
    for profile in profiles:
        query = EventItem.audit_by_profile.query(
            f"{profile}#{day.isoformat()}", EventItem.audit_key.between(_ts(since), _ts(until)), limit=limit,
            last_evaluated_key=starts.get(profile))
        batch += [(item.audit_key, profile, item) for item in query]
        more = more or bool(query.last_evaluated_key)
    batch.sort(key=lambda entry: (entry[0], entry[1]))
    taken = batch[:limit]
    if len(taken) == len(batch) and not more:
        return [item for _, _, item in taken], None
    resume = dict(starts)
    for _, profile, item in taken:
        resume[profile] = {"pk": {"S": item.pk}, "sk": {"S": item.sk}, "audit_key": {"S": item.audit_key},
                           "audit_profile_day": {"S": item.audit_profile_day}}
    return [item for _, _, item in taken], resume


def _connection() -> Connection:
    return RequestItem._get_connection().connection


class _translated:
    """Turns what DynamoDB refuses into domain errors at the storage boundary. Both emulators and DynamoDB
    answer a failed condition in a transaction with TransactionCanceledException and one reason per
    operation, and an oversized item with ValidationException (tests/storage proves each on both)."""

    def __init__(self, request_id: str, claim: IdempotencyClaim | None = None, creating: bool = False,
                 exclusive: tuple[str, datetime] | None = None) -> None:
        self.request_id, self.claim, self.creating, self.exclusive = request_id, claim, creating, exclusive

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> Literal[False]:
        if not isinstance(exc, (TransactWriteError, PutError)):
            return False
        if exc.cause_response_code == "ValidationException" and _TOO_LARGE in (exc.cause_response_message or ""):
            raise Unprocessable(f"request {self.request_id} would not fit in storage (DynamoDB keeps at most "
                                f"400 KB per item); shorten its reason or comments")
        if not isinstance(exc, TransactWriteError):
            return False
        reasons = [(r.code if r else None) for r in (exc.cancellation_reasons or [])]
        if self.claim and reasons[2:3] == [_CONDITION_FAILED]:
            raise IdempotentReplay()
        if self.exclusive and reasons[-1:] == [_CONDITION_FAILED] and len(reasons) == 3 + bool(self.claim):
            raise Exclusive(self.exclusive[0])
        if _CONDITION_FAILED in reasons:
            if self.creating:  # ids carry 80 random bits: a clash is a bug upstream, not a race to retry
                raise Conflict(f"a request with id {self.request_id} already exists; nothing was stored")
            raise StaleWrite(self.request_id)
        return False


def _exclusive_pk(name: str) -> str:
    return f"LOCK#exclusive#{name}"


def _request_pk(request_id: str) -> str:
    return f"REQ#{request_id}"


def _claim_pk(claim: IdempotencyClaim) -> str:
    return f"IDEM#{claim.caller}#{claim.key}"


def _ts(when: datetime) -> str:
    """RFC 3339 UTC with a fixed width, so string order is time order."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str) -> datetime:
    """A time as _ts wrote it."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _optional_time(text: str | None) -> datetime | None:
    """A time as _ts wrote it, or None where none was written."""
    return _time(text) if text else None


_COLUMNS = ("profile", "requester", "requester_iam_user", "account", "role_arn", "reason", "duration_seconds",
            "approvals_required")


def _to_item(request: AccessRequest, version: int | None = None) -> RequestItem:
    """Queried fields become attributes; the rest travels in `body`, read and written whole."""
    body = {f.name: _encode_value(getattr(request, f.name)) for f in fields(request)
            if f.name not in _COLUMNS + ("id", "state", "created_at", "updated_at", "due_at", "version")}
    due = schedule.due_entry(request)
    item = RequestItem(
        _request_pk(request.id), "REQ", state=request.state.value, created_at=_ts(request.created_at),
        updated_at=_ts(request.updated_at or request.created_at), body=body,
        due_state=due[0] if due else None, due_at=_ts(due[1]) if due else None,
        **{name: getattr(request, name) for name in _COLUMNS})
    if version:  # unset: the VersionAttribute writes version 1 on condition the item is new
        item.version = version
    return item


def _from_item(item: RequestItem) -> AccessRequest:
    body = item.body or {}
    known = {f.name for f in fields(AccessRequest)}
    return AccessRequest(
        id=item.pk.removeprefix("REQ#"), state=State(item.state), created_at=_time(item.created_at),
        updated_at=_optional_time(item.updated_at), due_at=_optional_time(item.due_at), version=int(item.version or 0),
        **{name: getattr(item, name) for name in _COLUMNS if name not in ("duration_seconds", "approvals_required")},
        duration_seconds=int(item.duration_seconds), approvals_required=int(item.approvals_required),
        **{name: _decode_value(name, value) for name, value in body.items() if name in known})


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _ts(value)
    if is_dataclass(value):
        return {f.name: _encode_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_encode_value(v) for v in value]
    return value


def _decode_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "approvals":
        return tuple(Approval(a["by"], _time(a["at"]), a.get("comment", ""), a.get("schedule", ""),
                              a.get("pagerduty_user", "")) for a in value)
    if name == "extension":
        return Extension(int(value["seconds"]), value["requested_by"], _time(value["requested_at"]),
                         _decode_value("approvals", value.get("approvals") or []))
    if name == "grant":
        grant: dict[str, Any] = {k: _optional_time(v) if k.endswith("_at") else v for k, v in value.items()}
        return Grant(**grant)
    if name.endswith("_at"):
        return _optional_time(value)
    return value


def _event_item(event: Event, profile: str, unique: bool = False) -> EventItem:
    at = _ts(event.at)
    sk = f"EVT#{event.version:06d}#{event.kind}"
    if unique:  # notes may repeat at one version; transitions may not
        sk += f"#{at}#{secrets.token_hex(3)}"
    return EventItem(
        _request_pk(event.request_id), sk, request_id=event.request_id, version=event.version, kind=event.kind,
        at=at, actor=event.actor, channel=event.channel, details=event.details,
        audit_day=at[:10], audit_key=f"{at}#{event.request_id}#{sk}",
        audit_profile_day=f"{profile}#{at[:10]}" if profile else None)


def _event_from_item(item: EventItem) -> Event:
    return Event(request_id=item.request_id, version=int(item.version), kind=item.kind, at=_time(item.at),
                 actor=item.actor, channel=item.channel, details=item.details or {})


def _page(query: ResultIterator[RequestItem], limit: int) -> Page[AccessRequest]:
    items = [_from_item(i) for i in query]
    return Page(items, _encode(query.last_evaluated_key) if query.last_evaluated_key and len(items) >= limit else None)


def _encode(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode() if key else None


_BAD_CURSOR = "the `next` cursor is not one this API returned for this query; start again without it"


def _decode(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        assert isinstance(key, dict)
    except Exception:
        raise InvalidInput(_BAD_CURSOR) from None
    return key if "day" in key else _key(key)


def _key(key: Any) -> dict[str, Any] | None:
    """A DynamoDB start key as this code returns it: string attributes only, so a forged one is a 400, not a 500."""
    if key is None:
        return None
    if not (isinstance(key, dict) and key and all(
            isinstance(name, str) and isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)
            for name, value in key.items())):
        raise InvalidInput(_BAD_CURSOR)
    return key
