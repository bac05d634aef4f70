"""The AWS console's switch-role URL for a profile: where a granted person's console link leads. Pure."""
from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.domain.catalog import Catalog, Profile


def switch_role_url(catalog: Catalog, profile: Profile) -> str:
    params = {"account": profile.account, "roleName": profile.role, "displayName": profile.display_name}
    if profile.color:
        params["color"] = profile.color
    return f"https://{catalog.signin_host}/switchrole?{urlencode(params)}"
