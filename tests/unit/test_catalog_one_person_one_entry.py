"""One person, one catalog entry: a Slack user or an IAM user on two entries is a load error (issue 13, point 3).

Otherwise bob, listed twice, approves his own request from Slack, or alone gives both approvals of a 2-of-3
profile. IAM compares user names without case, so the catalog does too."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chalicelib.catalog import parse_catalog
from chalicelib.domain.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "chalicelib" / "catalog" / "demo.yaml"


@pytest.fixture
def doc() -> dict:
    return yaml.safe_load(DEMO.read_text())


@pytest.mark.parametrize("second, shared", [
    ({"iam_user": "bob2", "slack_user_id": "U01BOB"}, "slack_user_id ('U01BOB' and 'U01BOB')"),
    ({"iam_user": "bob", "slack_user_id": "U01BOBBY"}, "iam_user ('bob' and 'bob')"),
    ({"iam_user": "BOB", "slack_user_id": "U01BOBBY"}, "iam_user ('bob' and 'BOB')"),
])
def test_two_entries_for_one_person_name_both_entries_and_the_value(doc, second, shared) -> None:
    doc["people"]["bobby"] = second

    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)

    message = str(caught.value)
    assert "people.bob and people.bobby" in message and shared in message, message
    assert "\n" not in message


def test_distinct_people_and_people_without_slack_or_iam_load(doc) -> None:
    doc["people"].update(erin={"email": "erin@example.com"}, frank={"email": "frank@example.com"},
                         bobby={"iam_user": "bobby", "slack_user_id": "U01BOBBY"})
    assert {"erin", "frank", "bobby"} <= set(parse_catalog(doc).people)


def test_a_caller_maps_to_their_person_whatever_the_case_of_their_iam_user_name(doc) -> None:
    doc["people"]["bob"]["iam_user"] = "Bob"
    catalog = parse_catalog(doc)
    assert catalog.person_by_iam_user("bob").id == "bob" and catalog.person_by_iam_user("BOB").id == "bob"


def test_make_run_stops_before_serving_with_the_one_line_message(doc, tmp_path) -> None:
    doc["people"]["bobby"] = {"iam_user": "bobby", "slack_user_id": "U01BOB"}
    bad = tmp_path / "catalog.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with socket.socket() as probe:  # a port nothing listens on, so that only the catalog can stop it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ACCESS_BROKER_CATALOG": str(bad), "ACCESS_BROKER_PORT": str(port),
           "SLACK_BOT_TOKEN": "xoxb-not-used", "SLACK_API_URL": "http://127.0.0.1:9/api/"}

    done = subprocess.run([sys.executable, "-m", "tools.run_local"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)

    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == ["make run: people.bob and people.bobby have the same slack_user_id ('U01BOB' and 'U01BOB'): "
                     "each person needs their own; merge the two entries or correct one of them"], done.stderr
    assert "access-broker is running" not in done.stdout
