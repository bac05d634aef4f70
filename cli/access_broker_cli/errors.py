"""What can go wrong, each with its documented exit code (docs/cli.md)."""
from __future__ import annotations

from typing import Any

OK = 0
REFUSED = 1  # the API refused the call (its detail is printed), or the request was denied
USAGE = 2  # bad arguments, no API URL, no AWS credentials
NOT_ACTIVE = 3  # --wait ended and the request is not active (still pending at the timeout, cancelled, failed...)
UNREACHABLE = 4  # the API could not be reached or failed (5xx): trying again may work
INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    exit_code = REFUSED

    def __init__(self, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body  # the API's JSON, printed as is under --json


class ApiError(CliError):
    """The API answered 4xx."""

    def __init__(self, status: int, detail: str, body: Any = None) -> None:
        super().__init__(detail, body)
        self.status = status


class Refused(CliError):
    """Something this CLI refuses before or after calling the API (a profile for a request that is not active)."""


class UsageError(CliError):
    exit_code = USAGE


class Unreachable(CliError):
    exit_code = UNREACHABLE


class NotActive(CliError):
    exit_code = NOT_ACTIVE
