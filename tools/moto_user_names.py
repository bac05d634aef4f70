"""IAM user names without regard to case, inside the local world's moto server, as IAM resolves them.

IAM takes `alice`, `Alice` and `ALICE` in an API call as the same user (names are unique without case), but answers
with the name as created, and `aws:username`/`aws:userid` carry that exact name (FACTS.md). moto 5.2.5 looked users up
case-sensitively (`GetUser(UserName="Alice")` for `alice` was NoSuchEntity), which hid the catalog's mistake of a
name in the wrong case. Patched point (`install`): `moto.iam.models.IAMBackend.get_user`, the lookup behind GetUser,
AttachUserPolicy, DetachUserPolicy and the rest, finds the user without case when the exact name is not there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def _without_case(get_user: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_user)
    def get(self: Any, name: str) -> Any:
        if name not in self.users:
            found = [user for key, user in self.users.items() if key.casefold() == str(name).casefold()]
            if len(found) == 1:
                return found[0]
        return get_user(self, name)

    return get


def install() -> None:
    from moto.iam.models import IAMBackend

    IAMBackend.get_user = _without_case(IAMBackend.get_user)  # type: ignore[method-assign]
