"""The composition root (chalicelib/bootstrap.py) as the app and the tools use it, offline: one Broker per process
until an override (a test's clock, notifier or catalog) replaces it; what the environment and the catalog switch on
(Slack notifications, on-call auto-approval, the directory, session guards, the local world's IAM delay); the grant
policies' names and tags in the source account; and a rewiring that drops the old runner's pending jobs."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.aws import clients
from chalicelib.catalog import parse_catalog
from chalicelib.on_call import OnCallApproval
from chalicelib.service.deps import SilentNotifier
from chalicelib.sessions import SessionGuards
from chalicelib.slack.deferred import DeferredNotifier
from chalicelib.slack.directory import SlackDirectory
from tests import fakes
from tests.unit.test_iam_grants_refusals import ScriptedIam

AT = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
VARIABLES = ("ACCESS_BROKER_STAGE", "ACCESS_BROKER_TABLE", "ACCESS_BROKER_CATALOG", "ACCESS_BROKER_PUBLIC_URL",
             "AWS_LAMBDA_FUNCTION_NAME", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_PARAMETER", "PAGERDUTY_TOKEN",
             "PAGERDUTY_API_URL", "LOCAL_IAM_PROPAGATION", "ACCESS_BROKER_CONSOLE_KEY",
             "ACCESS_BROKER_CONSOLE_KEY_PARAMETER", "SLACK_LOCAL_RESPONSE_URL_PREFIX", "ACCESS_BROKER_JOB_KEY")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    bootstrap.reset()
    yield monkeypatch
    bootstrap.reset()


def clock() -> datetime:
    return AT


def directory_catalog() -> Any:
    return parse_catalog({
        "source_account": "111111111111", "directory": {"iam_groups": ["engineers"]},
        "people": {"bob": {"iam_user": "bob", "slack_user_id": "U01BOB"}},
        "profiles": {"s3-prod": {"account": "222222222222", "role": "switch-role-for-S3", "approvers": ["bob"]}}})


# -- one Broker, until an override

def test_the_apps_broker_and_settings_are_built_once():
    assert bootstrap.broker() is bootstrap.broker()
    assert bootstrap.settings() is bootstrap.settings()


@pytest.mark.parametrize("override", [
    {"clock": clock}, {"notifier": SilentNotifier()}, {"catalog": fakes.catalog()},
], ids=["clock", "notifier", "catalog"])
def test_an_override_builds_a_broker_with_it_that_becomes_the_apps(override):
    before = bootstrap.broker()
    replaced = bootstrap.broker(**override)
    assert replaced is not before and bootstrap.broker() is replaced
    (name, value), = override.items()
    assert getattr(replaced.written, name) is value
    if name == "clock":
        assert replaced.written.sessions is not None and replaced.written.sessions.clock is clock, \
            "the session guards read the same clock"


# -- what the environment and the catalog switch on

def test_without_a_slack_token_notifications_are_silent_and_with_one_they_go_to_slack(environment):
    assert isinstance(bootstrap.broker().written.notifier, SilentNotifier)
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    bootstrap.reset()
    assert isinstance(bootstrap.broker().written.notifier, DeferredNotifier)


def test_the_switch_roles_are_guarded_against_open_sessions():
    assert isinstance(bootstrap.broker().written.sessions, SessionGuards)


def test_a_catalog_with_on_call_settings_auto_approves_through_pagerduty(environment):
    environment.setenv("PAGERDUTY_API_URL", "http://127.0.0.1:9/")
    on_call = bootstrap.broker().written.on_call  # the demo catalog names on_call
    assert isinstance(on_call, OnCallApproval) and on_call.lookups.api_url == "http://127.0.0.1:9/"
    assert bootstrap.broker(catalog=fakes.catalog()).written.on_call is None


def test_a_catalog_taking_people_from_the_directory_gets_its_ports(environment):
    assert bootstrap.broker().written.memberships is None, "the demo catalog lists its people"
    wired = bootstrap.broker(catalog=directory_catalog()).written
    assert wired.memberships is not None and wired.iam_directory is not None and wired.slack_directory is None
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    bootstrap.reset()
    assert isinstance(bootstrap.broker(catalog=directory_catalog()).written.slack_directory, SlackDirectory)


@pytest.mark.parametrize("local,propagation", [
    (None, timedelta(seconds=15)),  # the demo catalog's iam_propagation
    ("2.5", timedelta(seconds=3.5)),  # the local world's modelled delay and a second
    ("0", timedelta(0)),  # the model is off: IAM is instant there
])
def test_the_iam_delay_counted_on_is_the_catalogs_or_the_local_worlds(environment, local, propagation):
    if local is not None:
        environment.setenv("LOCAL_IAM_PROPAGATION", local)
    assert bootstrap.broker().written.propagation == propagation


# -- what the wiring does in AWS and with secrets

def test_grant_policies_are_made_under_the_stages_path_tagged_with_the_table(environment):
    environment.setenv("ACCESS_BROKER_STAGE", "prod")
    environment.setenv("ACCESS_BROKER_TABLE", "access-broker-prod")
    iam = ScriptedIam(get_user={"User": {"UserName": "ann"}})
    environment.setattr(clients, "client", lambda service, *a, **kw: iam)
    catalog = parse_catalog({**_doc(), "partition": "aws-us-gov"})
    arn = bootstrap.broker(catalog=catalog).written.grants.apply("req1", "ann", "arn:aws-us-gov:iam::222222222222:"
                                                                 "role/switch-role-for-S3", AT)
    assert arn == "arn:aws-us-gov:iam::111111111111:policy/access-broker/prod/access-broker-req1"
    created = next(kw for op, kw in iam.calls if op == "create_policy")
    assert created["Path"] == "/access-broker/prod/"
    assert {"Key": "access-broker:owner", "Value": "access-broker-prod"} in created["Tags"]


def _doc() -> dict[str, Any]:
    return {"source_account": "111111111111", "people": {"ann": {"iam_user": "ann"}, "bob": {"iam_user": "bob"}},
            "profiles": {"s3-prod": {"account": "222222222222", "role": "switch-role-for-S3", "approvers": ["bob"]}}}


def test_console_links_are_signed_with_the_console_key_from_the_environment(environment):
    environment.setenv("ACCESS_BROKER_CONSOLE_KEY", "k" * 32)
    assert bootstrap.broker().written.tokens.sign("req1", AT + timedelta(hours=1))


def test_a_rewiring_drops_the_jobs_the_old_runner_had_not_started(caplog):
    old = bootstrap.deferred()
    bootstrap.reset()
    with caplog.at_level(logging.INFO, logger="chalicelib.slack.deferred"):
        old.submit({"kind": "notify"})
        old.drain(5)
    assert "deferred notify dropped: the app was rewired (bootstrap.reset)" in caplog.messages
