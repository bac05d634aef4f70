"""The catalog's `target_accounts`: which guard role the broker assumes in each target account, with which
ExternalId; the defaults match targets/guard-role.yaml, and a bad entry is a load error naming the key."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import GuardRole
from chalicelib.domain.errors import CatalogError

DEMO = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo.yaml"


def catalog(**changes: Any) -> Any:
    doc = yaml.safe_load(DEMO.read_text())
    doc.update(changes)
    return parse_catalog(doc)


def test_each_target_account_defaults_to_its_access_broker_guard_role() -> None:
    loaded = catalog()

    assert loaded.guard_roles() == [GuardRole("arn:aws:iam::222222222222:role/access-broker-guard",
                                              "access-broker-111111111111")]


def test_an_account_may_name_its_own_guard_role_and_external_id() -> None:
    loaded = catalog(target_accounts={"222222222222": {
        "guard_role": "arn:aws:iam::222222222222:role/security/broker-guard", "external_id": "s3cr3t-ish"}})

    assert loaded.guard_role("222222222222") == GuardRole(
        "arn:aws:iam::222222222222:role/security/broker-guard", "s3cr3t-ish")


def test_an_account_naming_only_its_guard_role_keeps_the_default_external_id() -> None:
    loaded = catalog(target_accounts={"222222222222": {
        "guard_role": "arn:aws:iam::222222222222:role/security/broker-guard"}})

    assert loaded.guard_role("222222222222") == GuardRole(
        "arn:aws:iam::222222222222:role/security/broker-guard", "access-broker-111111111111")


@pytest.mark.parametrize(("entry", "message"), [
    ({"222222222222": {"guard_role": "arn:aws:iam::333333333333:role/access-broker-guard"}},
     "target_accounts.222222222222.guard_role: 'arn:aws:iam::333333333333:role/access-broker-guard' is not a role "
     "ARN in account 222222222222"),
    ({"222222222222": {"external_id": "x"}}, "target_accounts.222222222222.external_id: must be 2 to 1224"),
    ({"222222222222": {"guard": "typo"}}, "target_accounts.222222222222: unknown key 'guard'"),
    ({"2222": {}}, "target_accounts.2222: '2222' is not a 12-digit AWS account id"),
])
def test_a_bad_entry_names_the_key_and_the_problem(entry: dict, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        catalog(target_accounts=entry)

    assert message in str(raised.value)


def test_hardened_mode_names_a_boundary_policy_of_the_source_account() -> None:
    boundary = "arn:aws:iam::111111111111:policy/access-broker-boundary"

    assert catalog(permissions_boundary=boundary).permissions_boundary == boundary
    assert catalog().permissions_boundary is None
    with pytest.raises(CatalogError) as raised:
        catalog(permissions_boundary="arn:aws:iam::999999999999:policy/elsewhere")
    assert "permissions_boundary: 'arn:aws:iam::999999999999:policy/elsewhere' is not a managed policy ARN in the " \
           "source account" in str(raised.value)
