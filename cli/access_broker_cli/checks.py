"""What the CLI checks in the API's answer before it writes it into the AWS config or opens it in a browser: an
answer is data, and a role ARN with a newline in it must not become a `[profile default]` of its own. Each check
returns the value or raises ValueError naming what is wrong."""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

_ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
_ULID = re.compile(r"[0-7][0-9a-hjkmnp-tv-z]{25}", re.ASCII | re.IGNORECASE)  # Crockford base32, 128 bits
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.ASCII)
_IAM_USER = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def role_arn(value: Any, what: str = "role_arn") -> str:
    """`arn:<partition>:iam::<12 digits>:role/<path/><name>`."""
    return _matching(_ROLE_ARN, value, what, "an IAM role ARN (arn:<partition>:iam::<12 digits>:role/<name>)")


def request_id(value: Any, what: str = "the request id") -> str:
    """A ULID: 26 characters of Crockford base32."""
    return _matching(_ULID, value, what, "a ULID (26 characters of Crockford base32)")


def rfc3339(value: Any, what: str) -> str:
    """A time like 2026-12-02T00:06:34Z (RFC 3339, with its offset)."""
    text = _text(value, what)
    try:
        if _RFC3339.fullmatch(text):
            datetime.fromisoformat(text.replace("Z", "+00:00"))
            return text
    except ValueError:
        pass
    raise ValueError(f"{what} {text!r} is not an RFC 3339 time like 2026-12-02T00:06:34Z")


def iam_user_name(value: Any, what: str = "the IAM user name") -> str:
    return _matching(_IAM_USER, value, what, "an IAM user name (1-64 of letters, digits and +=,.@_-)")


def url(value: Any, what: str) -> str:
    """An https URL, or http to this machine only (127.0.0.0/8, ::1, localhost): plain http to anywhere else would
    let whoever is on the way read the signed calls and answer in the API's place."""
    text = _text(value, what)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts and host and parts.scheme == "https":
        return text
    if parts and host and parts.scheme == "http" and _loopback(host):
        return text
    raise ValueError(f"{what} {text!r} is not an https URL (plain http only to 127.0.0.1, ::1 or localhost)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _matching(pattern: re.Pattern[str], value: Any, what: str, expected: str) -> str:
    """`value` if it is a string that `pattern` matches whole, else ValueError saying it is not `expected`."""
    text = _text(value, what)
    if not pattern.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not {expected}")
    return text


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is missing or not a string (got {type(value).__name__})")
    if _CONTROLS.search(value):
        raise ValueError(f"{what} {value!r} holds control characters")
    return value
