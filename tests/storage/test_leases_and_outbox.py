"""Who may give a lease or a lock back, and who sends a failed notification again, on each backend: only the holder,
and only one sweeper."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.store.locks import LEASE, WAIT, Busy, Leases
from chalicelib.store.outbox import Outbox
from tests.storage.helpers import as_person


def leases(clock: Any, slept: list[float]) -> Leases:
    return Leases(clock=clock, sleep=slept.append)  # waits are counted, not slept


def test_the_first_holder_ending_late_leaves_the_second_holder_its_lease(broker: Any, clock: Any) -> None:
    slept: list[float] = []
    first, second, third = leases(clock, []), leases(clock, []), leases(clock, slept)
    first_block = first.held("guard#role")
    first_block.__enter__()
    clock.advance(seconds=LEASE.total_seconds() + 1)  # the first run stalls past its lease: the second may take it
    with second.held("guard#role"):
        first_block.__exit__(None, None, None)  # the first run ends now and gives back what it no longer holds

        with pytest.raises(Busy, match="guard#role is being changed by another run"):
            with third.held("guard#role"):
                pass
    assert sum(slept) >= WAIT.total_seconds(), "the third waited its full WAIT (counted, not slept)"
    with third.held("guard#role"):  # given back by its holder: free again at once
        pass


def test_an_exclusive_name_is_released_only_by_the_request_holding_it(broker: Any, clock: Any) -> None:
    name = "break-glass#s3-access#s3-prod"
    asked = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "holding a name")
    [created] = broker.repo.events(asked.id)
    holder = replace(asked, id=f"{asked.id}-holder")
    broker.repo.create(holder, replace(created, request_id=holder.id), exclusive=(name, clock() + timedelta(hours=1)))
    assert broker.repo.holder(name) == holder.id

    broker.repo.release(name, asked.id)
    assert broker.repo.holder(name) == holder.id, "a request that does not hold the name cannot release it"
    broker.repo.release(name, holder.id)
    assert broker.repo.holder(name) is None


def test_two_sweepers_send_each_failed_notification_once(broker: Any, clock: Any) -> None:
    outbox = Outbox()
    for n in (1, 2):
        outbox.add(f"req-{n}", {"kind": "notify", "request_id": f"req-{n}", "n": n}, clock() - timedelta(seconds=1))
    first, second = outbox.take_due(clock()), outbox.take_due(clock())

    sent = [next(first)]  # the first sweeper read both due entries and took the first
    sent += list(second)  # the second read what was left: the other one
    sent += list(first)  # the first goes on to the entry it read before the second took it

    assert sorted(job["n"] for job in sent) == [1, 2], f"each notification once, by one sweeper: {sent}"
    assert list(outbox.take_due(clock() + timedelta(days=1))) == []
