"""Domain errors. Each carries the HTTP status an entrypoint answers with, so routes never guess."""
from __future__ import annotations

QUOTED_MAX = 200  # characters of someone's input an error message repeats back


def quote(value: object) -> str:
    """`value` as an error message repeats it: its repr, at most QUOTED_MAX characters, saying how long it really
    was when cut. Every detail that echoes input goes through here, so a megabyte of input never comes back whole."""
    shown = repr(value)
    if len(shown) <= QUOTED_MAX:
        return shown
    size = f" ({len(value)} characters)" if isinstance(value, (str, bytes, list, dict)) else ""
    return f"{shown[:QUOTED_MAX]}…{size}"


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: object) -> None:
        """`field`: the input the error is about (`profile`, `duration`, `reason`...), for a form to show it under
        that field; `extra`: members a problem+json answer carries beside the detail."""
        super().__init__(detail)
        self.detail, self.field, self.extra = detail, field, extra


class InvalidInput(DomainError):
    status = 400
    title = "Invalid input"


class Unauthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Gone(DomainError):
    status = 410
    title = "Gone"


class Unprocessable(DomainError):
    status = 422
    title = "Unprocessable request"


class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"


class CatalogError(ValueError):
    """The catalog file is malformed. The message names the key and the problem."""
