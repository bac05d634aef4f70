"""IAM is eventually consistent (issue 23): what the broker announces allows for it. A grant is usable its
propagation after the attach (`grant.usable_at`); a revoke's sessions end no sooner than its cut is in force
(`sessions.end_by`). The delay is the catalog's `iam_propagation` (locally, the world's model plus a margin)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.errors import CatalogError
from tests import fakes
from tests.fakes import as_, granted

PROPAGATION = timedelta(seconds=12)


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker().rewired(propagation=PROPAGATION)


def test_a_grant_is_announced_usable_its_propagation_after_the_attach(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant.usable_at == wired.clock() + PROPAGATION
    assert grant.grant.starts_at == wired.clock(), "it starts at the approval all the same"


def test_a_revoke_says_sessions_end_once_its_cut_is_in_force_not_before(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    revoked_at = wired.clock.advance(minutes=10)
    revoked = wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    assert revoked.ended_at == revoked_at
    assert revoked.sessions_end_by == revoked_at + PROPAGATION, "the deny works everywhere only after IAM applies it"


def test_a_revoke_whose_cut_is_pending_still_says_the_longest_session(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    revoked = wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    assert revoked.guard_pending and revoked.sessions_end_by == revoked.ended_at + timedelta(hours=1)


def test_an_expiry_ends_sessions_at_the_end_its_cut_was_written_long_before(wired: fakes.Fakes) -> None:
    grant = granted(wired, "1h")
    wired.clock.advance(hours=1)
    expired = wired.broker.sweep_due(wired.store.get(grant.id))
    assert expired == "expired"
    assert wired.store.get(grant.id).sessions_end_by == grant.grant.expires_at


@pytest.mark.parametrize("value, seconds", [(None, 15), ("5s", 5), ("1m", 60), ("4m59s", 299)])
def test_the_catalog_says_how_long_iam_takes(value: str | None, seconds: int) -> None:
    doc = {"source_account": "111111111111", "people": {"ann": {}}, "profiles": {}}
    assert parse_catalog({**doc, **({"iam_propagation": value} if value else {})}).iam_propagation == seconds


@pytest.mark.parametrize("value", ["5m", "1h", "soon"])
def test_a_propagation_the_session_guard_s_margin_cannot_cover_is_refused_at_load(value: str) -> None:
    doc = {"source_account": "111111111111", "people": {"ann": {}}, "profiles": {}, "iam_propagation": value}
    with pytest.raises(CatalogError, match="^iam_propagation: "):
        parse_catalog(doc)
