"""The directory's IAM side (issue 21): the broker, with its own keys and policy in the enforced world, reads the
members of IAM groups and their tags (chalicelib/aws/directory.py), every page of each; an unknown group is reported
and the others still read; throttling and refusals are DirectoryUnavailable, never fewer people."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from chalicelib.aws.directory import IamDirectory
from chalicelib.domain.directory_reads import DirectoryUnavailable
from tools.fault_proxy import FaultProxy
from tools.world import Keys, aws_client
from tools.world_directory import DIRECTORY_GROUPS, DIRECTORY_USERS, UNKNOWN_GROUP, seed_directory

ENGINEERS = ("dave", "erin", "frank", "grace", "heidi", "ivan")
SRE = ("carol", "erin", "frank")


@pytest.fixture
def seeded_keys(directory_keys: dict[str, Keys]) -> dict[str, Keys]:
    return directory_keys


@pytest.fixture
def directory_world(world: Any, seeded_keys: dict[str, Keys]) -> Any:
    return world


@pytest.fixture
def proxy(directory_world: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """IAM reached through the fault proxy (botocore's per-service endpoint variable), nothing failing yet."""
    started = FaultProxy(directory_world.emulator.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", started.endpoint)
    yield started
    started.stop()


def reader(waits: list[float] | None = None, page_size: int = 100) -> IamDirectory:
    """The adapter as the app builds it (its own client from the environment: the broker's keys)."""
    return IamDirectory(sleep=(waits if waits is not None else []).append, page_size=page_size)


def test_members_and_their_tags_are_read_with_the_brokers_keys(directory_world: Any) -> None:
    read = reader().read(["engineers", "sre"])
    assert dict(read.members) == {"engineers": ENGINEERS, "sre": SRE} and read.unknown == ()
    assert set(read.tags) == set(ENGINEERS) | set(SRE), "each member's tags, read once for erin and frank"
    assert read.tags["dave"] == {"email": "dave@example.com", "slack-user-id": "U02DAVE"}
    assert read.tags["frank"] == {"email": "frank@example.com"}
    assert read.tags["heidi"] == {}
    assert read.tags["ivan"] == {"email": "ivan at example.com", "slack-user-id": "ivan"}, "as IAM holds them"


def test_the_fixture_gives_each_new_user_keys_and_seeds_again_without_change(directory_world: Any,
                                                                           seeded_keys: dict[str, Keys]) -> None:
    assert set(seeded_keys) == {u.name for u in DIRECTORY_USERS} - {"carol"}, "carol was a demo user already"
    sts = aws_client(directory_world.emulator.endpoint, "sts", seeded_keys["dave"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::111111111111:user/dave"
    before = reader().read(DIRECTORY_GROUPS)
    assert seed_directory(directory_world.emulator) == {}, "nobody new, so no new keys"
    assert reader().read(DIRECTORY_GROUPS) == before
    assert dict(before.members)["contractors"] == ("judy", "judy-admin")


def test_every_page_of_members_and_tags_is_read(proxy: FaultProxy) -> None:
    read = reader(page_size=1).read(["engineers", "sre"])
    assert dict(read.members) == {"engineers": ENGINEERS, "sre": SRE}
    assert read.tags["erin"] == {"email": "erin@example.com", "slack-user-id": "U02ERIN"}
    assert proxy.seen["GetGroup"] == len(ENGINEERS) + len(SRE), "one page per member at MaxItems=1"
    tagged = {u.name: u for u in DIRECTORY_USERS}
    assert proxy.seen["ListUserTags"] == sum(max(1, (u.email_tag is not None) + (u.slack_id_tag is not None))
                                             for name, u in tagged.items() if name in set(ENGINEERS) | set(SRE))


def test_an_unknown_group_is_reported_and_the_others_still_read(directory_world: Any) -> None:
    read = reader().read(["engineers", UNKNOWN_GROUP, "sre"])
    assert read.unknown == (UNKNOWN_GROUP,)
    assert dict(read.members) == {"engineers": ENGINEERS, "sre": SRE}


def test_a_group_named_twice_is_read_once(proxy: FaultProxy) -> None:
    assert dict(reader().read(["sre", "sre"]).members) == {"sre": SRE}
    assert proxy.seen["GetGroup"] == 1


def test_a_passing_throttle_is_retried_with_backoff(proxy: FaultProxy) -> None:
    waits: list[float] = []
    proxy.fail("GetGroup", times=2, code="Throttling", service="iam")
    assert dict(reader(waits).read(["sre"]).members) == {"sre": SRE}
    assert len(waits) == 2 and proxy.seen["GetGroup"] == 3


@pytest.mark.parametrize("operation", ["GetGroup", "ListUserTags"])
def test_throttling_that_lasts_is_directory_unavailable(proxy: FaultProxy, operation: str) -> None:
    proxy.fail(operation, times=100, code="Throttling", service="iam")
    with pytest.raises(DirectoryUnavailable) as unavailable:
        reader().read(["engineers", "sre"])
    failure = unavailable.value
    assert (failure.source, failure.operation, failure.error) == ("IAM", operation, "Throttling")
    assert str(failure) == f"IAM {operation} failed: Throttling: Rate exceeded"


def test_a_refusal_is_directory_unavailable_at_once(proxy: FaultProxy) -> None:
    proxy.fail("ListUserTags", code="AccessDenied", status=403, service="iam",
               message="User: arn:aws:iam::111111111111:user/access-broker is not authorized to perform: "
                       "iam:ListUserTags")
    with pytest.raises(DirectoryUnavailable, match="IAM ListUserTags failed: AccessDenied: User: .* not authorized"):
        reader().read(["sre"])
    assert proxy.seen["ListUserTags"] == 1, "a refusal is not retried"


def test_iam_gone_is_directory_unavailable(proxy: FaultProxy) -> None:
    proxy.stop()  # the proxy's port closes: connections are refused
    with pytest.raises(DirectoryUnavailable, match="IAM GetGroup failed: unreachable"):
        reader().read(["sre"])
