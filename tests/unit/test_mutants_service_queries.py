"""What the read side shows (chalicelib/service/queries.py through the Broker, on tests/fakes.py): the grant behind
a console link, the page that explains a link that no longer works, who a caller is and why not, and the list a
caller gets when they ask for nothing in particular."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chalicelib.domain.requests import State
from chalicelib.service import queries
from tests import fakes
from tests.fakes import as_, ask, granted, in_slack

DIRECTORY_DOWN = "the directory could not be read: IAM GetGroup throttled"


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


def token_of(console_url: str) -> str:
    return console_url.rsplit("/", 1)[-1]


def test_a_console_link_gives_the_live_grant_behind_it(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    assert wired.broker.console_link(token_of(grant.grant.console_url)) == grant.grant


def test_a_link_that_no_longer_works_is_explained_with_its_request_and_profile_display_name() -> None:
    wired = fakes.broker(fakes.catalog(display_name="S3 production"))
    grant = granted(wired)
    assert grant.grant is not None
    revoked = wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    assert wired.broker.console_link_ended(token_of(grant.grant.console_url)) == (revoked, "S3 production")


def test_a_link_whose_profile_left_the_catalog_is_explained_with_the_profile_s_name(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    wired = wired.rewired(catalog=dataclasses.replace(wired.broker.catalog, profiles={}))
    ended = wired.broker.console_link_ended(token_of(grant.grant.console_url))
    assert ended == (wired.store.get(grant.id), "s3-prod")


def test_a_link_to_a_request_that_is_gone_explains_nothing(wired: fakes.Fakes) -> None:
    token = wired.broker.deps.tokens.sign("01" + "9" * 24, wired.clock() + timedelta(hours=1))
    assert wired.broker.console_link_ended(token) is None


def test_a_caller_over_the_api_is_on_the_api_channel(wired: fakes.Fakes) -> None:
    caller = queries.caller_from_arn(wired.broker.deps, "arn:aws:iam::111111111111:user/bob")
    assert caller.channel == "api" and caller.person is not None and caller.person.id == "bob"


@pytest.mark.parametrize("how", ["api", "slack"])
def test_a_known_person_carries_no_unmapped_reason_even_while_the_directory_is_down(wired: fakes.Fakes,
                                                                                    how: str) -> None:
    wired = wired.rewired(catalog=dataclasses.replace(wired.broker.catalog, directory_unavailable=DIRECTORY_DOWN))
    caller = as_(wired, "bob") if how == "api" else in_slack(wired, "bob")
    assert caller.person is not None and caller.unmapped_why == ""


def test_an_unknown_caller_is_told_the_directory_is_down(wired: fakes.Fakes) -> None:
    wired = wired.rewired(catalog=dataclasses.replace(wired.broker.catalog, directory_unavailable=DIRECTORY_DOWN))
    caller = queries.caller_from_arn(wired.broker.deps, "arn:aws:iam::111111111111:user/stranger")
    assert caller.person is None and caller.unmapped_why == DIRECTORY_DOWN


def test_a_list_asked_for_nothing_in_particular_is_the_caller_s_own_requests(wired: fakes.Fakes) -> None:
    mine = ask(wired, who="bob")
    ask(wired)  # s3-access's, awaiting bob
    page = queries.listed(wired.broker.deps, as_(wired, "bob"))
    assert [r.id for r in page.items] == [mine.id] and page.next is None


def test_a_list_of_a_state_by_default_is_what_the_caller_may_see_in_it(wired: fakes.Fakes) -> None:
    theirs = ask(wired)
    page = queries.listed(wired.broker.deps, as_(wired, "bob"), State.PENDING)
    assert [r.id for r in page.items] == [theirs.id]


def test_a_list_by_default_holds_fifty(wired: fakes.Fakes) -> None:
    for n in range(51):
        ask(wired, reason=f"job {n}")
    page = queries.listed(wired.broker.deps, as_(wired, "s3-access"))
    assert len(page.items) == 50 and page.next == "50"
