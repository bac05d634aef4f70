"""pynamodb models of the one table: requests, their events, and idempotency claims.

Item keys: a request is (REQ#<id>, REQ); its events are (REQ#<id>, EVT#<version>#<kind>...);
an idempotency claim is (IDEM#<caller>#<key>, IDEM); a notification to retry is (OUTBOX, <due>#...); a
lease is (LOCK#<name>, LOCK); a sealed job the worker ran is (SEALED#<envelope id>, SEALED); the directory's
membership is (DIRECTORY, MEMBERS).
Indexes are sparse: an item is in an index only while it holds that index's key attributes."""
from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

DEFAULT_TABLE = "access-broker-local"
_M = TypeVar("_M", bound=Model)


# pynamodb's Index.__init_subclass__ (which collects an index's key attributes) carries no annotations, and mypy
# strict refuses every class statement that runs it: this base is the one place that reaches it untyped.
class _Index(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]
    """An index of the table's items of model `_M`, projecting every attribute."""
    class Meta:
        projection = AllProjection()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # type: ignore[no-untyped-call]


class ByRequester(_Index["RequestItem"]):
    class Meta(_Index.Meta):
        index_name = "by-requester"
    requester = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ByState(_Index["RequestItem"]):
    class Meta(_Index.Meta):
        index_name = "by-state"
    state = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Due(_Index["RequestItem"]):
    """Only requests that still need the sweeper: `due_state` is removed once a request ends."""
    class Meta(_Index.Meta):
        index_name = "due"
    due_state = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class AuditLog(_Index["EventItem"]):
    class Meta(_Index.Meta):
        index_name = "audit"
    audit_day = UnicodeAttribute(hash_key=True)
    audit_key = UnicodeAttribute(range_key=True)


class AuditByProfile(_Index["EventItem"]):
    """One profile's events of one day: what an approver scoped to some profiles reads, and nothing else."""
    class Meta(_Index.Meta):
        index_name = "audit-by-profile"
    audit_profile_day = UnicodeAttribute(hash_key=True)
    audit_key = UnicodeAttribute(range_key=True)


class _Item(Model):
    class Meta:
        table_name = DEFAULT_TABLE
        region = None  # botocore's usual resolution (AWS_DEFAULT_REGION, profile)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class RequestItem(_Item):
    class Meta(_Item.Meta):
        pass

    profile = UnicodeAttribute()
    requester = UnicodeAttribute()
    requester_iam_user = UnicodeAttribute()
    account = UnicodeAttribute()
    role_arn = UnicodeAttribute()
    reason = UnicodeAttribute()
    duration_seconds = NumberAttribute()
    approvals_required = NumberAttribute()
    state = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    body = JSONAttribute()  # approvals, grant, decision: read and written whole, never queried
    due_state = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_requester = ByRequester()
    by_state = ByState()
    due = Due()


class EventItem(_Item):
    class Meta(_Item.Meta):
        pass

    request_id = UnicodeAttribute()
    version = NumberAttribute()
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    channel = UnicodeAttribute()
    details = JSONAttribute()
    audit_day = UnicodeAttribute()
    audit_key = UnicodeAttribute()
    audit_profile_day = UnicodeAttribute(null=True)  # <profile>#<day>: absent on events of no request

    audit = AuditLog()
    audit_by_profile = AuditByProfile()


class IdempotencyItem(_Item):
    class Meta(_Item.Meta):
        pass

    request_id = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    expires = NumberAttribute()  # TTL attribute: DynamoDB removes old claims


class OutboxItem(_Item):
    """A notification that failed, waiting for its retry: (OUTBOX, <due>#<request id>#<nonce>)."""
    class Meta(_Item.Meta):
        pass

    request_id = UnicodeAttribute()
    job = JSONAttribute()


class LockItem(_Item):
    """A lease on something AWS offers no condition for (a switch role's guard policy): (LOCK#<name>, LOCK)."""
    class Meta(_Item.Meta):
        pass

    owner = UnicodeAttribute()
    expires = NumberAttribute()  # epoch seconds the lease ends; also the TTL attribute, so old leases go away


class EnvelopeItem(_Item):
    """A sealed job the worker ran (chalicelib/store/envelopes.py): (SEALED#<envelope id>, SEALED)."""
    class Meta(_Item.Meta):
        pass

    expires = NumberAttribute()  # epoch seconds the seal stops being accepted; the TTL attribute


class DirectoryItem(_Item):
    """The directory's membership as the last refresh left it (chalicelib/store/memberships.py): (DIRECTORY, MEMBERS),
    one item a cold start reads."""
    class Meta(_Item.Meta):
        pass

    checked_at = NumberAttribute()  # epoch seconds of the refresh that wrote it: an older one never overwrites it
    body = JSONAttribute()


MODELS = (RequestItem, EventItem, IdempotencyItem, OutboxItem, LockItem, EnvelopeItem, DirectoryItem)


def bind(table_name: str) -> None:
    """Points every model at `table_name` and drops cached connections (the endpoint comes from the
    environment, e.g. AWS_ENDPOINT_URL, read when the next connection is made).

    The connections use the app's per-thread botocore sessions (aws/clients.py) instead of pynamodb's own:
    the same slimmed DynamoDB model, and on Lambda one session for every client, where each new botocore
    session loads the endpoint rules and models anew (~100-150 ms on a cold start; README, Performance)."""
    from chalicelib.aws import clients

    for model in MODELS:
        model.Meta.table_name = table_name
        model._connection = None
        model._get_connection().connection._local = clients.sessions()  # pynamodb's per-thread session slot
