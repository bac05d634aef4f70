"""A profile's `extension` in the catalog: whether a live grant may be extended, and whether an extension is approved
without people; both have defaults, and an unknown key is a load error naming it."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import CatalogError
from tests import fakes

NOT_SET = object()


@pytest.mark.parametrize("extension,allowed,auto_approve", [
    (NOT_SET, True, False),
    (None, True, False),
    ({}, True, False),
    ({"allowed": False}, False, False),
    ({"auto_approve": True}, True, True),
    ({"allowed": True, "auto_approve": True}, True, True),
    ({"allowed": False, "auto_approve": False}, False, False),
])
def test_extensions_are_allowed_and_asked_of_people_unless_the_profile_says_otherwise(
        extension: Any, allowed: bool, auto_approve: bool) -> None:
    profile = (fakes.catalog() if extension is NOT_SET else fakes.catalog(extension=extension)).profiles["s3-prod"]
    assert (profile.extension_allowed, profile.extension_auto_approve) == (allowed, auto_approve)


@pytest.mark.parametrize("extension,message", [
    ({"allow": True}, "profiles.s3-prod.extension: unknown key 'allow'"),
    ({"allowed": "no"}, "profiles.s3-prod.extension.allowed: must be true or false"),
    ({"auto_approve": 1}, "profiles.s3-prod.extension.auto_approve: must be true or false"),
])
def test_a_malformed_extension_names_the_key(extension: Any, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        fakes.catalog(extension=extension)
    assert message in str(raised.value)
