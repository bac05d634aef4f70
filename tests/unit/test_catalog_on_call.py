"""On-call auto-approval in the catalog: `on_call.pagerduty_token_parameter` and a profile's `auto_approve`, validated
at load with errors naming the key; the defaults a short entry gets."""
import copy
from pathlib import Path

import pytest
import yaml

from chalicelib.catalog import load_catalog, parse_catalog
from chalicelib.domain.catalog import AutoApprove, OnCallSettings
from chalicelib.domain.errors import CatalogError

DEMO = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo.yaml"


@pytest.fixture
def doc() -> dict:
    return yaml.safe_load(DEMO.read_text())


def _profile(doc: dict, **auto_approve) -> dict:
    changed = copy.deepcopy(doc)
    changed["profiles"]["s3-prod"]["auto_approve"] = auto_approve
    return changed


def test_the_demo_catalog_auto_approves_s3_prod_for_the_on_call_of_one_schedule():
    catalog = load_catalog(DEMO)
    assert catalog.on_call == OnCallSettings("/access-broker/{stage}/pagerduty-token")
    assert catalog.on_call.token_parameter("prod") == "/access-broker/prod/pagerduty-token"
    assert catalog.profiles["s3-prod"].auto_approve == AutoApprove(("P0SCHED1",), 3600)
    assert catalog.profiles["s3-prod-short"].auto_approve is None


def test_max_duration_defaults_to_the_profiles_default_duration_and_may_be_set(doc):
    assert parse_catalog(_profile(doc, on_call=["PABC123"])).profiles["s3-prod"].auto_approve.max_duration == 3600
    assert parse_catalog(_profile(doc, on_call=["PABC123"], max_duration="2h")).profiles["s3-prod"] \
        .auto_approve.max_duration == 2 * 3600


def test_a_catalog_without_on_call_settings_and_without_auto_approve_loads(doc):
    del doc["on_call"]
    del doc["profiles"]["s3-prod"]["auto_approve"]
    catalog = parse_catalog(doc)
    assert catalog.on_call is None and all(p.auto_approve is None for p in catalog.profiles.values())


def test_a_literal_parameter_name_is_kept_as_written(doc):
    doc["on_call"] = {"pagerduty_token_parameter": "/access-broker/prod/pagerduty-token"}
    assert parse_catalog(doc).on_call.token_parameter("dev") == "/access-broker/prod/pagerduty-token"


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("on_call"),
     "profiles.s3-prod.auto_approve: needs the top-level on_call settings"),
    (lambda d: d.update(on_call={}), "on_call.pagerduty_token_parameter: None is not an SSM parameter name"),
    (lambda d: d.update(on_call={"pagerduty_token_parameter": "/aws/reference/secretsmanager/pd"}),
     "on_call.pagerduty_token_parameter: '/aws/reference/secretsmanager/pd' is not an SSM parameter name"),
    (lambda d: d.update(on_call={"pagerduty_token_parameter": "/a//b"}), "on_call.pagerduty_token_parameter"),
    (lambda d: d.update(on_call={"pagerduty_token_parameter": "/x", "token": "t"}), "on_call: unknown key 'token'"),
    (lambda d: d.update(on_call="/access-broker/prod/pagerduty-token"), "on_call: must be a mapping"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={}),
     "profiles.s3-prod.auto_approve.on_call: must be a non-empty list of PagerDuty schedule ids"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": "P0SCHED1"}),
     "profiles.s3-prod.auto_approve.on_call: must be a non-empty list"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["p0 sched"]}),
     "profiles.s3-prod.auto_approve.on_call: 'p0 sched' is not a PagerDuty schedule id"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["PA1", "PA1"]}),
     "profiles.s3-prod.auto_approve.on_call: lists a schedule twice"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["PA1"], "max_duration": "5h"}),
     "profiles.s3-prod.auto_approve.max_duration: 5h is outside the profile's 15m to 4h"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["PA1"], "max_duration": "5m"}),
     "profiles.s3-prod.auto_approve.max_duration: 5m is outside the profile's 15m to 4h"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["PA1"], "max_duration": "soon"}),
     "profiles.s3-prod.auto_approve.max_duration"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve={"on_call": ["PA1"], "schedules": ["PA2"]}),
     "profiles.s3-prod.auto_approve: unknown key 'schedules'"),
    (lambda d: d["profiles"]["s3-prod"].update(auto_approve=["PA1"]), "profiles.s3-prod.auto_approve: must be a map"),
])
def test_malformed_on_call_settings_name_the_key_and_the_problem(doc, change, message):
    broken = copy.deepcopy(doc)
    change(broken)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(broken)
    assert message in str(caught.value)
