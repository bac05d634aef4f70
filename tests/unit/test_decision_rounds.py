"""A decision names the approval round it answers (issue 24, point 3): a Slack click or job made while the request
was pending never approves a later extension of its grant, nor one made for an extension a later one. Over the HTTP
API a decision names no round and answers whatever is open, as before."""
from __future__ import annotations

import pytest

from chalicelib.domain import rounds
from chalicelib.domain.commands import Decision
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.service import deciding
from tests import fakes
from tests.fakes import as_, granted, in_slack


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


def extension_asked(wired: fakes.Fakes) -> tuple[AccessRequest, AccessRequest]:
    """A grant approved by bob in its own round, then asking for 30 minutes more: (as approved, as it is now)."""
    approved = granted(wired)
    wired.clock.advance(minutes=5)
    return approved, wired.broker.extend(as_(wired, "s3-access"), approved.id, "30m")


def end(request: AccessRequest) -> object:
    assert request.grant is not None
    return request.grant.expires_at


@pytest.mark.parametrize("approve", [True, False])
def test_a_decision_for_the_requests_own_round_does_not_decide_its_extension(wired: fakes.Fakes,
                                                                              approve: bool) -> None:
    approved, asked = extension_asked(wired)
    with pytest.raises(Conflict, match=r"has moved on to another approval round since that message \(its extension "
                                       r"by 30m is being decided now\); nothing changed: look at the latest message"):
        deciding.decide(wired.broker.deps, in_slack(wired, "carol"), Decision(asked.id, approve, round=rounds.REQUEST))
    after = wired.store.get(asked.id)
    assert after.extension == asked.extension and end(after) == end(approved), "the extension still waits"


def test_a_decision_for_the_open_extension_round_decides_it(wired: fakes.Fakes) -> None:
    _, asked = extension_asked(wired)
    assert asked.extension is not None
    decided = deciding.decide(wired.broker.deps, in_slack(wired, "carol"),
                              Decision(asked.id, True, round=rounds.extension_round(asked.extension)))
    assert decided.extension is None and end(decided) > end(asked)


def test_a_decision_naming_no_round_decides_whatever_is_open_as_the_api_does(wired: fakes.Fakes) -> None:
    _, asked = extension_asked(wired)
    decided = wired.broker.approve(as_(wired, "carol"), asked.id)
    assert decided.extension is None and end(decided) > end(asked)


def test_a_decision_for_an_earlier_extension_does_not_decide_the_next(wired: fakes.Fakes) -> None:
    _, first = extension_asked(wired)
    assert first.extension is not None
    wired.broker.deny(as_(wired, "bob"), first.id)
    wired.clock.advance(seconds=1)
    second = wired.broker.extend(as_(wired, "s3-access"), first.id, "1h")
    assert second.extension is not None

    with pytest.raises(Conflict, match="its extension by 1h is being decided now"):
        wired.broker.approve(in_slack(wired, "carol"), first.id, round=rounds.extension_round(first.extension))
    assert wired.store.get(first.id).extension == second.extension and end(wired.store.get(first.id)) == end(second)
    decided = wired.broker.approve(in_slack(wired, "carol"), first.id,
                                   round=rounds.extension_round(second.extension))
    assert decided.extension is None and end(decided) > end(second)


def test_a_decision_for_an_extension_round_does_not_decide_a_pending_request(wired: fakes.Fakes) -> None:
    request = fakes.ask(wired)
    with pytest.raises(Conflict, match="it is waiting for its own approval"):
        wired.broker.approve(in_slack(wired, "bob"), request.id, round="ext1764331200000000")
    assert wired.store.get(request.id).state == State.PENDING
    assert wired.broker.approve(in_slack(wired, "bob"), request.id, round=rounds.REQUEST).state == State.ACTIVE


def test_the_round_of_each_state() -> None:
    wired = fakes.broker()
    request = fakes.ask(wired)
    assert rounds.open_round(request) == rounds.REQUEST
    approved, asked = extension_asked(wired)
    assert rounds.open_round(approved) is None, "an active grant with no extension asked waits for nobody"
    assert asked.extension is not None and rounds.open_round(asked) == rounds.extension_round(asked.extension)
    assert rounds.is_round(rounds.open_round(asked) or "") and not rounds.is_round("ext") \
        and not rounds.is_round("request:1")
