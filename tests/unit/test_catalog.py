"""A malformed catalog fails at load with a message naming the key and the problem."""
import copy
import datetime
import json
from pathlib import Path

import pytest
import yaml

from chalicelib.catalog import decode_yaml, load_catalog, parse_catalog, precompile, precompiled_path
from chalicelib.domain.errors import CatalogError

DEMO = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo.yaml"


@pytest.fixture
def doc() -> dict:
    return yaml.safe_load(DEMO.read_text())


def test_the_demo_catalog_mirrors_the_local_world():
    catalog = load_catalog(DEMO)
    prod, short = catalog.profiles["s3-prod"], catalog.profiles["s3-prod-short"]
    assert prod.role_arn == "arn:aws:iam::222222222222:role/switch-role-for-S3"
    assert prod.approvers == {"bob", "carol"} and prod.approvals_required == 1
    assert (prod.default_duration, prod.max_duration, prod.approval_channel) == (3600, 4 * 3600, "C01APPROVALS")
    assert (short.min_duration, short.max_duration) == (60, 300) and short.approvers == prod.approvers
    assert {p.slack_user_id for p in catalog.people.values()} == {"U01S3ACCESS", "U01ALICE", "U01BOB", "U01CAROL"}
    for person in catalog.people.values():
        assert person.id == person.iam_user
        assert {p.name for p in catalog.requestable_by(person.id)} == {"s3-prod", "s3-prod-short"}


def test_a_profile_can_be_four_lines():
    catalog = parse_catalog({"source_account": "111111111111", "people": {"ann": {"iam_user": "ann"}, "ben": {}},
                             "profiles": {"logs": {"account": "333333333333", "role": "ReadLogs",
                                                   "approvers": ["ben"]}}})
    logs = catalog.profiles["logs"]
    assert (logs.default_duration, logs.max_duration, logs.approvals_required) == (3600, 4 * 3600, 1)
    assert logs.requesters == {"ann", "ben"} and logs.display_name == "logs"


@pytest.mark.parametrize("change,message", [
    (lambda d: d["profiles"]["s3-prod"].update(approvers=["mallory"]),
     "profiles.s3-prod.approvers: unknown person or group 'mallory'"),
    (lambda d: d["profiles"]["s3-prod"].update(max_duration="30m"),
     "profiles.s3-prod.max_duration: 30m is below default_duration 1h"),
    (lambda d: d["profiles"]["s3-prod"].update(account="2222"), "profiles.s3-prod.account: '2222' is not a 12-digit"),
    (lambda d: d.update(source_account="abc"), "source_account: 'abc' is not a 12-digit"),
    (lambda d: d["profiles"]["s3-prod"].update(role="bad role!"), "profiles.s3-prod.role: 'bad role!' is not a valid"),
    (lambda d: d["profiles"]["s3-prod"].update(approvals_required=3), "profiles.s3-prod.approvals_required"),
    (lambda d: d["profiles"]["s3-prod"].update(default_duration="forever"), "profiles.s3-prod.default_duration"),
    (lambda d: d["profiles"]["s3-prod"].update(approvers_list=["bob"]),
     "profiles.s3-prod: unknown key 'approvers_list'"),
    (lambda d: d["groups"].update(team=["nobody"]), "groups.team: unknown person 'nobody'"),
    (lambda d: d["people"]["bob"].update(slack_user_id="bob"), "people.bob.slack_user_id"),
    (lambda d: d["profiles"]["s3-prod"].update(approval_channel="#approvals"), "profiles.s3-prod.approval_channel"),
])
def test_a_malformed_catalog_names_the_key_and_the_problem(doc, change, message):
    broken = copy.deepcopy(doc)
    change(broken)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(broken)
    assert message in str(caught.value)


def test_a_missing_or_unparsable_file_says_what_to_do(tmp_path):
    with pytest.raises(CatalogError, match="ACCESS_BROKER_CATALOG"):
        load_catalog(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles: [unclosed")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(bad)


def test_a_precompiled_catalog_is_read_only_while_it_matches_the_yaml(tmp_path):
    """`make package` puts the decoded catalog beside the YAML (no PyYAML on a cold start); the YAML decides."""
    source = tmp_path / "team.yaml"
    source.write_bytes(DEMO.read_bytes())
    compiled = json.loads(precompile(source.read_bytes(), source))
    compiled["catalog"]["profiles"]["s3-prod"]["display_name"] = "From the JSON"
    precompiled_path(source).write_text(json.dumps(compiled))
    assert load_catalog(source).profiles["s3-prod"].display_name == "From the JSON"

    source.write_text(DEMO.read_text().replace("source_account: ", "# edited after the build\nsource_account: "))
    assert load_catalog(source).profiles["s3-prod"].display_name == "S3 prod", "a stale JSON must be ignored"

    precompiled_path(source).write_text("{not json")
    assert load_catalog(source).profiles["s3-prod"].display_name == "S3 prod"


def test_precompiling_fails_the_build_on_what_json_would_change_or_an_invalid_catalog(doc):
    doc["profiles"]["s3-prod"]["approval_timeout"] = datetime.date(2026, 1, 1)  # YAML's date: no JSON twin
    with pytest.raises(CatalogError, match="team.yaml holds a value JSON cannot carry"):
        precompile(yaml.safe_dump(doc).encode(), "team.yaml")
    with pytest.raises(CatalogError, match="profiles.s3-prod.max_duration"):
        precompile(DEMO.read_text().replace("max_duration: 4h", "max_duration: 30m").encode(), "team.yaml")


def test_a_pyyaml_built_without_libyaml_still_decodes_the_catalog(monkeypatch):
    """libyaml is only faster (the Lambda wheels have it; a developer's PyYAML may not): the same document loads."""
    with_libyaml = decode_yaml(DEMO.read_bytes(), DEMO)
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert decode_yaml(DEMO.read_bytes(), DEMO) == with_libyaml
    with pytest.raises(CatalogError, match="catalog file team.yaml is not valid YAML"):
        decode_yaml(b"profiles: [", "team.yaml")


def test_a_precompiled_catalog_lists_a_persons_profiles_in_the_yamls_order(tmp_path):
    """The Slack request form and GET /v1/profiles list what a person may request in catalog order: deployed (read
    from the precompiled JSON) as locally (read from the YAML), not alphabetically there only."""
    doc = yaml.safe_load(DEMO.read_text())
    doc["profiles"] = dict(reversed(doc["profiles"].items()))  # s3-prod-short first
    source = tmp_path / "team.yaml"
    source.write_text(yaml.safe_dump(doc, sort_keys=False))
    from_yaml = [p.name for p in load_catalog(source).requestable_by("alice")]
    precompiled_path(source).write_text(precompile(source.read_bytes(), source))
    from_json = [p.name for p in load_catalog(source).requestable_by("alice")]
    assert from_json == from_yaml == ["s3-prod-short", "s3-prod"]
